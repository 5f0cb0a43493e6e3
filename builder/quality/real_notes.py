"""How close a synthetic note comes to the real notes its generator learnt from: the distance to the closest real
note (DCR) and the longest run of words it shares with any of them.

A generator that memorises reproduces real notes whole, nearly whole (a few words changed), or a real complaint
inside a note of its own. The first two bring a note close to one real note as a whole: the DCR, a cosine distance
of character 3-gram TF-IDF vectors (3-grams read through inflection and typos, and a sparse product against every
real note is exact and fast: 41,185 notes against 4,690 real ones in ~10 s on one core, where 3-5-grams took twice
as long and found the same planted copies). The third leaves the DCR of a long note high but shares a long word
run with the real note, found exactly by `longest_shared_runs` (rolling hashes of word n-grams grown one word at a
time over every note at once, so a note costs no Python loop).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

_WORD = re.compile(r"\w+")
_CHUNK = 2048  # notes per sparse product (a dense block of CHUNK x real notes floats)


def word_tokens(text: str) -> list[str]:
    """Lower-cased words and numbers (ё read as е): what a shared run of words is counted in."""
    return _WORD.findall(text.lower().replace("ё", "е"))


def vectorizer(n_notes: int):
    """Character 3-grams inside word boundaries, sublinear TF, IDF of the real notes. Of `n_notes` real notes
    (200 or more), 3-grams in over 5% of them are left out: they carry little IDF weight, and their long postings
    were two thirds of the sparse product (41,185 template notes against RuMedTop3 train: 6.3 s -> 2.1 s, the 1st
    percentile of the DCR 0.382 -> 0.388, the share of notes within 0.35 of a real one 0.64% -> 0.63%)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 3), lowercase=True, sublinear_tf=True,
                           dtype=np.float32, max_df=0.05 if n_notes >= 200 else 1.0)  # fmt: skip


def nearest(queries, index) -> tuple[np.ndarray, np.ndarray]:
    """For each row of the sparse L2-normalised matrix `queries`, (the index row closest by cosine, its cosine
    distance in [0, 1]); a query with no n-gram in common with any row gets -1 and 1.0."""
    if index.shape[0] == 0 or queries.shape[0] == 0:
        return np.full(queries.shape[0], -1, np.int64), np.ones(queries.shape[0], np.float32)
    transposed = index.T.tocsr()
    best = np.empty(queries.shape[0], np.int64)
    similarity = np.empty(queries.shape[0], np.float32)
    for start in range(0, queries.shape[0], _CHUNK):
        block = (queries[start : start + _CHUNK] @ transposed).toarray()
        best[start : start + len(block)] = block.argmax(axis=1)
        similarity[start : start + len(block)] = block.max(axis=1)
    best[similarity <= 0] = -1
    return best, np.clip(1.0 - similarity, 0.0, 1.0).astype(np.float32)


def nearest_k(queries, index, k: int) -> tuple[np.ndarray, np.ndarray]:
    """For each query row, its `k` closest index rows by cosine (nearest first) and their distances."""
    k = min(k, index.shape[0])
    transposed = index.T.tocsr()
    rows = np.empty((queries.shape[0], k), np.int64)
    distances = np.empty((queries.shape[0], k), np.float32)
    for start in range(0, queries.shape[0], _CHUNK):
        block = (queries[start : start + _CHUNK] @ transposed).toarray()
        top = np.argpartition(-block, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(block, top, axis=1), axis=1, kind="stable")
        top = np.take_along_axis(top, order, axis=1)
        rows[start : start + len(block)] = top
        distances[start : start + len(block)] = 1.0 - np.take_along_axis(block, top, axis=1)
    return rows, np.clip(distances, 0.0, 1.0)


@dataclass
class RealNotes:
    """Real notes (ids and texts) with what comparing a corpus to them needs, made once per corpus: the TF-IDF
    vectors of the notes and their word n-gram index."""

    ids: list[str]
    texts: list[str]
    sources: list[dict] = field(default_factory=list)  # where they came from: {"file", "sha256", "count"}
    _vectors: tuple | None = field(default=None, init=False, repr=False)
    _words: _WordRuns | None = field(default=None, init=False, repr=False)

    def __len__(self) -> int:
        return len(self.ids)

    def vectors(self):
        """(the fitted vectorizer, the real notes' matrix)."""
        if self._vectors is None:
            fitted = vectorizer(len(self.texts))
            matrix = fitted.fit_transform(self.texts)
            self._vectors = (fitted, matrix)
        return self._vectors

    def closest(self, texts: Sequence[str]) -> tuple[list[str | None], np.ndarray]:
        """Each text's closest real note (its id, None where nothing is shared) and the cosine distance to it."""
        fitted, matrix = self.vectors()
        best, distance = nearest(fitted.transform(texts), matrix)
        return [self.ids[i] if i >= 0 else None for i in best], distance

    def longest_shared(self, texts: Sequence[str]) -> np.ndarray:
        """Each text's longest run of words found in some real note."""
        if self._words is None:
            self._words = _WordRuns([word_tokens(text) for text in self.texts])
        return self._words.longest([word_tokens(text) for text in texts])


class _WordRuns:
    """Every word run of the real notes, grown one word at a time (see `longest_shared_runs`)."""

    def __init__(self, notes: list[list[str]]) -> None:
        self.vocabulary: dict[str, int] = {}
        for note in notes:
            for word in note:
                self.vocabulary.setdefault(word, len(self.vocabulary))
        self.keys = np.random.default_rng(0).integers(1, 2**63, size=len(self.vocabulary) + 1, dtype=np.uint64)
        self.real = _concatenate([[self.vocabulary[w] for w in note] for note in notes])

    def longest(self, notes: list[list[str]]) -> np.ndarray:
        ids = [[self.vocabulary.get(w, -1) for w in note] for note in notes]
        return longest_shared_runs(_concatenate(ids), self.real, self.keys, len(notes))


def _concatenate(notes: list[list[int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(all word ids in a row, each position's note, each position's note end) of a list of notes."""
    lengths = np.fromiter((len(note) for note in notes), np.int64, len(notes))
    words = np.fromiter((w for note in notes for w in note), np.int64, int(lengths.sum()))
    owner = np.repeat(np.arange(len(notes)), lengths)
    ends = np.repeat(np.cumsum(lengths), lengths)
    return words, owner, ends


def longest_shared_runs(queries: tuple, real: tuple, keys: np.ndarray, n_queries: int) -> np.ndarray:
    """For each query note, the length of its longest word run that is also a run of some real note.

    A run of L + 1 words is shared only if the run of its first L words is, so the search keeps the start
    positions (in the queries and in the real notes) whose L-word run is shared and extends them by one word,
    comparing 64-bit rolling hashes (h * B + key(word), wrapping), until no query position is left. Words the real
    notes never use (-1) end a run at once."""
    q_words, q_owner, q_ends = queries
    r_words, _, r_ends = real
    best = np.zeros(n_queries, np.int64)
    base = np.uint64(0x9E3779B97F4A7C15)
    q_pos = np.flatnonzero(q_words >= 0)
    r_pos = np.arange(len(r_words))
    q_hash = keys[q_words[q_pos]]
    r_hash = keys[r_words]
    length = 1
    with np.errstate(over="ignore"):
        while len(q_pos):
            shared = np.isin(q_hash, r_hash)
            q_pos, q_hash = q_pos[shared], q_hash[shared]
            if not len(q_pos):
                break
            np.maximum.at(best, q_owner[q_pos], length)
            keep = np.isin(r_hash, q_hash)
            r_pos, r_hash = r_pos[keep], r_hash[keep]
            # extend by one word where the note goes on (and, for queries, the next word is one real notes use)
            q_next = q_pos + length
            go_on = q_next < q_ends[q_pos]
            q_pos, q_hash, q_next = q_pos[go_on], q_hash[go_on], q_next[go_on]
            known = q_words[q_next] >= 0
            q_pos, q_hash, q_next = q_pos[known], q_hash[known], q_next[known]
            q_hash = q_hash * base + keys[q_words[q_next]]
            r_next = r_pos + length
            go_on = r_next < r_ends[r_pos]
            r_pos, r_hash, r_next = r_pos[go_on], r_hash[go_on], r_next[go_on]
            r_hash = r_hash * base + keys[r_words[r_next]]
            length += 1
    return best
