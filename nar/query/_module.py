"""The ``module`` form (Python only): any ``torch.nn.Module`` with example inputs or input shapes.

``inputs`` may be a tensor, a shape (``(1, 3, 224, 224)``), a tuple/list of tensors or shapes (positional
inputs), or a dict of them (keyword inputs). A shape becomes a float32 tensor on the module's device (meta
for a module built on meta); integer inputs (token ids) need a real tensor.
"""

from __future__ import annotations

import sys
from typing import Any

from nar.errors import BuildFailedError, QueryError
from nar.query._base import QueryContext, Resolved, register_form
from nar_data.schema import Graph

__all__ = ["example_inputs", "module_query"]


def _is_shape(x: Any) -> bool:
    return isinstance(x, (tuple, list)) and len(x) > 0 and all(isinstance(d, int) and d > 0 for d in x)


def example_inputs(module: Any, inputs: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """``(args, kwargs)`` to trace ``module`` with, from tensors or shapes (see the module docstring)."""
    import torch

    if inputs is None:
        raise QueryError(f"{type(module).__name__}: pass example inputs or input shapes, e.g. "
                         "search(model, torch.randn(1, 3, 224, 224)) or search(model, (1, 3, 224, 224))")
    device = next((p.device for p in module.parameters()), torch.device("cpu"))

    def one(x: Any) -> Any:
        if _is_shape(x):
            return torch.zeros(tuple(x), device=device)
        return x

    if isinstance(inputs, dict):
        return (), {k: one(v) for k, v in inputs.items()}
    if _is_shape(inputs):
        return (one(inputs),), {}
    if isinstance(inputs, (tuple, list)):
        return tuple(one(x) for x in inputs), {}
    return (inputs,), {}


def _trace(module: Any, inputs: Any, title: str) -> Graph:
    import torch

    from nar_data.tracing import trace_module

    args, kwargs = example_inputs(module, inputs)
    name = type(module).__name__
    try:
        with torch.no_grad():
            return trace_module(module, args, kwargs, model_id=f"module:{name}", source="module",
                                builder=f"{type(module).__module__}.{type(module).__qualname__}")
    except Exception as e:  # noqa: BLE001 - the user's module: any failure is the answer, in one line
        raise BuildFailedError(f"cannot trace {title}: {type(e).__name__}: {' '.join(str(e).split())[:300]}") from e


@register_form("module", "search(my_module, torch.randn(1, 3, 224, 224)) from Python", order=0)
def module_query(query: Any, ctx: QueryContext) -> Resolved | None:
    torch = sys.modules.get("torch")  # a Module exists only if torch was imported: never import it here
    if torch is None or not isinstance(query, torch.nn.Module):
        return None
    name = type(query).__name__
    title = f"{name} (nn.Module)"
    example_inputs(query, ctx.inputs)  # refuse missing inputs before anything else
    return Resolved("module", title, f"module:{name}", build=lambda: _trace(query, ctx.inputs, title),
                    what=f"tracing {title} ...")
