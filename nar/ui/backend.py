"""What the page asks of the search layer, behind one small class: `UiBackend` over `nar.search.Searcher`.

A search answers with `nar.result.SearchResult` (twins first, typed hits), exactly as ``nar search``.
The page also needs the query's `Graph` (graph view, explanation, its place on the map); an unseen model
must not be traced twice for that, so the backend resolves the query itself (`nar.query.resolve`, with
the page's progress line), traces it once, and ranks that graph the way `Searcher.query` does (same
index, same twin rule, same hits).
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from nar.query import QueryContext, Resolved, resolve
from nar.result import SearchResult
from nar.search import QueryVector
from nar_data.schema import Graph

__all__ = ["Found", "UiBackend", "label_table"]

#: Unseen query graphs kept for the graph view and the explanation (older ones must be searched again).
KEEP_GRAPHS = 32
#: Columns of the ``graphs`` table the map shows (the search labels come from `nar.dataset.DatasetView`).
MAP_COLUMNS = ("arch_id", "model_id", "family", "coarse", "source")


@dataclasses.dataclass(frozen=True)
class Found:
    """A search as the page needs it: the `SearchResult`, whether the query was built and traced now, and
    (for a graph the dataset does not have) its embedding, to place it on the map."""

    result: SearchResult
    traced: bool = False
    vector: np.ndarray | None = None


def label_table(data: str | os.PathLike) -> dict[str, dict[str, Any]]:
    """``arch_id -> {model_id, family, coarse, source}`` (first model of each architecture), label columns only."""
    from nar_data.parquet import read_table

    table = read_table(data, "graphs", columns=list(MAP_COLUMNS)).to_pydict()
    out: dict[str, dict[str, Any]] = {}
    for i, aid in enumerate(table["arch_id"]):
        if aid not in out:
            out[aid] = {c: table[c][i] for c in MAP_COLUMNS}
    return out


class UiBackend:
    """One dataset and one checkpoint, loaded once; one query at a time (tracing is not thread-safe).

    Args:
        data: dataset folder (default ``$NAR_DATA_DIR``, else ``data/nar``).
        ckpt: encoder checkpoint (default: the one the dataset records).
    """

    def __init__(self, data: str | os.PathLike | None = None, ckpt: str | os.PathLike | None = None) -> None:
        from nar.search import Searcher

        self.searcher = Searcher(data, ckpt)
        self.data: Path = self.searcher.data
        self.version: str = self.searcher.version
        self.database = len(self.searcher)  # loads the index now, not on the first query
        self.labels = label_table(self.data)
        self._lock = threading.Lock()
        self._graphs: OrderedDict[str, Graph] = OrderedDict()  # the last unseen queries traced here, by arch_id

    def warm_up(self) -> None:
        """Load the encoder and import + exercise the tracer once, so the first unseen query is not billed for
        importing torch, timm and transformers (tens of seconds on a busy machine)."""
        with self._lock:
            self.searcher.encoder  # noqa: B018 - loads the checkpoint
            import nar_data._warm  # noqa: F401 - traces a tiny model once, on import

    def search(self, query: str, k: int = 10, progress: Callable[[str], None] | None = None) -> Found:
        """The `SearchResult` of ``query`` (every form of `nar.query`), as a `Found`.

        ``progress`` receives a line before the model is built and traced, and before it is ranked.

        Raises:
            nar.errors.QueryError: the query names nothing, is refused, or fails to build (one line).
        """
        start = time.perf_counter()
        with self._lock:
            ctx = QueryContext(self.searcher.view, progress=progress)
            resolved = resolve(query, ctx)
            if resolved.build is None:  # the dataset has it: nothing to trace
                if progress is not None:
                    progress("ranking")
                return Found(self.searcher.query(query, k=k))
            graph = resolved.graph(ctx)  # calls progress("building and tracing ...")
            if progress is not None:
                progress("embedding and ranking")
            vector = np.asarray(self.searcher.encoder.embed([graph]), dtype=np.float32)[0]
            result = self._rank(query, resolved, graph, vector, k, start)
            self._graphs[graph.arch_id] = graph
            while len(self._graphs) > KEEP_GRAPHS:
                self._graphs.popitem(last=False)
            return Found(result, True, None if result.query.in_dataset else vector)

    def _rank(self, text: str, resolved: Resolved, graph: Graph, vector: np.ndarray, k: int,
              start: float) -> SearchResult:
        """`Searcher.rank` for a graph traced here: twins first, then the ``k`` nearest other architectures."""
        in_dataset = graph.arch_id in self.searcher.view.labels
        qv = QueryVector(text, resolved, graph, graph.arch_id, vector[None], in_dataset)
        return self.searcher.rank(qv, k=k, started=start)

    def search_config(self, name: str, text: str, k: int = 10,
                      progress: Callable[[str], None] | None = None) -> Found:
        """Search with an uploaded ``config.json`` (its text), written to a temporary folder meanwhile.

        Raises:
            ValueError: the text is not JSON.
        """
        try:
            json.loads(text)
        except ValueError as e:
            raise ValueError(f"{name} is not valid JSON ({e}); upload a Hugging Face config.json") from None
        with tempfile.TemporaryDirectory(prefix="nar-ui-") as tmp:
            path = Path(tmp) / "config.json"
            path.write_text(text)
            say = None if progress is None else (lambda line: progress(line.replace(str(path), name)))
            found = self.search(str(path), k, say)
        query = found.result.query
        info = dataclasses.replace(query, text=name, title=query.title.replace(str(path), name))
        return dataclasses.replace(found, result=dataclasses.replace(found.result, query=info))

    def graph(self, arch_id: str) -> Graph:
        """The `Graph` of ``arch_id``: an unseen query traced earlier, or a graph of the dataset.

        Raises:
            KeyError: neither (search for it first).
        """
        graph = self._graphs.get(arch_id) or self.searcher.view.graph(arch_id)
        if graph is None:
            raise KeyError(f"No graph {arch_id!r} in {self.data} or among this page's queries; search for it first")
        return graph

    def embeddings(self) -> tuple[list[str], np.ndarray]:
        """``(arch_ids, vectors)`` of the dataset under this checkpoint."""
        from nar_model.search import load_vectors

        return load_vectors(self.data, self.version)
