"""navec word embeddings for the symptom matcher's opt-in semantic slots: a modifier may be filled by a word close
to the label's word in embedding space.

Apart from `matching` because loading vectors is its own concern: the `natasha` wheel ships them offline, they take
1-2 s and ~50 MB to load, so they are loaded once, on first use, never at import, and shared by every matcher.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np


class Embeddings:
    """navec word vectors from the `natasha` wheel (NewsEmbedding, ~50 MB, offline), unit-normalised, cached."""

    def __init__(self) -> None:
        from natasha import NewsEmbedding

        self._emb = NewsEmbedding()
        self._cache: dict[str, np.ndarray | None] = {}

    def vector(self, word: str) -> np.ndarray | None:
        if word not in self._cache:
            raw = self._emb.get(word)
            if raw is None:
                self._cache[word] = None
            else:
                vec = np.asarray(raw, dtype=np.float32)
                norm = float(np.linalg.norm(vec))
                self._cache[word] = vec / norm if norm else None
        return self._cache[word]


@lru_cache(maxsize=1)
def default_embeddings() -> Embeddings:
    """Loaded on first use (1-2 s), not at import."""
    return Embeddings()
