"""The ``source`` form: ``<source>:<name>`` for any other `nar_data` source (``torch_hub:``, ``testing:``).

The library registries (timm, torchvision, transformers) have their own form with a name check that needs
no import; these sources are small and are asked directly.
"""

from __future__ import annotations

from typing import Any

from nar.errors import BuildFailedError, UnknownModelError
from nar.query._base import QueryContext, Resolved, register_form
from nar.query._names import LIBRARIES
from nar_data.schema import Graph


def _find_ref(source_name: str, name: str) -> Any:
    from nar_data.sources import get_source

    source = get_source(source_name)
    for ref in source.iter_refs(names=[name]):
        if ref.name == name:
            return ref
    for ref in source.iter_refs():  # sources that take no ``names`` filter
        if ref.name == name:
            return ref
    raise UnknownModelError(f"source {source_name!r} has no model {name!r}")


def _trace(source_name: str, name: str) -> Graph:
    from nar_data.errors import NarDataError
    from nar_data.tracing import trace_ref

    ref = _find_ref(source_name, name)
    try:
        return trace_ref(ref)
    except (NarDataError, RuntimeError, TypeError, ValueError, NotImplementedError) as e:
        raise BuildFailedError(f"cannot build {source_name}:{name}: {type(e).__name__}: "
                               f"{' '.join(str(e).split())[:300]}") from e


@register_form("source", "torch_hub:<repo entrypoint>, testing:cnn (any other nar_data source)", order=35)
def source_query(query: Any, ctx: QueryContext) -> Resolved | None:
    from nar_data.sources import source_names

    if not isinstance(query, str) or ":" not in query:
        return None
    prefix, name = query.split(":", 1)
    if prefix in LIBRARIES or prefix == "hf" or prefix not in source_names():
        return None
    model_id = query
    if ctx.view is not None and model_id in ctx.view.arch_of:
        return Resolved("source", model_id, model_id, arch_id=ctx.view.arch_of[model_id])
    return Resolved("source", model_id, model_id, build=lambda: _trace(prefix, name),
                    what=f"{model_id} is not in the dataset: building it on the meta device and tracing it ...")
