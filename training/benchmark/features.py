"""Character n-gram counts of every note a benchmark touches, computed once and shared by all its fits.

Counting n-grams of long LLM notes is a large share of a TF-IDF fit; the benchmark trains many classifiers on
overlapping sets of the same notes, so it counts each distinct text once over the union and lets every fit select
its rows (min_df and TF-IDF weights then come from those rows alone, see `TfidfLogReg`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np


@dataclass
class NgramCounts:
    vectorizer: Any  # a fitted sklearn CountVectorizer (vocabulary sorted, as TfidfVectorizer's)
    matrix: Any  # CSR counts, one row per distinct text
    row: dict[str, int]  # text -> its row

    @classmethod
    def fit(
        cls, texts: Sequence[str], analyzer: str, ngram_range: tuple[int, int],
        n_jobs: int | None = None,
    ) -> "NgramCounts":
        """Count the distinct texts; in `n_jobs` processes (default: one per CPU for more than 2,000 texts).

        Counting is pure Python per n-gram and single-threaded in sklearn; each process counts a contiguous chunk
        and the chunks' vocabularies are merged, giving exactly the single CountVectorizer's matrix.
        """
        from sklearn.feature_extraction.text import CountVectorizer

        distinct = list(dict.fromkeys(texts))
        if n_jobs is None:
            n_jobs = (os.cpu_count() or 1) if len(distinct) > 2000 else 1
        n_jobs = max(1, min(n_jobs, len(distinct)))
        if n_jobs == 1:
            vectorizer = CountVectorizer(analyzer=analyzer, ngram_range=tuple(ngram_range), dtype=np.int32)
            matrix = vectorizer.fit_transform(distinct).tocsr()
        else:
            from joblib import Parallel, delayed

            bounds = np.linspace(0, len(distinct), n_jobs + 1).astype(int)
            parts = Parallel(n_jobs=n_jobs)(
                delayed(_count)(distinct[a:b], analyzer, tuple(ngram_range)) for a, b in zip(bounds, bounds[1:])
            )
            names = np.unique(np.concatenate([part_names for part_names, _ in parts]))
            blocks = []
            for part_names, part in parts:
                part.indices = np.searchsorted(names, part_names)[part.indices].astype(part.indices.dtype)
                part._shape = (part.shape[0], len(names))
                part.has_sorted_indices = False
                part.sort_indices()
                blocks.append(part)
            from scipy.sparse import vstack

            matrix = vstack(blocks, format="csr", dtype=np.int32)
            vocabulary = {str(name): i for i, name in enumerate(names)}
            vectorizer = CountVectorizer(analyzer=analyzer, ngram_range=tuple(ngram_range), dtype=np.int32,
                                         vocabulary=vocabulary)
            vectorizer._validate_vocabulary()
        return cls(vectorizer, matrix, {text: i for i, text in enumerate(distinct)})

    def counts_as(self, analyzer: str, ngram_range: Sequence[int]) -> bool:
        """Whether these are the n-grams a classifier with `analyzer` and `ngram_range` asks for."""
        return self.vectorizer.analyzer == analyzer and tuple(self.vectorizer.ngram_range) == tuple(ngram_range)

    def covers(self, texts: Sequence[str]) -> bool:
        return all(text in self.row for text in texts)

    def rows(self, texts: Sequence[str]):
        """The count rows of `texts`, in order (repeated texts give repeated rows)."""
        return self.matrix[np.fromiter((self.row[t] for t in texts), dtype=np.int64, count=len(texts))]

    def transform(self, texts: Sequence[str]):
        """Counts of texts outside the union, over the union's vocabulary (unknown n-grams are dropped)."""
        return self.vectorizer.transform(list(texts)).tocsr()


def _count(texts: list[str], analyzer: str, ngram_range: tuple[int, int]):
    """One chunk's counts and its (sorted) n-grams, for `NgramCounts.fit` in a worker process."""
    from sklearn.feature_extraction.text import CountVectorizer

    vectorizer = CountVectorizer(analyzer=analyzer, ngram_range=ngram_range, dtype=np.int32)
    matrix = vectorizer.fit_transform(texts).tocsr()
    return vectorizer.get_feature_names_out(), matrix
