"""Query forms: everything ``nar search`` accepts, one handler per form, in one table.

A handler is registered with ``@register_form(name, example, order)`` and called as
``handler(query, ctx) -> Resolved | None``: None means "not my form", a `nar.errors.QueryError` means
"my form, but it names nothing / is refused" (the message is the one line the user sees). Handlers run
in ``order``; the first that answers wins, so the cheap, exact forms go first. A handler decides
*without* importing torch or a model library: it may return an ``arch_id`` already in the dataset, or
a ``build`` callable that does the heavy part (build on the meta device + trace) when called.

=================  ===========================================  ==========================================
form               example                                      resolved to
=================  ===========================================  ==========================================
module             ``search(my_module, torch.randn(1, 3, 32))``  traced from the module and its inputs
graph              ``searcher.query(graph)`` (a traced `Graph`)   embedded as is
dataset            ``torchvision:resnet50``, an arch_id           the dataset's row (nothing is traced)
path               ``./config.json``, ``./my-repo/``              transformers / timm / sentence-transformers
registry           ``timm:resnet50``, ``transformers:bert``       the library's registry entry
hf                 ``hf:Qwen/Qwen2.5-0.5B@main``                  the Hub repo's config (no weights)
name               ``resnet50``, ``BertModel``, ``org/name``      the one form above it unambiguously means
=================  ===========================================  ==========================================
"""

from __future__ import annotations

from typing import Any

from nar.errors import UnknownModelError
from nar.query._base import _FORMS, QueryContext, QueryForm, Resolved, register_form

__all__ = ["QueryContext", "QueryForm", "Resolved", "list_forms", "register_form", "resolve"]


def _load() -> None:
    # the handlers register on import; they import nothing heavy at module level
    from nar.query import _dataset, _graph, _hub, _module, _name, _registry, _source  # noqa: F401


def list_forms() -> list[QueryForm]:
    """Every query form, in the order they are tried."""
    _load()
    return sorted(_FORMS.values(), key=lambda f: f.order)


def resolve(query: Any, ctx: QueryContext | None = None) -> Resolved:
    """The first query form that takes ``query``.

    Raises:
        nar.errors.QueryError: no form takes it, or the form that does refuses it (one-line reason).
    """
    ctx = ctx or QueryContext()
    for form in list_forms():
        resolved = form.handler(query, ctx)
        if resolved is not None:
            return resolved
    examples = "; ".join(f"{f.name}: {f.example}" for f in list_forms())
    raise UnknownModelError(f"cannot read {query!r} as a query; accepted forms: {examples}")
