"""`RawGraph` -> `Graph`: canonical op names and vocab ids, per-node parameter counts, ``arch_id``."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import torch

from ..fingerprint import arch_id
from ..schema import Graph
from ..vocab import VOCAB_VERSION, canonical, op_id
from ._record import RawGraph


def module_params(model: torch.nn.Module) -> dict[str, int]:
    """Own (non-recursive) parameter count of every named module."""
    return {name: sum(p.numel() for p in m.parameters(recurse=False)) for name, m in model.named_modules()}


def input_spec(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    spec: dict[str, Any] = {}
    for i, a in enumerate(args):
        spec[f"arg{i}"] = _describe(a)
    for k, v in kwargs.items():
        spec[k] = _describe(v)
    return json.dumps(spec, sort_keys=True)


def _describe(v: Any) -> Any:
    if isinstance(v, torch.Tensor):
        return [list(v.shape), str(v.dtype).removeprefix("torch.")]
    if isinstance(v, (list, tuple)):
        return [_describe(x) for x in v]
    if isinstance(v, dict):
        return {k: _describe(x) for k, x in v.items()}
    return v if isinstance(v, (int, float, str, bool, type(None))) else type(v).__name__


def to_graph(raw: RawGraph, *, model_id: str, source: str, config_hash: str, params: dict[str, int],
             num_params: int, **fields: Any) -> Graph:
    """Normalise a captured graph. ``fields`` fill the remaining `Graph` fields (labels, provenance)."""
    names = [canonical(op) for op in raw.ops]
    src = np.asarray(raw.src, dtype=np.int32)
    dst = np.asarray(raw.dst, dtype=np.int32)
    return Graph(
        model_id=model_id, source=source, config_hash=config_hash,
        arch_id=arch_id(names, raw.shapes, src, dst),
        op=np.asarray([op_id(n) for n in names], dtype=np.int32), op_name=names,
        shape=raw.shapes, dtype=raw.dtypes, module=raw.modules,
        params=np.asarray([params.get(m, 0) for m in raw.modules], dtype=np.int64),
        src=src, dst=dst, num_params=int(num_params), flops=int(sum(raw.flops)),
        vocab_version=VOCAB_VERSION, **fields,
    )
