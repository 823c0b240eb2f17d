"""Build a model on the meta device and trace it into a `Graph`.

``capture`` runs a ladder of methods and records which one produced the graph:

1. ``dispatch``: the PreDispatch op recorder on meta tensors (fast; same ops as export).
2. ``dispatch-eager-masks``: the recorder again, with transformers' attention-mask code in its eager mode. The
   recorder looks like ``torch.export`` to libraries, so transformers builds a full mask even when there is no
   padding; a few models cannot take one (Autoformer's auto-correlation; Informer's distilling conv halves the
   length the mask was made for), and their eager forward, which skips the mask, is the architecture. Only
   for transformers models (for any other it would repeat rung 1).
3. ``export``: ``torch.export.export(strict=False)`` on meta tensors (the portable reference; slowest).
4. ``dispatch-cpu``: for models that read tensor *values* (``.item()``, ``nms``, value-dependent
   control flow), which meta tensors do not have: the module is materialised with *uninitialised* CPU
   storage (``to_empty``; no weights are loaded or computed) if it fits ``cpu_param_limit``, inputs get
   dummy values, and the recorder runs again. Last, because it moves the module off the meta device.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from collections.abc import Sequence
from typing import Any

import torch

from ..errors import TraceError
from ..schema import Graph
from ..sources import Built, ModelRef, get_source
from ..versions import library_versions, versions_json
from ._record import RawGraph, record, tensor_leaves
from .normalize import input_spec, module_params, to_graph

__all__ = ["METHODS", "RawGraph", "capture", "library_versions", "trace_built", "trace_module", "trace_ref"]

logger = logging.getLogger(__name__)

METHODS = ("dispatch", "dispatch-eager-masks", "export", "dispatch-cpu")
#: Largest model (parameters) the ``dispatch-cpu`` rung materialises: its weights (4 bytes each) *and* real
#: activations must stay under the worker memory limit (models above 100 M went past 3 GB).
CPU_PARAM_LIMIT = 100_000_000


def _to_cpu(obj: Any) -> Any:
    def convert(t: torch.Tensor) -> torch.Tensor:
        if t.dtype.is_floating_point or t.dtype.is_complex:
            return torch.randn(t.shape, dtype=t.dtype)
        if t.dtype == torch.bool:
            return torch.ones(t.shape, dtype=torch.bool)
        return torch.ones(t.shape, dtype=t.dtype)

    return torch.utils._pytree.tree_map_only(torch.Tensor, convert, obj)


def _attributes_to_cpu(module: torch.nn.Module) -> torch.nn.Module:
    """Move meta tensors kept as plain attributes (not parameters or buffers, e.g. anchor templates) to CPU."""
    for sub in module.modules():
        for name, value in list(vars(sub).items()):
            if name.startswith("_"):
                continue
            if isinstance(value, torch.Tensor) and value.device.type == "meta":
                setattr(sub, name, _to_cpu(value))
            elif isinstance(value, (list, tuple)) and any(
                    isinstance(v, torch.Tensor) and v.device.type == "meta" for v in value):
                setattr(sub, name, type(value)(_to_cpu(list(value))))
    return module


def capture(module: torch.nn.Module, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None,
            methods: Sequence[str] = METHODS, cpu_param_limit: int = CPU_PARAM_LIMIT) -> tuple[RawGraph, str]:
    """Capture with the first method of ``methods`` that works; `TraceError` lists every method's error."""
    kwargs = kwargs or {}
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"Unknown capture method {unknown[0]!r}; valid methods: {METHODS}")
    errors: list[str] = []
    root_class = ""  # class of the first rung's error: what the failure is "about"
    for method in methods:
        try:
            if method == "dispatch":
                return record(module, args, kwargs), method
            if method == "export":
                from ._export import export_graph

                return export_graph(module, args, kwargs), method
            if method == "dispatch-eager-masks":
                masking = sys.modules.get("transformers.masking_utils")
                if masking is None or not type(module).__module__.startswith("transformers."):
                    errors.append(f"{method}: skipped, not a transformers model")
                    continue
                with _eager_masks(masking):
                    return record(module, args, kwargs), method
            if method == "dispatch-cpu":
                n = sum(p.numel() for p in module.parameters())
                if n > cpu_param_limit:
                    errors.append(f"{method}: skipped, {n:,} parameters > limit {cpu_param_limit:,}")
                    continue
                cpu_module = _attributes_to_cpu(module.to_empty(device="cpu"))
                return record(cpu_module, _to_cpu(args), _to_cpu(kwargs)), method
        except Exception as e:  # noqa: BLE001 - every failure moves one rung down the ladder
            errors.append(f"{method}: {type(e).__name__}: {_short(e)}")
            root_class = root_class or type(e).__name__
    error = TraceError(" | ".join(errors))
    error.root_class = root_class  # type: ignore[attr-defined]
    raise error


@contextlib.contextmanager
def _eager_masks(masking: Any) -> Any:
    """transformers' ``masking_utils`` as in an eager forward: a mask without padding is skipped, not built."""
    exporting = masking.is_torchdynamo_exporting
    masking.is_torchdynamo_exporting = lambda: False
    try:
        yield
    finally:
        masking.is_torchdynamo_exporting = exporting


def _short(e: BaseException, n: int = 300) -> str:
    text = " ".join(str(e).split())
    return text if len(text) <= n else text[:n] + "..."


def trace_module(module: torch.nn.Module, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None, *,
                 model_id: str = "local:module", source: str = "local", config_hash: str = "",
                 methods: Sequence[str] = METHODS, **fields: Any) -> Graph:
    """Trace an already built module (on meta or CPU) into a `Graph`."""
    kwargs = kwargs or {}
    start = time.perf_counter()
    module.eval()
    raw, method = capture(module, args, kwargs, methods)
    num_params = sum(p.numel() for p in module.parameters())
    fields.setdefault("versions", versions_json())
    fields.setdefault("seconds", time.perf_counter() - start)
    return to_graph(raw, model_id=model_id, source=source, config_hash=config_hash or model_id,
                    params=module_params(module), num_params=num_params, capture=method,
                    input_spec=input_spec(args, kwargs), **fields)


def trace_built(ref: ModelRef, built: Built, labels: dict[str, str], methods: Sequence[str] = METHODS) -> Graph:
    """Trace the module a source built for ``ref`` into its `Graph`, with the ref's identity and labels."""
    return trace_module(built.module, built.args, built.kwargs, model_id=ref.model_id, source=ref.source,
                        config_hash=ref.config_hash, methods=methods, builder=built.builder,
                        revision=ref.revision, family=labels.get("family", "unknown"),
                        coarse=labels.get("coarse", "unknown"), task=labels.get("task", "unknown"))


def trace_ref(ref: ModelRef, methods: Sequence[str] = METHODS) -> Graph:
    """Build ``ref`` with its source on the meta device and trace it, in this process (the pool isolates)."""
    start = time.perf_counter()
    source = get_source(ref.source)
    graph = trace_built(ref, source.build(ref), source.labels(ref), methods)
    return graph.replace(seconds=time.perf_counter() - start)


def meta_inputs(*shapes: Sequence[int], dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, ...]:
    return tuple(torch.empty(tuple(s), dtype=dtype, device="meta") for s in shapes)


def count_tensors(obj: Any) -> int:
    return len(tensor_leaves(obj))
