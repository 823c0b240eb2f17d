"""Exact cosine search behind a small backend interface (numpy by default, FAISS when installed), and
`load_vectors`: a dataset's embeddings as one float32 matrix, read without a Python object per value.

An index holds L2-normalised vectors and their ids; ``search`` returns the top ``k`` by inner product
(= cosine), ties broken by insertion order. An approximate backend (HNSW, IVF) only has to implement
`SearchBackend` and register in `BACKENDS`. Resolving a query (a registry name, a Hub repo, a module) into
a graph is the product layer's job (`nar.query`); this module never imports torch.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from .backend import SearchBackend, SearchResults, _normalize

__all__ = ["BACKENDS", "FaissIndex", "NumpyIndex", "SearchBackend", "SearchResults", "load_vectors", "make_index"]


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
        if k <= 0:
            return SearchResults(np.zeros((len(q), 0), np.float32), np.zeros((len(q), 0), np.int64))
        scores = q @ self.vectors.T  # (Q, N)
        # top-k in O(N) with argpartition, then order only those k (ties: lower position first)
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k] if k < scores.shape[1] else \
            np.tile(np.arange(scores.shape[1]), (len(q), 1))
        top = np.take_along_axis(scores, part, 1)
        order = np.lexsort((part, -top), axis=1)
        idx = np.take_along_axis(part, order, 1)
        return SearchResults(np.take_along_axis(scores, idx, 1), idx.astype(np.int64))


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


def _usearch_index() -> SearchBackend:
    from .ann import USearchIndex

    return USearchIndex()


BACKENDS = {"numpy": NumpyIndex, "faiss": FaissIndex, "usearch": _usearch_index}
#: ``auto`` uses exact numpy search below this many vectors (one matrix product, exact, no import), and the
#: approximate `nar_model.ann.USearchIndex` from there on when usearch is installed (bench/search_scale.py).
AUTO_NUMPY_BELOW = 200_000


def make_index(backend: str = "auto", size: int | None = None) -> SearchBackend:
    """A new empty index; ``auto`` picks numpy for fewer than `AUTO_NUMPY_BELOW` vectors (``size``), else
    the usearch HNSW index when importable, else numpy."""
    if backend == "auto":
        small = size is None or size < AUTO_NUMPY_BELOW
        backend = "usearch" if not small and importlib.util.find_spec("usearch") else "numpy"
    if backend not in BACKENDS:
        raise ValueError(f"Unknown search backend {backend!r}; valid backends: auto, {', '.join(BACKENDS)}")
    return BACKENDS[backend]()



def _view(array: Any, buffer: int, dtype: Any, count: int) -> np.ndarray:
    """A numpy view of one Arrow buffer of ``array`` (no copy; ``Array.to_numpy`` would import pandas)."""
    return np.frombuffer(array.buffers()[buffer], dtype=dtype, count=count + array.offset)[array.offset:]


def load_vectors(data: str | os.PathLike, version: str) -> tuple[list[str], np.ndarray]:
    """``(arch_ids, (N, D) float32)`` of the ``embeddings`` rows of ``version`` (the last row per arch_id wins).

    The vectors are read from the Arrow list (or fixed-size list) buffer as one numpy view per shard, not
    as Python lists: 1 000 vectors of 512 dims take milliseconds.
    """
    import pyarrow as pa

    from nar_data.parquet import read_table

    table = read_table(data, "embeddings")
    # row selection in numpy: pyarrow.compute kernels (filter, equal) import pandas on first use (~1 s)
    rows = np.flatnonzero(np.asarray(table.column("encoder_version").to_pylist(), dtype=object) == version)
    if len(rows) == 0:
        return [], np.zeros((0, 0), dtype=np.float32)
    all_ids = table.column("arch_id").to_pylist()
    ids = [all_ids[i] for i in rows.tolist()]
    parts, base = [], 0
    for chunk in table.column("vector").chunks:
        # only this version's rows: other versions (an older encoder) may have another dimension
        local = rows[(rows >= base) & (rows < base + len(chunk))] - base
        base += len(chunk)
        if len(local) == 0:
            continue
        if chunk.null_count:
            raise ValueError(f"embeddings in {data} have empty vectors; re-run `nar embed`")
        if isinstance(chunk.type, pa.FixedSizeListType):
            dim, start = chunk.type.list_size, chunk.offset * chunk.type.list_size
            end = start + len(chunk) * dim
        else:
            offsets = _view(chunk, 1, np.int64 if pa.types.is_large_list(chunk.type) else np.int32, len(chunk) + 1)
            lengths = np.diff(offsets)
            if len(lengths) and (lengths != lengths[0]).any():
                raise ValueError(f"embeddings in {data} have mixed lengths {sorted(set(lengths.tolist()))}; "
                                 "re-run `nar embed`")
            dim, start, end = (int(lengths[0]) if len(lengths) else 0), int(offsets[0]), int(offsets[-1])
        values = chunk.values
        flat = _view(values, 1, np.float32, len(values))[start:end]
        block = flat.reshape(-1, dim) if dim else flat.reshape(len(chunk), 0)
        parts.append(block if len(local) == len(chunk) else block[local])
    if len({p.shape[1] for p in parts}) > 1:
        raise ValueError(f"embeddings of {version} in {data} have mixed dimensions; re-run `nar embed`")
    vectors = parts[0] if len(parts) == 1 else np.concatenate(parts)
    last = {aid: i for i, aid in enumerate(ids)}  # later rows overwrite earlier ones
    if len(last) == len(ids):
        return ids, vectors
    keep = np.fromiter(sorted(last.values()), dtype=np.int64)
    return [ids[i] for i in keep], vectors[keep]
