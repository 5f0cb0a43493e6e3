"""Near-duplicate removal across a corpus: word shingles, MinHash signatures, banded candidates, exact check.

Apart from `filters` (the scores of one note) because it looks at the whole corpus at once. MinHash comes from
datasketch; the band look-up is a dict per band here rather than datasketch's `MinHashLSH`, whose per-band Python
calls (byte-swapping, storage objects) were most of the search: a note is a candidate of an earlier one exactly
when the two share all values of a band, as in `MinHashLSH` (tested against it).
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from functools import lru_cache

import numpy as np
from tqdm.auto import tqdm

from medsyn.builder.quality.filters import FilterConfig
from medsyn.builder.text.morphology import words


def shingles(text: str, size: int) -> np.ndarray:
    """Sorted unique 32-bit hashes of the text's word `size`-grams (the whole text when it is shorter).

    Words are hashed once with CRC-32 (stable across runs, unlike `hash`) and combined per n-gram with a
    polynomial in numpy; MinHash mixes the values again (datasketch's affine32 scheme), so CRC's linearity
    does no harm.
    """
    tokens = words(text)
    if not tokens:
        return np.empty(0, dtype=np.uint32)
    hashed = np.fromiter(map(_word_hash, tokens), dtype=np.uint64, count=len(tokens))
    n = min(size, len(hashed))
    combined = np.zeros(len(hashed) - n + 1, dtype=np.uint64)
    for offset in range(n):
        combined = (combined * np.uint64(1_000_003) + hashed[offset : len(hashed) - n + 1 + offset]) & np.uint64(
            0xFFFFFFFF
        )
    return np.unique(combined.astype(np.uint32))


@lru_cache(maxsize=1 << 18)
def _word_hash(word: str) -> int:
    return zlib.crc32(word.encode())


# A candidate whose MinHash estimate (standard error <= 0.045 at 128 permutations) is this far below the threshold
# is not checked exactly: it prunes most candidates cheaply.
ESTIMATE_MARGIN = 0.2


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Exact Jaccard similarity of two sorted unique shingle sets."""
    if not len(a) and not len(b):
        return 1.0
    inter = len(np.intersect1d(a, b, assume_unique=True))
    return inter / (len(a) + len(b) - inter)


def lsh_bands(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) of the LSH index: the longest bands that still make a pair at the threshold a candidate
    with probability >= 0.9 and a pair 0.1 above it with probability >= 0.999.

    datasketch's own choice weighs missed and false pairs equally, which misses ~13% of pairs at Jaccard 0.8
    for a 0.7 threshold. Longer bands matter as much: notes of one code written from similar prompts share many
    phrases (Jaccard ~0.3-0.4), and every such pair that becomes a candidate costs a check.
    """
    best = (num_perm, 1)
    for rows in range(1, num_perm + 1):
        bands = num_perm // rows
        hit = lambda s: 1 - (1 - s**rows) ** bands  # noqa: E731
        if bands < 2 or hit(threshold) < 0.9 or hit(min(1.0, threshold + 0.1)) < 0.999:
            break
        best = (bands, rows)
    return best


def _identity(value: int) -> int:
    return value


def near_duplicates(
    ids: list[str], texts: list[str], config: FilterConfig, progress: bool = False
) -> dict[str, str]:
    """Map each near-duplicate id to the id of the earliest kept note it duplicates; the first note is kept.

    Notes are compared with the notes kept before them (in the given order), so a chain of small edits does not
    drag a note out through a note that was itself dropped. MinHash bands (`lsh_bands`) propose candidates; each
    candidate pair is confirmed with the exact Jaccard similarity of the shingle sets, so the result does not
    depend on hash luck beyond LSH recall, and the same input always gives the same output.
    """
    if len(ids) != len(texts):
        raise ValueError(f"near_duplicates: {len(ids)} ids but {len(texts)} texts")
    if len(set(ids)) != len(ids):
        raise ValueError("near_duplicates: ids must be unique")
    sets, signatures, keys = sign(texts, config)
    # Only kept notes enter the buckets: a note is compared with the notes kept before it and nothing else.
    buckets: list[dict[bytes, list[int]]] = [{} for _ in range(keys.shape[1])]
    duplicates: dict[str, str] = {}
    # Without progress no tqdm at all: a forked worker (`parallel.build_pool`) must not take tqdm's lock.
    for index in tqdm(range(len(ids)), desc="near-duplicates") if progress else range(len(ids)):
        note_keys = keys[index].tolist()
        found = {c for bucket, key in zip(buckets, note_keys) for c in bucket.get(key, ())}
        candidates = np.sort(np.fromiter(found, dtype=np.int64, count=len(found)))
        if len(candidates):
            estimate = (signatures[candidates] == signatures[index]).mean(axis=1)
            candidates = candidates[estimate >= config.dedup_threshold - ESTIMATE_MARGIN]
        original = next(
            (int(c) for c in candidates if jaccard(sets[index], sets[c]) >= config.dedup_threshold), None
        )
        if original is None:
            for bucket, key in zip(buckets, note_keys):
                bucket.setdefault(key, []).append(index)
        else:
            duplicates[ids[index]] = ids[original]
    return duplicates


def sign(texts: Sequence[str], config: FilterConfig) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """What the search needs of each note: its shingle set, MinHash signature and LSH band keys (`band_keys`).
    Each note's are its own, so a distributed engine computes them batch by batch (`ray_dedup`)."""
    sets = [shingles(text, config.shingle_size) for text in texts]
    signatures = signature_matrix(sets, config)
    return sets, signatures, band_keys(signatures, *lsh_bands(config.dedup_threshold, config.num_perm))


def similar(a: np.ndarray, b: np.ndarray, signature_a: np.ndarray, signature_b: np.ndarray,
            config: FilterConfig) -> bool:
    """The check `near_duplicates` gives a candidate pair (shingle sets and signatures of the two notes), for an
    engine that checks the pairs apart: the MinHash estimate prunes, the exact similarity decides."""
    estimate = (signature_a == signature_b).mean()
    return bool(estimate >= config.dedup_threshold - ESTIMATE_MARGIN and jaccard(a, b) >= config.dedup_threshold)


def keep_first(ids: Sequence[str], matches: Mapping[int, Sequence[int]]) -> dict[str, str]:
    """`near_duplicates`'s answer from every similar earlier note of each note (`matches`: note index -> indices
    of the earlier notes that share a band with it and pass the exact check), found in any order: a note is a
    near-duplicate of the earliest of them that was itself kept, as the one-pass search decides. For an engine
    that checks the candidate pairs apart (`ray_dedup`), leaving only this pass in order."""
    kept = [True] * len(ids)
    duplicates: dict[str, str] = {}
    for index in range(len(ids)):
        original = min((j for j in matches.get(index, ()) if kept[j]), default=None)
        if original is not None:
            kept[index] = False
            duplicates[ids[index]] = ids[original]
    return duplicates


def signature_matrix(sets: list[np.ndarray], config: FilterConfig) -> np.ndarray:
    """datasketch MinHash signatures of the shingle sets, one row per note."""
    from datasketch import MinHash

    sketches = MinHash.generator(
        (s.tolist() for s in sets), num_perm=config.num_perm, seed=config.minhash_seed, hashfunc=_identity
    )
    signatures = np.empty((len(sets), config.num_perm), dtype=np.uint32)
    for index, sketch in enumerate(sketches):
        signatures[index] = sketch.hashvalues
    return signatures


def band_keys(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """Each note's `bands` band values as one bytes key per band (the first bands x rows permutations)."""
    banded = np.ascontiguousarray(signatures[:, : bands * rows])
    return banded.view(np.dtype((np.void, rows * signatures.itemsize))).reshape(len(signatures), bands)
