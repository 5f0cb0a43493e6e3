"""Character n-gram counts of every note a benchmark touches, computed once and shared by all its fits.

Counting n-grams of long LLM notes is a large share of a TF-IDF fit; the benchmark trains many classifiers on
overlapping sets of the same notes, so it counts each distinct text once over the union and lets every fit select
its rows (min_df and TF-IDF weights then come from those rows alone, see `TfidfLogReg`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np


@dataclass
class NgramCounts:
    vectorizer: Any  # a fitted sklearn CountVectorizer (vocabulary sorted, as TfidfVectorizer's)
    matrix: Any  # CSR counts, one row per distinct text
    row: dict[str, int]  # text -> its row

    @classmethod
    def fit(cls, texts: Sequence[str], analyzer: str = "char", ngram_range: tuple[int, int] = (3, 6)) -> "NgramCounts":
        from sklearn.feature_extraction.text import CountVectorizer

        distinct = list(dict.fromkeys(texts))
        vectorizer = CountVectorizer(analyzer=analyzer, ngram_range=tuple(ngram_range), dtype=np.int32)
        matrix = vectorizer.fit_transform(distinct).tocsr()
        return cls(vectorizer, matrix, {text: i for i, text in enumerate(distinct)})

    def covers(self, texts: Sequence[str]) -> bool:
        return all(text in self.row for text in texts)

    def rows(self, texts: Sequence[str]):
        """The count rows of `texts`, in order (repeated texts give repeated rows)."""
        return self.matrix[np.fromiter((self.row[t] for t in texts), dtype=np.int64, count=len(texts))]

    def transform(self, texts: Sequence[str]):
        """Counts of texts outside the union, over the union's vocabulary (unknown n-grams are dropped)."""
        return self.vectorizer.transform(list(texts)).tocsr()
