"""Spreading CPU-bound work (template notes, scoring) over the machine's cores with the standard library's pool.

The work is made of pure functions of their input (a prior and a seed; a note and its code's lexicon), so any split
over processes gives the results one process would. Workers are forked on Linux, so they start with the parent's
pymorphy3 dictionaries, navec vectors and knowledge graph already loaded (and shared, copy-on-write); elsewhere they
are spawned and load them once each. Below the builder's layers, so that generation and scoring share one pool.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def worker_count(requested: int) -> int:
    """`requested` processes, or with 0 one per core this process may run on."""
    if requested > 0:
        return requested
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@contextlib.contextmanager
def process_pool(workers: int) -> Iterator[ProcessPoolExecutor]:
    """A pool of `workers` processes (started at the first task), shut down on leaving.

    The parent's objects are frozen out of the garbage collector meanwhile: a collection in a forked worker would
    otherwise write to every object of the parent it walks, and so copy the parent's memory into each worker."""
    context = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
    gc.freeze()
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
    try:
        yield pool
    except BaseException:
        pool.shutdown(cancel_futures=True)  # a failure (or Ctrl-C) does not wait for the queued work
        raise
    finally:
        pool.shutdown()
        gc.unfreeze()


def process_map(func: Callable[[T], R], items: Iterable[T], workers: int, chunksize: int) -> Iterator[R]:
    """`map(func, items)` in order, over `workers` processes when there is enough work for more than one.

    `func` must be a module-level function (it is pickled by name). A worker's failure is raised here."""
    items = list(items)
    if workers <= 1 or len(items) < 2 * chunksize:
        yield from map(func, items)
        return
    with process_pool(min(workers, -(-len(items) // chunksize))) as pool:
        yield from pool.map(func, items, chunksize=chunksize)
