"""`RawGraph` -> `Graph`: canonical op names and vocab ids, per-node parameter counts and attributes, ``arch_id``."""

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


#: Ops that only re-wrap a tensor (autograd and export bookkeeping): not part of the architecture.
IDENTITY_OPS = frozenset({"detach", "lift_fresh", "lift_fresh_copy", "alias"})


def drop_identities(names: list[str], src: list[int], dst: list[int]) -> tuple[list[int], np.ndarray, np.ndarray]:
    """Remove `IDENTITY_OPS` nodes, wiring their inputs to their consumers. Returns the kept node indices
    (old numbering, in order) and the new edge arrays. Node order must be topological (it is)."""
    n = len(names)
    preds: list[list[int]] = [[] for _ in range(n)]
    for u, v in zip(src, dst):
        preds[v].append(u)
    rep: list[list[int]] = [[] for _ in range(n)]  # surviving nodes (new numbering) that stand for node i
    keep: list[int] = []
    edges: dict[tuple[int, int], None] = {}
    for i in range(n):
        if names[i] in IDENTITY_OPS:
            rep[i] = list(dict.fromkeys(r for p in preds[i] for r in rep[p]))
            continue
        j = len(keep)
        keep.append(i)
        rep[i] = [j]
        for p in preds[i]:
            for r in rep[p]:
                edges[(r, j)] = None
    pairs = list(edges)
    return keep, np.asarray([a for a, _ in pairs], dtype=np.int32), np.asarray([b for _, b in pairs], dtype=np.int32)


def to_graph(raw: RawGraph, *, model_id: str, source: str, config_hash: str, params: dict[str, int],
             num_params: int, **fields: Any) -> Graph:
    """Normalise a captured graph. ``fields`` fill the remaining `Graph` fields (labels, provenance)."""
    names = [canonical(op) for op in raw.ops]
    keep, src, dst = drop_identities(names, raw.src, raw.dst)
    if len(keep) < len(names):
        names = [names[i] for i in keep]
        raw = RawGraph(ops=[raw.ops[i] for i in keep], shapes=[raw.shapes[i] for i in keep],
                       dtypes=[raw.dtypes[i] for i in keep], modules=[raw.modules[i] for i in keep],
                       flops=[raw.flops[i] for i in keep], attrs=[raw.attrs[i] for i in keep],
                       src=src.tolist(), dst=dst.tolist())
    return Graph(
        model_id=model_id, source=source, config_hash=config_hash,
        arch_id=arch_id(names, raw.shapes, src, dst, attrs=raw.attrs),
        op=np.asarray([op_id(n) for n in names], dtype=np.int32), op_name=names,
        shape=raw.shapes, dtype=raw.dtypes, module=raw.modules,
        params=np.asarray([params.get(m, 0) for m in raw.modules], dtype=np.int64),
        attrs=list(raw.attrs), src=src, dst=dst, num_params=int(num_params), flops=int(sum(raw.flops)),
        vocab_version=VOCAB_VERSION, **fields,
    )
