"""Exact cosine search behind a small backend interface (numpy by default, FAISS when installed).

An index holds L2-normalised vectors and their ids; ``search`` returns the top ``k`` by inner product
(= cosine), ties broken by insertion order. An approximate backend (HNSW, IVF) only has to implement
`SearchBackend` and register in `BACKENDS`.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

__all__ = ["BACKENDS", "FaissIndex", "NumpyIndex", "SearchBackend", "SearchResults", "make_index"]


class SearchResults(NamedTuple):
    scores: np.ndarray  # (Q, k) float32, cosine similarity, best first
    indices: np.ndarray  # (Q, k) int64 positions in the index (-1 = no result)


def _normalize(x: np.ndarray) -> np.ndarray:
    x = np.atleast_2d(np.asarray(x, dtype=np.float32))
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


class SearchBackend:
    """Interface: ``add`` vectors with ids, ``search`` queries; ``ids`` maps positions back."""

    def __init__(self) -> None:
        self.ids: list[str] = []

    def add(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        raise NotImplementedError

    def search(self, queries: np.ndarray, k: int) -> SearchResults:
        raise NotImplementedError

    def __len__(self) -> int:
        return len(self.ids)


class NumpyIndex(SearchBackend):
    """Exact search with one matrix product; fine up to ~10^6 vectors of 128 dims."""

    def __init__(self) -> None:
        super().__init__()
        self.vectors = np.zeros((0, 0), dtype=np.float32)

    def add(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        v = _normalize(vectors)
        self.vectors = v if not len(self.ids) else np.concatenate([self.vectors, v])
        self.ids += list(ids)

    def search(self, queries: np.ndarray, k: int) -> SearchResults:
        q = _normalize(queries)
        k = min(k, len(self.ids))
        scores = q @ self.vectors.T  # (Q, N)
        order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        return SearchResults(np.take_along_axis(scores, order, 1), order.astype(np.int64))


class FaissIndex(SearchBackend):
    """Exact inner-product search with ``faiss.IndexFlatIP`` (optional dependency ``faiss-cpu``)."""

    def __init__(self) -> None:
        super().__init__()
        import faiss

        self._faiss, self.index = faiss, None

    def add(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        v = _normalize(vectors)
        if self.index is None:
            self.index = self._faiss.IndexFlatIP(v.shape[1])
        self.index.add(v)
        self.ids += list(ids)

    def search(self, queries: np.ndarray, k: int) -> SearchResults:
        scores, idx = self.index.search(_normalize(queries), min(k, len(self.ids)))
        return SearchResults(scores, idx.astype(np.int64))


BACKENDS = {"numpy": NumpyIndex, "faiss": FaissIndex}


def make_index(backend: str = "auto") -> SearchBackend:
    """A new empty index; ``auto`` picks FAISS when importable, numpy otherwise."""
    if backend == "auto":
        backend = "faiss" if importlib.util.find_spec("faiss") else "numpy"
    if backend not in BACKENDS:
        raise ValueError(f"Unknown search backend {backend!r}; valid backends: auto, {', '.join(BACKENDS)}")
    return BACKENDS[backend]()
