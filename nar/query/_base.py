"""The records a query form works with (`QueryContext`, `Resolved`) and the form table it registers in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nar.dataset import DatasetView
from nar.errors import UnknownModelError
from nar_data.schema import Graph

__all__ = ["QueryContext", "QueryForm", "Resolved", "register_form"]


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
