"""Near-duplicates over the whole corpus on Ray: `dedup.near_duplicates`'s answer, its work spread over the cluster.

The one-pass search (`dedup.near_duplicates`) keeps its buckets in one process. Here its three parts run apart:
1. signatures: each batch's shingle sets, MinHash signatures and band keys (`dedup.sign`) in `map_batches`
   workers, each note leaving one row per band (the band and its key: its bucket);
2. candidates: the rows hash-partitioned by bucket across the cluster (Ray Data `repartition(keys=...)`, a hash
   shuffle); each bucket of two or more notes gives its pairs (earlier, later);
3. checks: each distinct pair checked in `map_batches` workers as the search checks a candidate (`dedup.similar`:
   the MinHash estimate prunes, the exact Jaccard similarity decides).
What is left in order, on the driver, is only `dedup.keep_first`: a note repeats the earliest similar note that was
itself kept. The search meets a pair exactly when the two share a band and the earlier one was kept, and checks it
the same way, so the verdicts are the local engine's, note for note.

A bucket of k notes gives k(k-1)/2 pairs, where the one-pass search would compare a note only with the kept ones:
on generated corpora buckets are small (a template build of 4,000 notes: 376 distinct pairs).
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from medsyn.builder.quality import dedup
from medsyn.builder.quality.filters import FilterConfig
from medsyn.builder.quality.scorers import restore_filter_config

SIGN_BATCH = 512  # notes per signing batch (MinHash of a note: ~0.1 ms)
CHECK_BATCH = 256  # candidate pairs per checking batch


def ray_near_duplicates(ray: Any, ids: Sequence[str], texts: Sequence[str], config: FilterConfig,
                        sign_batch: int = SIGN_BATCH) -> dict[str, str]:
    """Id of each near-duplicate -> the id of the earliest kept note it repeats, as `dedup.near_duplicates`."""
    if len(ids) != len(texts):
        raise ValueError(f"near_duplicates: {len(ids)} ids but {len(texts)} texts")
    if len(set(ids)) != len(ids):
        raise ValueError("near_duplicates: ids must be unique")
    if not ids:
        return {}
    values = dataclasses.asdict(config)
    workers = max(1, min(int(ray.cluster_resources().get("CPU", 1)), -(-len(ids) // sign_batch)))
    buckets = ray.data.from_items([{"index": i, "text": text} for i, text in enumerate(texts)]).map_batches(
        _bucket_rows, fn_kwargs={"filter_values": values}, batch_size=sign_batch, concurrency=workers)
    # Hash-partitioned by bucket, every bucket's rows lie in one block; a block's pairs come from one vectorised
    # pass (`_block_pairs`), not a call per bucket: most buckets hold one note, and a call each cost most of the
    # search's time.
    candidates = buckets.repartition(num_blocks=2 * workers, keys=["bucket"]).map_batches(
        _block_pairs, batch_size=None, batch_format="numpy")
    pairs = sorted({(int(row["earlier"]), int(row["later"])) for row in candidates.iter_rows()})
    matches: dict[int, list[int]] = defaultdict(list)
    if pairs:
        checks = ray.data.from_items([{"earlier": j, "later": i, "a": texts[j], "b": texts[i]} for j, i in pairs])
        checks = checks.map_batches(_check, fn_kwargs={"filter_values": values}, batch_size=CHECK_BATCH,
                                    concurrency=max(1, min(workers, -(-len(pairs) // CHECK_BATCH))))
        for row in checks.iter_rows():
            if row["similar"]:
                matches[int(row["later"])].append(int(row["earlier"]))
    return dedup.keep_first(list(ids), matches)


def _bucket_rows(batch: dict, filter_values: dict) -> dict:
    """One row per note and band: the bucket (band number and key) the search would put the note in."""
    _, _, keys = dedup.sign([str(text) for text in batch["text"]], restore_filter_config(filter_values))
    bands = keys.shape[1]
    return {"bucket": [f"{band}:{keys[row, band].tobytes().hex()}" for row in range(len(keys)) for band in range(bands)],
            "index": np.repeat(np.asarray(batch["index"], dtype=np.int64), bands)}


def _block_pairs(block: dict) -> dict:
    """Every (earlier, later) pair of notes that share a bucket, over the buckets whose rows are all in `block`."""
    buckets = np.asarray(block["bucket"])
    order = np.lexsort((np.asarray(block["index"], dtype=np.int64), buckets))
    buckets, index = buckets[order], np.asarray(block["index"], dtype=np.int64)[order]
    starts = np.flatnonzero(np.r_[True, buckets[1:] != buckets[:-1]])
    ends = np.r_[starts[1:], len(buckets)]
    earlier, later = [], []
    for start, end in zip(starts[ends - starts > 1], ends[ends - starts > 1]):  # buckets of two or more notes
        members = np.unique(index[start:end])
        first, second = np.triu_indices(len(members), k=1)
        earlier.append(members[first])
        later.append(members[second])
    empty = np.zeros(0, dtype=np.int64)
    return {"earlier": np.concatenate(earlier) if earlier else empty,
            "later": np.concatenate(later) if later else empty}


def _check(batch: dict, filter_values: dict) -> dict:
    """Whether each candidate pair is a near-duplicate pair, by the search's own check."""
    config = restore_filter_config(filter_values)
    first, second = [str(text) for text in batch["a"]], [str(text) for text in batch["b"]]
    sets, signatures, _ = dedup.sign(first + second, config)
    n = len(first)
    return {"earlier": batch["earlier"], "later": batch["later"],
            "similar": [dedup.similar(sets[k], sets[n + k], signatures[k], signatures[n + k], config)
                        for k in range(n)]}
