"""The ``name`` form, tried last: a bare ``resnet50``, ``BertModel`` or ``org/name``.

A bare name resolves when exactly one thing answers to it: models of the dataset with that name (all of one
graph), else one registry entry, else (``org/name``) a Hub repo. Several answers are an error that lists them.
"""

from __future__ import annotations

from typing import Any

from nar.errors import AmbiguousQueryError, UnknownModelError
from nar.query._base import QueryContext, Resolved, register_form
from nar.query._names import LIBRARIES, registry_names
from nar.query._registry import close_names, resolve_registry

PREFIXES = ("timm:", "torchvision:", "transformers:", "hf:")


def _ambiguous(query: str, candidates: list[str]) -> AmbiguousQueryError:
    shown = ", ".join(candidates[:10]) + (f" (and {len(candidates) - 10} more)" if len(candidates) > 10 else "")
    return AmbiguousQueryError(f"{query!r} names {len(candidates)} models: {shown}; pass one of them", candidates)


@register_form("name", "resnet50, BertModel, Qwen/Qwen2.5-0.5B", order=90)
def bare_name(query: Any, ctx: QueryContext) -> Resolved | None:
    if not isinstance(query, str):
        return None
    if ":" in query:
        from nar_data.sources import source_names

        others = [f"{s}:" for s in source_names() if f"{s}:" not in PREFIXES]
        raise UnknownModelError(f"unknown prefix {query.split(':', 1)[0] + ':'!r} in {query!r}; valid prefixes: "
                                f"{', '.join(PREFIXES + tuple(others))} (or a model id / arch_id of the dataset)")
    view = ctx.view
    if view is not None:
        ids = view.models_named(query)
        arches = {view.arch_of[i] for i in ids}
        if len(arches) == 1:
            return Resolved("name", ids[0], ids[0], arch_id=arches.pop())
        if len(arches) > 1:
            raise _ambiguous(query, ids)
    candidates = []
    for library in LIBRARIES:
        names = registry_names(library)
        canonical = names.canonical(query) if names is not None else None
        if canonical is not None:
            candidates.append((library, canonical))
    if len(candidates) == 1:
        return resolve_registry(*candidates[0], ctx)
    if len(candidates) > 1:
        raise _ambiguous(query, [f"{lib}:{name}" for lib, name in candidates])
    if query.count("/") == 1 and all(query.split("/")):
        from nar.query._hub import resolve_hub

        return resolve_hub(query, None, ctx)
    known: set[str] = set(view.arch_of) if view is not None else set()
    for library in LIBRARIES:
        names = registry_names(library)
        known |= set(names.names) if names is not None else set()
    raise UnknownModelError(f"{query!r} is not in the dataset and names no timm, torchvision or transformers "
                            f"model{close_names(query, known)}")
