"""The pool that scores a build's notes: forked after the navec vectors are read, so that its workers share them.

Scoring is a pure function of a note and its code's lexicon, so the split over processes changes no score.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor

from medsyn import pools
from medsyn.builder.text.navec import default_embeddings
from medsyn.pools import worker_count  # noqa: F401  (the build counts its workers through this module)


# Below this many notes a pool costs more than it saves (the quickstart's 200 notes score in a second).
MIN_PARALLEL_NOTES = 2_000


@contextlib.contextmanager
def build_pool(workers: int, n_notes: int) -> Iterator[ProcessPoolExecutor | None]:
    """The pool that scores a build's notes (and finds near-duplicates alongside), or None to do it in-process."""
    if workers > 1 and n_notes >= MIN_PARALLEL_NOTES:
        default_embeddings()  # read before the workers start, so they share one copy of the vectors
        with pools.process_pool(workers) as pool:
            yield pool
    else:
        yield None
