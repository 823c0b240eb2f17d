"""The ``registry`` form: ``timm:NAME``, ``torchvision:NAME``, ``transformers:NAME`` (a class or a model type).

Names are checked against `nar.query._names` first, so a name no registry has is refused before torch or
the library is imported; the build itself goes through the library's `nar_data` source on the meta device.
"""

from __future__ import annotations

import difflib
from typing import Any

from nar.errors import BuildFailedError, QueryError, UnknownModelError
from nar.query._base import QueryContext, Resolved, register_form
from nar.query._names import LIBRARIES, registry_names
from nar_data.schema import Graph

__all__ = ["registry_query", "resolve_registry", "trace_registry"]


def close_names(name: str, names: frozenset[str] | set[str], n: int = 5) -> str:
    """``"; did you mean a, b?"`` for the closest spellings, or ``""``."""
    lowered = {x.lower(): x for x in names}
    close = difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=0.75)
    return f"; did you mean {', '.join(lowered[c] for c in close)}?" if close else ""


def trace_registry(library: str, name: str) -> Graph:
    """Build the registry entry on the meta device and trace it (imports torch and the library)."""
    from nar_data.errors import NarDataError
    from nar_data.tracing import trace_ref

    try:
        if library == "timm":
            from nar_data.sources.timm import timm_ref

            ref = timm_ref(name)
        elif library == "torchvision":
            from nar_data.sources.torchvision import TorchvisionSource

            ref = next(iter(TorchvisionSource().iter_refs(names=[name])))
        else:
            from nar_data.sources.transformers import TransformersSource

            ref = next(iter(TransformersSource().iter_refs(names=[name])))
        return trace_ref(ref)
    except (NarDataError, RuntimeError, TypeError, ValueError, NotImplementedError) as e:
        raise BuildFailedError(f"cannot build {library}:{name}: {type(e).__name__}: {_first_line(e)}") from e


def _first_line(e: BaseException, n: int = 300) -> str:
    text = " ".join(str(e).split())
    return text if len(text) <= n else text[:n] + "..."


def resolve_registry(library: str, name: str, ctx: QueryContext, text: str | None = None) -> Resolved:
    names = registry_names(library)
    if names is None:
        raise QueryError(f"{library} is not installed; install it to search {library}:{name}")
    canonical = names.canonical(name)
    if canonical is None:
        raise UnknownModelError(f"{library} {names.version} has no model {name!r}{close_names(name, names.names)}")
    model_id = f"{library}:{canonical}"
    if ctx.view is not None and model_id in ctx.view.arch_of:
        return Resolved("registry", model_id, model_id, arch_id=ctx.view.arch_of[model_id])
    return Resolved("registry", model_id, model_id, build=lambda: trace_registry(library, canonical),
                    what=f"{model_id} is not in the dataset: building it on the meta device (no weights) and "
                         f"tracing it ...")


@register_form("registry", "timm:resnet50, torchvision:vit_b_16, transformers:bert", order=30)
def registry_query(query: Any, ctx: QueryContext) -> Resolved | None:
    if not isinstance(query, str) or ":" not in query:
        return None
    library, name = query.split(":", 1)
    if library not in LIBRARIES:
        return None
    return resolve_registry(library, name, ctx)
