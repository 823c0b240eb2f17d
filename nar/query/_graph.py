"""The ``graph`` form (Python only): a `Graph` already traced (by `nar_data.tracing`, or read from a dataset)."""

from __future__ import annotations

from typing import Any

from nar.query._base import QueryContext, Resolved, register_form
from nar_data.schema import Graph


@register_form("graph", "searcher.query(nar_data.tracing.trace_module(module, args)) from Python", order=1)
def graph_query(query: Any, ctx: QueryContext) -> Resolved | None:
    if not isinstance(query, Graph):
        return None
    return Resolved("graph", query.model_id, query.model_id, build=lambda: query, what=f"embedding {query.model_id} ...")
