"""What a search returns: `SearchResult` (the query, its twins and its nearest architectures), as typed
dataclasses that turn into plain JSON with ``to_dict()`` and back with ``from_dict()``.

The CLI table, ``nar search --json``, the search server and the web page all read this one shape.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

__all__ = ["Hit", "QueryInfo", "SearchResult"]


@dataclass(frozen=True)
class QueryInfo:
    """The query as resolved: its real name, how it was read, and the graph it traced to."""

    text: str  # what the user typed ("timm:resnet50", "./config.json", "<module MyNet>")
    title: str  # its real name: "timm:resnet50", "hf:org/name@rev", "transformers:BertModel (config.json)"
    form: str  # the query form that resolved it (see `nar.query.list_forms`)
    model_id: str  # model id of the graph ("timm:resnet50"), or the title for a user module
    arch_id: str  # graph hash; equal graphs, equal ids
    in_dataset: bool  # the arch_id is in the dataset: nothing was built or traced
    num_nodes: int = 0
    num_params: int = 0
    flops: int = 0
    family: str = "unknown"
    task: str = "unknown"


@dataclass(frozen=True)
class Hit:
    """One architecture of the dataset, ranked by cosine similarity to the query's embedding.

    A twin (``twin=True``) has exactly the query's graph (same ``arch_id``): it comes first, score 1.0.
    ``also`` names other models of the dataset with the same graph as this hit.
    """

    rank: int
    score: float  # cosine similarity of the embeddings, 1.0 for a twin
    model_id: str
    arch_id: str
    family: str = "unknown"
    task: str = "unknown"
    num_params: int = 0
    flops: int = 0
    twin: bool = False  # identical graph to the query
    also: tuple[str, ...] = ()  # other model ids sharing this hit's arch_id (at most a few)
    explanation: dict[str, Any] | None = None  # `nar_model.explain.Explanation.to_dict()` with --explain

    @property
    def mark(self) -> str:
        return "identical graph" if self.twin else ""


@dataclass(frozen=True)
class SearchResult:
    """The answer to one query: ``hits`` lists the twins first, then the ``k`` nearest other architectures."""

    query: QueryInfo
    hits: tuple[Hit, ...]
    database: int  # architectures searched
    encoder_version: str  # which checkpoint's embeddings were compared
    seconds: float  # resolve + (build + trace + embed) + search, in the answering process
    data: str = ""  # dataset folder
    twins_total: int = 0  # models with the query's graph (hits list at most k of them)
    via: str = "process"  # "process" or the search server's url

    @property
    def twins(self) -> tuple[Hit, ...]:
        return tuple(h for h in self.hits if h.twin)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types only (``json.dumps`` works as is)."""
        d = dataclasses.asdict(self)
        d["hits"] = [dict(h, also=list(h["also"]), mark="identical graph" if h["twin"] else "") for h in d["hits"]]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "SearchResult":
        hit_fields = {f.name for f in dataclasses.fields(Hit)}
        hits = tuple(Hit(**{k: (tuple(v) if k == "also" else v) for k, v in h.items() if k in hit_fields})
                     for h in d["hits"])
        rest = {k: v for k, v in d.items() if k not in ("query", "hits") and k in {f.name for f in dataclasses.fields(cls)}}
        return cls(query=QueryInfo(**d["query"]), hits=hits, **rest)

