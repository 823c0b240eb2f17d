"""Approximate nearest-neighbour search for large embedding tables: an HNSW graph from ``usearch``.

Chosen by measurement (``bench/search_scale.py``, docs/results-search.md): at equal recall it built faster
and used the least memory of faiss-cpu, hnswlib and usearch, and stores vectors as float16. The index is
saved next to the embeddings it was built from and memory-mapped on load (``view=True``), so a fresh process
pays no build and no copy. `make_index` in `nar_model.search` picks it from `AUTO_NUMPY_BELOW` vectors on.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .backend import SearchBackend, SearchResults, _normalize

__all__ = ["USearchIndex"]


class USearchIndex(SearchBackend):
    """Cosine search over an HNSW graph (``usearch``), vectors stored as float16.

    Args:
        connectivity: HNSW ``M``, links per node; more links, better recall, more memory.
        expansion_search: HNSW ``ef`` at query time; the recall/latency knob (400: recall@10 .97 at
            1 M vectors, p50 0.57 ms, bench/search_scale.py).
    """

    def __init__(self, connectivity: int = 32, expansion_search: int = 400, dtype: str = "f16") -> None:
        super().__init__()
        self.connectivity, self.expansion_search, self.dtype = connectivity, expansion_search, dtype
        self.index = None

    def _new(self, dim: int):  # noqa: ANN202 - usearch.index.Index
        from usearch.index import Index

        return Index(ndim=dim, metric="ip", dtype=self.dtype, connectivity=self.connectivity,
                     expansion_add=80, expansion_search=self.expansion_search)

    def add(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        v = _normalize(vectors)
        if self.index is None:
            self.index = self._new(v.shape[1])
        start = len(self.ids)
        self.index.add(np.arange(start, start + len(v), dtype=np.uint64), v, threads=os.cpu_count() or 1)
        self.ids += list(ids)

    def search(self, queries: np.ndarray, k: int) -> SearchResults:
        q = _normalize(queries)
        k = min(k, len(self.ids))
        if self.index is None or k == 0:
            return SearchResults(np.zeros((len(q), 0), np.float32), np.zeros((len(q), 0), np.int64))
        found = self.index.search(q, k, threads=1)  # one query gives `Matches`, several `BatchMatches`
        keys = np.full((len(q), k), -1, dtype=np.int64)
        dist = np.full((len(q), k), np.inf, dtype=np.float32)
        got_keys = np.atleast_2d(np.asarray(found.keys, dtype=np.int64))
        got_dist = np.atleast_2d(np.asarray(found.distances, dtype=np.float32))
        counts = np.atleast_1d(np.asarray(getattr(found, "counts", len(found.keys))))
        for row, c in enumerate(counts):  # fewer than k found: pad as the exact backends do
            keys[row, :c], dist[row, :c] = got_keys[row, :c], got_dist[row, :c]
        return SearchResults((1.0 - dist).astype(np.float32), keys)

    def save(self, path: str | os.PathLike) -> None:
        """Write the graph and vectors to ``path`` and the ids beside it (``path`` + ``.ids``)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        self.index.save(str(tmp))
        tmp.replace(path)
        ids_tmp = path.with_name(path.name + ".ids.tmp")
        ids_tmp.write_text("\n".join(self.ids))
        ids_tmp.replace(path.with_name(path.name + ".ids"))

    @classmethod
    def load(cls, path: str | os.PathLike, expansion_search: int = 400) -> "USearchIndex":
        """Memory-map an index written by `save` (no copy, no rebuild)."""
        from usearch.index import Index

        path = Path(path)
        self = cls(expansion_search=expansion_search)
        self.index = Index.restore(str(path), view=True)
        self.index.expansion_search = expansion_search
        self.ids = path.with_name(path.name + ".ids").read_text().split("\n")
        return self
