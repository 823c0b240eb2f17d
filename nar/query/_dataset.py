"""The ``dataset`` form: a model id or arch_id the dataset already has (nothing is built or traced)."""

from __future__ import annotations

from typing import Any

from nar.query._base import QueryContext, Resolved, register_form


@register_form("dataset", "torchvision:resnet50, hf:org/name, or an arch_id of the dataset", order=10)
def dataset_query(query: Any, ctx: QueryContext) -> Resolved | None:
    if not isinstance(query, str) or ctx.view is None:
        return None
    view = ctx.view
    if query in view.arch_of:
        return Resolved("dataset", query, query, arch_id=view.arch_of[query])
    if query in view.labels:  # an arch_id: titled by its first model
        model_id = view.labels[query].model_id
        return Resolved("dataset", model_id, model_id, arch_id=query)
    return None
