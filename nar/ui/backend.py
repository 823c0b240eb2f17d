"""What the page asks of the search layer, behind one small class: `UiBackend`.

The page needs a search with typed, JSON-ready results (rank, score, model, family, task, parameters,
FLOPs, twin mark), the graph of a query and of a match, the embedding of the dataset and an explanation
of a match. `UiBackend` wraps `nar.search.Searcher` (every query form of `nar.query`, twins first) and
reports the stage a query is in so the page can show progress while an unseen model is built and traced.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["UiBackend", "default_checkpoint", "label_table"]

#: Columns of the ``graphs`` table the results table and the map show.
LABEL_COLUMNS = ("arch_id", "model_id", "family", "coarse", "task", "source", "num_params", "flops")


def default_checkpoint(data: str | os.PathLike) -> Path:
    """The checkpoint the dataset's build recorded, else ``DATA/_checkpoints/nar.pt``."""
    try:
        from nar_model.checkpoint import dataset_checkpoint  # recorded by the train step, where present
    except ImportError:
        return Path(data) / "_checkpoints" / "nar.pt"
    return Path(dataset_checkpoint(data))


def label_table(data: str | os.PathLike) -> dict[str, dict[str, Any]]:
    """``arch_id -> labels`` (first model of each architecture), from the label columns only (fast)."""
    from nar_data.parquet import read_table

    table = read_table(data, "graphs", columns=list(LABEL_COLUMNS)).to_pydict()
    out: dict[str, dict[str, Any]] = {}
    for i, aid in enumerate(table["arch_id"]):
        if aid not in out:
            out[aid] = {c: table[c][i] for c in LABEL_COLUMNS}
    return out


class UiBackend:
    """One dataset and one checkpoint, loaded once; thread-safe queries (one trace at a time).

    Args:
        data: dataset folder (``graphs`` and, ideally, ``embeddings`` of the checkpoint).
        ckpt: encoder checkpoint; default `default_checkpoint`.
    """

    def __init__(self, data: str | os.PathLike, ckpt: str | os.PathLike | None = None) -> None:
        from nar.search import Searcher

        self.data = Path(data)
        self.ckpt = Path(ckpt) if ckpt is not None else default_checkpoint(data)
        self.searcher = Searcher(self.data, ckpt)
        self.searcher.index  # noqa: B018 - load the embeddings now, not during the page's first search
        self.version: str = self.searcher.version
        self.labels = label_table(self.data)
        self._lock = threading.Lock()
        self._graphs: dict[str, Any] = {}  # resolved queries and opened matches, by arch_id

    # -- search --------------------------------------------------------------------------------------
    def search(self, query: str, k: int = 10, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
        """Resolve ``query`` (every form of `nar.query`), embed it and rank the dataset (twins first).

        Returns ``{"query", "title", "arch_id", "nodes", "params", "flops", "seconds", "unseen", "hits"}``;
        each hit is ``{"rank", "score", "arch_id", "model", "family", "coarse", "task", "params", "flops",
        "twin"}``. ``progress`` receives a short stage line before each step.

        Raises:
            ValueError: the query cannot be resolved (the message lists the accepted forms).
        """
        say = progress or (lambda _msg: None)
        start = time.perf_counter()
        with self._lock:
            qv = self.searcher.embed_query(query, progress=say)
            graph = qv.graph if qv.graph is not None else self.searcher.view.graph(qv.arch_id)
            self._graphs[qv.arch_id] = graph
        say("ranking")
        result = self.searcher.rank(qv, k=k)
        hits = []
        for h in result.hits:
            lab = self.labels.get(h.arch_id, {})
            hits.append({"rank": h.rank, "score": h.score, "arch_id": h.arch_id, "model": h.model_id,
                         "family": h.family, "coarse": lab.get("coarse", "?"), "task": h.task,
                         "params": h.num_params, "flops": h.flops, "twin": h.twin})
        if qv.in_dataset and not any(h["twin"] for h in hits):  # the page shows the query's own row first
            lab = self.labels.get(qv.arch_id, {})
            hits.insert(0, {"rank": 1, "score": 1.0, "arch_id": qv.arch_id, "model": lab.get("model_id", "?"),
                            "family": lab.get("family", "?"), "coarse": lab.get("coarse", "?"),
                            "task": lab.get("task", "?"), "params": int(lab.get("num_params") or 0),
                            "flops": int(lab.get("flops") or 0), "twin": True})
            hits = hits[:k]
            for r, h in enumerate(hits, 1):
                h["rank"] = r
        return {"query": query, "title": result.query.title, "arch_id": qv.arch_id, "nodes": graph.num_nodes,
                "params": int(graph.num_params), "flops": int(graph.flops), "family": graph.family,
                "unseen": not qv.in_dataset, "database": result.database,
                "vector": qv.vector[0].astype(float).tolist(),
                "seconds": round(time.perf_counter() - start, 3), "hits": hits}

    def search_config(self, name: str, text: str, k: int = 10,
                      progress: Callable[[str], None] | None = None) -> dict[str, Any]:
        """Search with an uploaded ``config.json`` (its text); the file lives in a temporary folder."""
        try:
            json.loads(text)
        except ValueError as e:
            raise ValueError(f"{name} is not valid JSON ({e}); upload a Hugging Face config.json") from None
        with tempfile.TemporaryDirectory(prefix="nar-ui-") as tmp:
            path = Path(tmp) / (Path(name).stem + ".json")
            path.write_text(text)
            result = self.search(str(path), k, progress)
        result["query"] = name
        return result

    # -- graphs ----------------------------------------------------------------------------------------
    def graph(self, arch_id: str) -> Any:
        """The `Graph` of ``arch_id``: a query resolved earlier or a graph of the dataset.

        Raises:
            KeyError: neither (search for it first).
        """
        if arch_id in self._graphs:
            return self._graphs[arch_id]
        graph = self.searcher.view.graph(arch_id)
        if graph is None:
            raise KeyError(f"No graph {arch_id!r} in {self.data} or among this page's queries; search for it first")
        self._graphs[arch_id] = graph
        return graph

    def motif_vocab(self) -> Any:
        """The checkpoint's motif vocabulary (the segmentation the encoder reads), or None (flat encoders)."""
        return getattr(self.searcher.encoder, "vocab", None)

    def embeddings(self) -> tuple[list[str], np.ndarray]:
        """``(arch_ids, vectors)`` of the dataset under this checkpoint (the search index)."""
        index = self.searcher.index
        vectors = getattr(index, "vectors", None)
        if vectors is None or len(vectors) != len(index.ids):
            from nar_model.embed import read_embeddings

            return read_embeddings(self.data, self.version)
        return list(index.ids), np.asarray(vectors)
