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

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nar.dataset import DatasetView
from nar.errors import UnknownModelError
from nar_data.schema import Graph

__all__ = ["QueryContext", "QueryForm", "Resolved", "list_forms", "register_form", "resolve"]


@dataclass
class QueryContext:
    """What a handler may consult: the dataset, the user's options, where to report progress."""

    view: DatasetView | None = None  # the dataset searched (None: resolve without one)
    inputs: Any = None  # example inputs or input shapes (module queries only)
    trust_remote_code: bool = False  # allow Hub repos that ship their own modeling code (isolated worker)
    endpoint: str | None = None  # Hub endpoint (default: HF_ENDPOINT, else huggingface.co)
    progress: Callable[[str], None] | None = None  # one line before anything slow starts


@dataclass
class Resolved:
    """A query resolved to a model: either an ``arch_id`` of the dataset, or a ``build`` to run."""

    form: str
    title: str  # the real name shown to the user
    model_id: str
    arch_id: str = ""  # known without tracing (the dataset has it)
    build: Callable[[], Graph] | None = None  # build on meta + trace; heavy (imports torch)
    what: str = ""  # what ``build`` does, for the progress line
    extra: dict[str, Any] = field(default_factory=dict)

    def graph(self, ctx: QueryContext) -> Graph:
        """The query's `Graph`: the dataset's row, or built and traced now (one progress line first)."""
        if self.build is None:
            graph = ctx.view.graph(self.arch_id) if ctx.view is not None else None
            if graph is None:
                raise UnknownModelError(f"{self.title}: arch_id {self.arch_id} has no graph row in the dataset")
            return graph
        if ctx.progress is not None:
            ctx.progress(self.what or f"building and tracing {self.title} ...")
        return self.build()


@dataclass(frozen=True)
class QueryForm:
    name: str
    example: str
    order: int
    handler: Callable[[Any, QueryContext], Resolved | None]


_FORMS: dict[str, QueryForm] = {}


def register_form(name: str, example: str, order: int) -> Callable[[Callable[..., Resolved | None]],
                                                                   Callable[..., Resolved | None]]:
    """Register ``handler(query, ctx) -> Resolved | None`` as query form ``name`` (lower ``order`` runs first)."""
    def decorator(handler: Callable[..., Resolved | None]) -> Callable[..., Resolved | None]:
        _FORMS[name] = QueryForm(name, example, order, handler)
        return handler

    return decorator


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
