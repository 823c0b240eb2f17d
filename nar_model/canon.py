"""The canonical view of an op graph for retrieval: one design, one graph, whichever library traced it.

Libraries write one architecture with different bookkeeping ops. torchvision's ``nn.MultiheadAttention``
traces to 36 nodes per layer where timm's ViT block has 16 (transposes, unflatten / squeeze, three
``select`` of a fused q/k/v); transformers' MobileNetV2 adds a ``pad`` before every convolution that timm
folds into the convolution; timm pools with ``mean`` where torchvision calls ``adaptive_avg_pool2d``.
`canonical_graph` removes that noise from the *view* the tokens are read from (the stored graph and its
``arch_id`` are untouched):

1. **Layout ops are contracted**: nodes whose op only moves, copies, casts, slices or pads data (`LAYOUT`)
   and identity-at-inference ops (``dropout``) are removed; each predecessor of a removed node is wired
   to each of its successors, parallel edges are merged.
   Constants (nodes no input reaches: masks and position ids built from ``arange``) are removed too.
2. **Synonyms get one name** (`SYNONYMS`): a global average pool (``mean`` over the spatial dims, or
   ``adaptive_avg_pool*`` to size 1) is ``global_avg_pool``; ``addmm`` (GPT-2's ``Conv1D``) is ``linear``.
3. **Parallel copies are merged**: nodes with the same op, attributes-free label, predecessors and
   successors (separate q, k and v projections feeding one attention) become one node, as a fused
   projection is.

Shapes:
    Graph (N nodes) -> Graph (M <= N nodes), same model_id / arch_id / labels
"""

from __future__ import annotations

import json
from collections import defaultdict

import numpy as np

from nar_data.schema import Graph

from .motifs import topo_order

__all__ = ["LAYOUT", "SYNONYMS", "canonical_graph"]

#: Ops that only reshape, reorder, copy, cast, slice or pad a tensor (or are the identity at inference).
LAYOUT = frozenset({
    "view", "reshape", "_unsafe_view", "reshape_as", "view_as", "transpose", "permute", "numpy_T", "t",
    "contiguous", "clone", "detach", "alias", "to", "type_as", "copy", "unsqueeze", "squeeze", "flatten",
    "unflatten", "expand", "expand_as", "select", "slice", "unbind", "chunk", "split", "split_with_sizes",
    "pad", "dropout", "identity",
})

#: Op names that are one operation under two spellings (after `_relabel`'s shape-dependent rules).
SYNONYMS = {"addmm": "linear"}
_GLOBAL_POOL = "global_avg_pool"
_ATTENTION = "scaled_dot_product_attention"
_MATMUL = frozenset({"matmul", "bmm", "einsum", "baddbmm"})
#: What may sit between the score matmul and the softmax of eager attention: scale, bias, mask.
_SCORE_OPS = frozenset({"mul", "div", "add", "sub", "masked_fill", "where", "to"})
_MAX_SCORE_OPS = 4


def _relabel(g: Graph, i: int, preds: list[int]) -> tuple[str, str]:
    """``(op_name, attrs)`` of node ``i`` in the canonical view."""
    op, attrs = g.op_name[i], g.attrs[i] if i < len(g.attrs) else ""
    d = _parse(attrs) if attrs else {}
    if op.startswith("adaptive_avg_pool"):
        out = d.get("output")
        if isinstance(out, list) and out and all(o == 1 for o in out):
            return _GLOBAL_POOL, ""
    if op == "mean" and preds:
        ins, outs = g.shape[preds[0]], g.shape[i]
        # (B, C, H, W) -> (B, C) or (B, C, 1, 1): the mean over the spatial dims
        if len(ins) >= 4 and list(outs[:2]) == list(ins[:2]) and all(o == 1 for o in outs[2:]) \
                and any(x > 1 for x in ins[2:]):
            return _GLOBAL_POOL, ""
    if op.startswith("conv") and not d.get("transposed") and d.get("groups", 1) == 1 \
            and all(k == 1 for k in d.get("kernel", [0])) and all(k == 1 for k in d.get("stride", [1])):
        # a pointwise convolution is a linear map over the channels
        return "linear", json.dumps({k: d[k] for k in ("bias", "in", "out") if k in d}, sort_keys=True,
                                    separators=(",", ":"))
    return SYNONYMS.get(op, op), attrs


def _parse(attrs: str) -> dict:
    try:
        d = json.loads(attrs)
    except ValueError:
        return {}
    return d if isinstance(d, dict) else {}


class _Quotient:
    """Union-find over the kept nodes: merged nodes become one node of the canonical graph."""

    def __init__(self, nodes: list[int]) -> None:
        self.parent = {i: i for i in nodes}

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, keep: int, other: int) -> None:
        a, b = self.find(keep), self.find(other)
        if a != b:
            self.parent[b] = a


def _fuse_attention(labels: dict[int, tuple[str, str]], preds: dict[int, list[int]],
                    succs: dict[int, set[int]], q: _Quotient) -> None:
    """Eager attention (``matmul -> [scale / bias / mask ops] -> softmax -> matmul``) becomes one node."""
    for s, (op, _) in list(labels.items()):
        if op != "softmax":
            continue
        out = [m for m in succs.get(s, ()) if labels[m][0] in _MATMUL]
        path, frontier, first = [], [s], None
        for _ in range(_MAX_SCORE_OPS + 1):
            nxt = [p for f in frontier for p in preds.get(f, [])]
            mm = [p for p in nxt if labels[p][0] in _MATMUL]
            if mm:
                first = mm[0]
                break
            frontier = [p for p in nxt if labels[p][0] in _SCORE_OPS and len(succs.get(p, ())) == 1]
            if not frontier:
                break
            path += frontier
        if first is None or len(out) != 1:
            continue
        for m in [first, *path, s]:
            q.union(out[0], m)
        labels[out[0]] = (_ATTENTION, '{"causal":false}')


def canonical_graph(g: Graph) -> Graph:
    """The canonical retrieval view of ``g`` (module docstring); ``g`` is not modified."""
    n = g.num_nodes
    src, dst = np.asarray(g.src, dtype=np.int64), np.asarray(g.dst, dtype=np.int64)
    preds: list[list[int]] = [[] for _ in range(n)]
    for s, d in sorted(set(zip(src.tolist(), dst.tolist()))):
        preds[d].append(s)
    order = np.arange(n) if bool(np.all(src < dst)) else topo_order(n, src, dst)
    drop = np.asarray([op in LAYOUT for op in g.op_name], dtype=bool)
    # constants: nodes no input reaches (masks and position ids built from arange, ...)
    live = np.zeros(n, dtype=bool)
    has_input = any(op == "input" for op in g.op_name)
    for i in order.tolist():
        live[i] = not has_input or g.op_name[i] == "input" or any(live[p] for p in preds[i])
    if n and (drop | ~live).all():
        drop[:], live[:] = False, True
    # 1. contract layout ops: a node stands for itself when kept, for its predecessors' stand-ins when not
    rep: list[tuple[int, ...]] = [()] * n
    for i in order.tolist():
        if not live[i]:
            drop[i] = True
        rep[i] = (i,) if not drop[i] else tuple(sorted({r for p in preds[i] for r in rep[p]}))
    kept = [int(i) for i in order if not drop[i]]
    kpreds = {i: sorted({r for p in preds[i] for r in rep[p] if r != i}) for i in kept}
    ksucc: dict[int, set[int]] = defaultdict(set)
    for d, ps in kpreds.items():
        for s in ps:
            ksucc[s].add(d)
    # 2. synonyms; 3. eager attention as one node
    labels = {i: _relabel(g, i, preds[i]) for i in kept}
    q = _Quotient(kept)
    _fuse_attention(labels, kpreds, ksucc, q)
    qpreds: dict[int, set[int]] = defaultdict(set)
    qsucc: dict[int, set[int]] = defaultdict(set)
    for d in kept:
        for s in kpreds[d]:
            a, b = q.find(s), q.find(d)
            if a != b:
                qpreds[b].add(a)
                qsucc[a].add(b)
    # 4. parallel copies: same op, same predecessors, same successors -> one node
    roots = [i for i in kept if q.find(i) == i]
    seen: dict[tuple, int] = {}
    for i in roots:
        if qpreds[i]:
            key = (labels[i][0], tuple(sorted(qpreds[i])), tuple(sorted(qsucc[i])))
            q.union(seen.setdefault(key, i), i)
    nodes = [i for i in roots if q.find(i) == i]
    new = {i: k for k, i in enumerate(nodes)}
    edges = sorted({(new[q.find(s)], new[q.find(d)]) for d in kept for s in kpreds[d] if q.find(s) != q.find(d)})
    e = np.asarray(edges, dtype=np.int32).reshape(-1, 2)
    return g.replace(
        op=np.asarray([int(g.op[i]) for i in nodes], dtype=np.int32),
        op_name=[labels[i][0] for i in nodes], attrs=[labels[i][1] for i in nodes],
        shape=[g.shape[i] for i in nodes], dtype=[g.dtype[i] for i in nodes],
        module=[g.module[i] for i in nodes], params=np.asarray([int(g.params[i]) for i in nodes], dtype=np.int64),
        src=e[:, 0].copy(), dst=e[:, 1].copy())
