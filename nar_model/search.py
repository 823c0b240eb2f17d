"""Exact cosine search behind a small backend interface (numpy by default, FAISS when installed), and
`Searcher`: a dataset's embeddings + an encoder, answering queries that may be unseen models.

An index holds L2-normalised vectors and their ids; ``search`` returns the top ``k`` by inner product
(= cosine), ties broken by insertion order. An approximate backend (HNSW, IVF) only has to implement
`SearchBackend` and register in `BACKENDS`. `resolve_query` turns a query (an ``arch_id``/``model_id``,
``source:name`` or a local ``config.json``) into a `Graph`, building and tracing unseen models on meta.
"""

from __future__ import annotations

import importlib.util
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

__all__ = ["BACKENDS", "FaissIndex", "NumpyIndex", "SearchBackend", "SearchResults", "Searcher", "make_index",
           "resolve_query"]


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


def resolve_query(query: str, data: str | os.PathLike | None = None) -> Any:
    """The `Graph` of ``query``: a local config.json, an ``arch_id``/``model_id`` of ``data``, or ``source:name``
    (built on the meta device and traced on the fly).

    Raises:
        ValueError: nothing matches (the message lists the accepted forms).
    """
    path = Path(query)
    if query.endswith(".json") and path.is_file():
        from nar_data.sources.transformers import build_from_config
        from nar_data.tracing import trace_module

        built = build_from_config(json.loads(path.read_text()))
        return trace_module(built.module, built.args, built.kwargs, model_id=f"local:{path.name}", source="local")
    if data is not None:
        graph = _dataset_graph(data, query)
        if graph is not None:
            return graph
    if ":" in query:
        from nar_data.sources import get_source
        from nar_data.tracing import trace_ref

        source_name, name = query.split(":", 1)
        source = get_source(source_name)
        ref = next(iter(source.iter_refs(names=[name])), None)
        if ref is None and source_name == "transformers":  # a model type ("bert") rather than a class
            ref = next(iter(source.iter_refs(model_types=[name], base_only=True)), None)
        if ref is None:
            raise ValueError(f"{source_name} has no model {name!r}")
        return trace_ref(ref)
    raise ValueError(f"Cannot resolve {query!r}: not an arch_id/model_id of {data}, not 'source:name' "
                     "(e.g. timm:resnet50) and not a config.json file")


def _dataset_graph(data: str | os.PathLike, query: str) -> Any:
    """The first graph of ``data`` whose ``arch_id`` or ``model_id`` is ``query``, or None.

    Reads the two id columns of each shard and decodes only the matching row: a query that is not in the
    dataset (an unseen model, the usual case for the search service) no longer decodes every graph
    (about 2 s on 1 700 graphs)."""
    from nar_data.parquet import read_shard, shard_paths
    from nar_data.schema import Graph

    for path in shard_paths(data, "graphs"):
        ids = read_shard(path, "graphs", ["arch_id", "model_id"]).to_pydict()
        for i, (arch_id, model_id) in enumerate(zip(ids["arch_id"], ids["model_id"])):
            if query in (arch_id, model_id):
                return Graph.from_row(read_shard(path, "graphs").slice(i, 1).to_pylist()[0])
    return None


class Searcher:
    """The embeddings of one dataset under one checkpoint, ready for queries (load once, query many times).

    ``query`` returns plain dicts (rank, cosine, model, family, arch_id), the same for the CLI, the build
    flow's example searches and the search service.
    """

    def __init__(self, data: str | os.PathLike, ckpt: str | os.PathLike, backend: str = "auto",
                 embed_missing: bool = True) -> None:
        from nar_data.parquet import read_table

        from .checkpoint import load_checkpoint
        from .embed import embedding_rows, read_embeddings

        self.data, self.ckpt = Path(data), Path(ckpt)
        self.encoder, meta = load_checkpoint(ckpt)
        self.version = meta["encoder_version"]
        table = read_table(data, "graphs", columns=["arch_id", "model_id", "family"])  # labels only: fast
        self.labels: dict[str, tuple[str, str]] = {}
        for aid, mid, fam in zip(*(table.column(c).to_pylist() for c in ("arch_id", "model_id", "family"))):
            self.labels.setdefault(aid, (mid, fam))
        ids, vectors = read_embeddings(data, self.version)
        self.embedded_now = not ids and embed_missing
        if self.embedded_now:  # no `nar embed` run for this checkpoint yet: embed the database in memory
            from .data import load_graphs

            rows = embedding_rows(self.encoder, self.version, load_graphs(data).graphs)
            ids, vectors = [r["arch_id"] for r in rows], [r["vector"] for r in rows]
        self.index = make_index(backend)
        if ids:
            self.index.add(ids, np.asarray(vectors, dtype=np.float32))

    def query(self, query: str, k: int = 10) -> dict[str, Any]:
        """``{"query", "model", "nodes", "arch_id", "seconds", "hits": [...]}`` for ``query`` (see `resolve_query`)."""
        start = time.perf_counter()
        graph = resolve_query(query, self.data)
        res = self.index.search(self.encoder.embed([graph]), k + 1)
        hits = []
        for score, i in zip(res.scores[0].tolist(), res.indices[0].tolist()):
            if i < 0 or self.index.ids[i] == graph.arch_id or len(hits) >= k:
                continue
            mid, fam = self.labels.get(self.index.ids[i], ("?", "?"))
            hits.append({"rank": len(hits) + 1, "cosine": round(float(score), 4), "model": mid, "family": fam,
                         "arch_id": self.index.ids[i]})
        return {"query": query, "model": graph.model_id, "nodes": graph.num_nodes, "arch_id": graph.arch_id,
                "database": len(self.index), "seconds": round(time.perf_counter() - start, 3), "hits": hits}
