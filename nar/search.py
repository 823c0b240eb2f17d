"""`search(query_or_module, inputs, k=...)`: the architectures of a dataset most like any network.

`Searcher` holds one dataset's ids, labels and embedding matrix (read with pyarrow/numpy: a query the
dataset already has never imports torch) and answers queries of every form of `nar.query`. An unseen
model is built on the meta device and traced (torch, the library), then embedded with the checkpoint
the dataset's embeddings were made with. Results list the query's twins (other models with exactly its
graph) first, then the ``k`` nearest other architectures.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from nar.dataset import DatasetView
from nar.errors import QueryError
from nar.query import QueryContext, resolve
from nar.result import Hit, QueryInfo, SearchResult
from nar_data.schema import Graph

__all__ = ["Searcher", "dataset_encoder_version", "make_server", "request_answer", "search"]

#: Models named in a hit's ``also`` (the rest are counted, not listed).
ALSO_SHOWN = 3


def dataset_encoder_version(data: str | os.PathLike, ckpt: str | os.PathLike | None = None) -> str:
    """The encoder version whose embeddings a search compares, cheaply when possible.

    Without ``ckpt``: the version the dataset records for its checkpoint (``_checkpoints/latest.json``),
    else the only version in its ``embeddings`` table. With ``ckpt`` (or when neither says): read from
    the checkpoint file (imports torch).

    Raises:
        FileNotFoundError: no checkpoint to read (the message says which command writes one).
    """
    data = Path(data)
    if ckpt is None:
        record = data / "_checkpoints" / "latest.json"
        try:
            version = json.loads(record.read_text()).get("encoder_version")
        except (OSError, ValueError):
            version = None
        if version:
            return str(version)
        from nar_data.parquet import read_table

        versions = set(read_table(data, "embeddings", ["encoder_version"]).column("encoder_version").to_pylist())
        if len(versions) == 1:
            return versions.pop()
    return str(_load_encoder(data, ckpt)[1]["encoder_version"])


def _checkpoint_path(data: Path, ckpt: str | os.PathLike | None) -> Path:
    if ckpt is not None:
        return Path(ckpt)
    from nar_model import checkpoint

    finder = getattr(checkpoint, "dataset_checkpoint", None)  # the dataset's recorded checkpoint
    return finder(data) if finder is not None else data / "_checkpoints" / "nar.pt"


def _load_encoder(data: Path, ckpt: str | os.PathLike | None) -> tuple[Any, dict[str, Any]]:
    from nar_model.checkpoint import load_checkpoint

    return load_checkpoint(_checkpoint_path(data, ckpt))


class Searcher:
    """One dataset's embeddings, ready for many queries (load once; ``query`` answers each).

    Args:
        data: dataset folder (default ``$NAR_DATA_DIR``, else ``data/nar``).
        ckpt: encoder checkpoint (default: the one the dataset records).
        backend: search index (`nar_model.search.make_index`): auto | numpy | faiss.
        embed_missing: embed the dataset in memory when it has no embeddings of the checkpoint (torch).
    """

    def __init__(self, data: str | os.PathLike | None = None, ckpt: str | os.PathLike | None = None,
                 backend: str = "auto", embed_missing: bool = True) -> None:
        self.view = DatasetView(data)
        self.data = self.view.data
        self.ckpt, self.backend, self.embed_missing = ckpt, backend, embed_missing
        self._encoder: Any = None
        self.embedded_now = False

    @cached_property
    def version(self) -> str:
        """The encoder version of the embeddings compared (cheap unless a ``ckpt`` was given)."""
        return dataset_encoder_version(self.data, self.ckpt)

    @cached_property
    def index(self) -> Any:
        """The `nar_model.search.SearchBackend` over the dataset's embeddings (loaded on first use)."""
        from nar_model.search import load_vectors, make_index

        ids, vectors = load_vectors(self.data, self.version)
        if not ids and self.embed_missing:  # no `nar embed` run for this checkpoint: embed in memory
            from nar_model.data import load_graphs

            graphs = load_graphs(self.data).graphs
            ids, vectors = [g.arch_id for g in graphs], np.asarray(self.encoder.embed(graphs), dtype=np.float32)
            self.embedded_now = True
        index = make_index(self.backend, len(ids))
        if ids:
            index.add(ids, vectors)
        self._vectors = vectors
        self._row = {aid: i for i, aid in enumerate(ids)}
        return index

    @property
    def encoder(self) -> Any:
        """The checkpoint's encoder, loaded on first use (only unseen graphs need it)."""
        if self._encoder is None:
            self._encoder, meta = _load_encoder(self.data, self.ckpt)
            if meta["encoder_version"] != self.version:
                raise QueryError(f"checkpoint {_checkpoint_path(self.data, self.ckpt)} is "
                                 f"{meta['encoder_version']}, the embeddings are {self.version}; "
                                 "run `nar embed` with it, or pass the matching --ckpt")
        return self._encoder

    def __len__(self) -> int:
        return len(self.index)

    def query(self, query: Any, inputs: Any = None, *, k: int = 10, explain: bool = False,
              trust_remote_code: bool = False, endpoint: str | None = None,
              progress: Callable[[str], None] | None = None) -> SearchResult:
        """Resolve ``query`` (any form of `nar.query`), embed it if unseen, and rank the dataset.

        Raises:
            nar.errors.QueryError: the query names nothing, is ambiguous, is refused, or fails to build.
        """
        start = time.perf_counter()
        ctx = QueryContext(self.view, inputs, trust_remote_code, endpoint, progress)
        resolved = resolve(query, ctx)  # a query that names nothing fails here, before any heavy import
        graph: Graph | None = None
        if resolved.build is not None:
            graph = resolved.graph(ctx)
            arch = graph.arch_id
        else:
            arch = resolved.arch_id
        index = self.index
        in_dataset = arch in self._row
        if in_dataset:
            qvec = np.asarray(self._vectors[self._row[arch]], dtype=np.float32)[None]
        else:
            assert graph is not None
            qvec = np.asarray(self.encoder.embed([graph]), dtype=np.float32)
        res = index.search(qvec, k + 1)
        neighbours = [(i, s) for i, s in zip(res.indices[0].tolist(), res.scores[0].tolist())
                      if i >= 0 and self.index.ids[i] != arch][:k]
        twin_ids = [m for m in self.view.models_of.get(arch, []) if m != resolved.model_id]
        hits = [self._hit(r + 1, 1.0, arch, twin=True, model_id=m) for r, m in enumerate(twin_ids[:k])]
        for i, score in neighbours:
            hits.append(self._hit(len(hits) + 1, round(float(score), 4), self.index.ids[i]))
        if explain:
            hits = self._explain(hits, graph, arch)
        labels = self.view.labels.get(arch)
        info = QueryInfo(
            text=query if isinstance(query, str) else f"<{type(query).__name__}>", title=resolved.title,
            form=resolved.form, model_id=resolved.model_id, arch_id=arch, in_dataset=in_dataset,
            num_nodes=graph.num_nodes if graph is not None else (labels.num_nodes if labels else 0),
            num_params=int(graph.num_params) if graph is not None else (labels.num_params if labels else 0),
            flops=int(graph.flops) if graph is not None else (labels.flops if labels else 0),
            family=graph.family if graph is not None else (labels.family if labels else "unknown"),
            task=graph.task if graph is not None else (labels.task if labels else "unknown"))
        return SearchResult(info, tuple(hits), len(self.index), self.version,
                            round(time.perf_counter() - start, 3), str(self.data), len(twin_ids))

    def _hit(self, rank: int, score: float, arch: str, twin: bool = False, model_id: str | None = None) -> Hit:
        labels = self.view.labels.get(arch)
        models = self.view.models_of.get(arch, [])
        shown = model_id or (labels.model_id if labels else (models[0] if models else arch))
        also = tuple(m for m in models if m != shown)[:ALSO_SHOWN] if not twin else ()
        if labels is None:
            return Hit(rank, score, shown, arch, twin=twin, also=also)
        return Hit(rank, score, shown, arch, labels.family, labels.task, labels.num_params, labels.flops, twin, also)

    def _explain(self, hits: list[Hit], graph: Graph | None, arch: str) -> list[Hit]:
        from nar_model.explain import explain

        wanted = {h.arch_id for h in hits if not h.twin} | ({arch} if graph is None else set())
        graphs = self.view.graphs(wanted)
        query_graph = graph if graph is not None else graphs.get(arch)
        out = []
        for h in hits:
            target = graphs.get(h.arch_id)
            if h.twin or query_graph is None or target is None:
                out.append(h)
            else:
                out.append(Hit(**{**h.__dict__, "explanation": explain(query_graph, target).to_dict()}))
        return out


def search(query_or_module: Any, inputs: Any = None, *, k: int = 10, data: str | os.PathLike | None = None,
           ckpt: str | os.PathLike | None = None, explain: bool = False, trust_remote_code: bool = False,
           progress: Callable[[str], None] | None = None) -> SearchResult:
    """The ``k`` architectures of the dataset most like ``query_or_module`` (twins listed first).

    Args:
        query_or_module: a query string of any form of `nar.query` (``"timm:resnet50"``, ``"hf:org/name"``,
            ``"./config.json"``, ``"resnet50"``, an arch_id), or any ``torch.nn.Module``.
        inputs: for a module: example inputs (a tensor, a tuple, a dict) or input shapes (``(1, 3, 224, 224)``).
        k: neighbours to return besides the twins.
        data: dataset folder (default ``$NAR_DATA_DIR``, else ``data/nar``).
        ckpt: encoder checkpoint (default: the one the dataset records).
        explain: attach `nar_model.explain` explanations (shared blocks, op differences) to each hit.
        trust_remote_code: allow Hub repos with their own modeling code (built in an isolated worker).
        progress: called with one line before a model is built and traced.

    Returns:
        A `SearchResult`; ``result.to_dict()`` is plain JSON.

    Raises:
        nar.errors.QueryError: the query names nothing, is ambiguous, is refused, or fails to build.
        FileNotFoundError: no dataset at ``data``.
    """
    return Searcher(data, ckpt).query(query_or_module, inputs, k=k, explain=explain,
                                      trust_remote_code=trust_remote_code, progress=progress)



def request_answer(searcher: Searcher) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The search server's ``answer``: a request body (``query``, ``k``, ``explain``, ``trust_remote_code``)
    to `SearchResult.to_dict` (a `QueryError` goes back as the same one-line reason the CLI prints)."""
    def answer(body: dict[str, Any]) -> dict[str, Any]:
        result = searcher.query(str(body["query"]), k=int(body.get("k", 10)), explain=bool(body.get("explain")),
                                trust_remote_code=bool(body.get("trust_remote_code")))
        return result.to_dict()

    return answer


def make_server(data: str | os.PathLike | None = None, ckpt: str | os.PathLike | None = None,
                host: str = "127.0.0.1", port: int = 0, backend: str = "auto",
                warm: bool = True) -> Any:
    """A `nar_model.service.SearchServer` over a `Searcher`. With ``warm``, the encoder is loaded and a tiny
    model traced first, so the first unseen query does not pay for importing torch and the tracer."""
    from nar_model.service import SearchServer

    searcher = Searcher(data, ckpt, backend)
    if warm:
        import nar_data._warm  # noqa: F401 - traces a tiny model once, on import

        searcher.encoder  # noqa: B018 - loads the checkpoint now
    path = _checkpoint_path(searcher.data, ckpt)
    server = SearchServer(request_answer(searcher), searcher.data,
                          {"encoder_version": searcher.version, "database": len(searcher)},
                          ckpt=path if path.is_file() else None, host=host, port=port)
    server.searcher = searcher
    return server
