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

__all__ = ["CANON_LEVELS", "HEAD_OPS", "LAYOUT", "SHAPE_ONLY", "SYNONYMS", "canonical_graph"]

#: Canonical view levels: 1 = the first view (layout contracted, constants dropped, eager attention fused,
#: synonyms, parallel copies merged); 2 = also the library conventions measured on the library set's twins
#: (heads and poolers dropped, shape-only mask builders dropped, padding and attention bookkeeping attributes
#: dropped, merged copies keep their summed width, a ``cat`` of one tensor's slices contracted, NHWC / token
#: means as global pools, the query scale folded into attention).
#: 3 = also an L2 normalisation (``linalg_vector_norm -> clamp_min -> div``, ``F.normalize``) as one
#: ``l2_normalize`` node, and parallel copies merged until nothing changes, a projection's copies matched through
#: the normalisations they feed (cosine attention: swinv2's q and k normalised apart, as
#: ``q, k, v = qkv(x)`` in timm or three ``nn.Linear`` in transformers).
CANON_LEVELS = (1, 2, 3)

#: Ops that only reshape, reorder, copy, cast, slice or pad a tensor (or are the identity at inference).
LAYOUT = frozenset({
    "view", "reshape", "_unsafe_view", "reshape_as", "view_as", "transpose", "permute", "numpy_T", "t",
    "contiguous", "clone", "detach", "alias", "to", "type_as", "copy", "unsqueeze", "squeeze", "flatten",
    "unflatten", "expand", "expand_as", "select", "slice", "unbind", "chunk", "split", "split_with_sizes",
    "pad", "dropout", "identity",
})

#: Op names that are one operation under two spellings (after `_relabel`'s shape-dependent rules).
SYNONYMS = {"addmm": "linear"}
#: Level 2 synonyms on top of `SYNONYMS`.
SYNONYMS_2 = {**SYNONYMS, "amax": "max"}
#: Ops whose output depends on their input's shape only (level 2): what they feed is a constant of the
#: architecture (torchvision's shifted-window attention mask built with ``new_zeros`` / ``fill`` / ``eq``).
SHAPE_ONLY = frozenset({"new_zeros", "new_ones", "new_full", "new_empty", "zeros_like", "ones_like", "full_like",
                        "empty_like", "zeros", "ones", "full", "empty", "arange", "eye", "linspace"})
#: Ops of a classification head or pooler next to the output (level 2): a dense layer and the pooler's tanh.
#: An ``XModel`` has none, an ``XForImageClassification`` / timm / torchvision model has a head of
#: ``num_classes`` outputs, a dataset choice (docs/taxonomy.md: twins match on trunk parameters).
HEAD_OPS = frozenset({"linear", "addmm", "tanh"})
_HEAD_DEPTH = 2
#: Attributes that are bookkeeping rather than design at level 2: padding (one library pads with a separate op,
#: which the view contracts), the attention mask flag and key/value head count (an eager attention, fused by
#: the view, carries neither).
_DROP_ATTRS = ("padding", "mask", "kv_heads")
_GLOBAL_POOL = "global_avg_pool"
_ATTENTION = "scaled_dot_product_attention"
_MATMUL = frozenset({"matmul", "bmm", "einsum", "baddbmm"})
#: What may sit between the score matmul and the softmax of eager attention: scale, bias, mask.
_SCORE_OPS = frozenset({"mul", "div", "add", "sub", "masked_fill", "where", "to"})
_MAX_SCORE_OPS = 4
_NORM_OPS = frozenset({"linalg_vector_norm", "norm"})
_CLAMP_OPS = frozenset({"clamp_min", "clamp"})
_L2_NORMALIZE = "l2_normalize"


def _relabel(g: Graph, i: int, preds: list[int], level: int = 1) -> tuple[str, str]:
    """``(op_name, attrs)`` of node ``i`` in the canonical view."""
    op, attrs = g.op_name[i], g.attrs[i] if i < len(g.attrs) else ""
    d = _parse(attrs) if attrs else {}
    if level >= 2 and d and any(k in d for k in _DROP_ATTRS):
        d = {k: v for k, v in d.items() if k not in _DROP_ATTRS}
        attrs = json.dumps(d, sort_keys=True, separators=(",", ":")) if d else ""
    if op.startswith("adaptive_avg_pool"):
        out = d.get("output")
        if isinstance(out, list) and out and all(o == 1 for o in out):
            return _GLOBAL_POOL, ""
    if op == "mean" and preds:
        ins, outs = list(g.shape[preds[0]]), list(g.shape[i])
        # (B, C, H, W) -> (B, C) or (B, C, 1, 1): the mean over the spatial dims
        if len(ins) >= 4 and list(outs[:2]) == list(ins[:2]) and all(o == 1 for o in outs[2:]) \
                and any(x > 1 for x in ins[2:]):
            return _GLOBAL_POOL, ""
        # level 2: channels-last (B, H, W, C) -> (B, C) / (B, 1, 1, C), and tokens (B, L, C) -> (B, C)
        if level >= 2 and len(ins) >= 3 and len(outs) >= 2 and outs[0] == ins[0] and outs[-1] == ins[-1] \
                and any(x > 1 for x in ins[1:-1]) and all(o == 1 for o in outs[1:-1]) \
                and (len(outs) == 2 or len(outs) == len(ins)):
            return _GLOBAL_POOL, ""
    if op.startswith("conv") and not d.get("transposed") and d.get("groups", 1) == 1 \
            and all(k == 1 for k in d.get("kernel", [0])) and all(k == 1 for k in d.get("stride", [1])):
        # a pointwise convolution is a linear map over the channels
        return "linear", json.dumps({k: d[k] for k in ("bias", "in", "out") if k in d}, sort_keys=True,
                                    separators=(",", ":"))
    return (SYNONYMS_2 if level >= 2 else SYNONYMS).get(op, op), attrs


def _summed_width(attrs: list[str]) -> str:
    """The attributes of one fused projection standing for parallel ``linear`` copies: ``out`` summed,
    ``bias`` if any copy has one (separate q, k, v of 768 -> one qkv of 2304, as timm writes it)."""
    ds = [_parse(a) for a in attrs]
    if not all(isinstance(d.get("out"), int) for d in ds):
        return attrs[0]
    out = dict(ds[0])
    out["out"] = sum(int(d["out"]) for d in ds)
    if any("bias" in d for d in ds):
        out["bias"] = any(bool(d.get("bias")) for d in ds)
    return json.dumps(out, sort_keys=True, separators=(",", ":"))


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
                    succs: dict[int, set[int]], q: _Quotient, g: Graph | None = None) -> None:
    """Eager attention (``matmul -> [scale / bias / mask ops] -> softmax -> matmul``) becomes one node.

    With ``g`` (level 2) a scale of the query by a constant (a ``mul`` / ``div`` with one input, feeding only
    the score matmul) is part of it, and the fused node carries ``heads`` and ``head_dim`` read from the
    softmax's (B, heads, L, S) shape and the output, as a fused kernel's node does."""
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
        scale = []
        if g is not None:
            scale = [p for p in preds.get(first, []) if labels[p][0] in ("mul", "div")
                     and len(preds.get(p, [])) == 1 and succs.get(p, set()) == {first}]
        for m in [first, *path, *scale, s]:
            q.union(out[0], m)
        attrs: dict = {"causal": False}
        if g is not None:
            sm, o = list(g.shape[s]), list(g.shape[out[0]])
            if len(sm) == 4 and len(o) == 4 and o[:3] == sm[:3]:
                attrs.update(heads=int(sm[1]), head_dim=int(o[3]))
        labels[out[0]] = (_ATTENTION, json.dumps(attrs, sort_keys=True, separators=(",", ":")))


def _fuse_l2_normalize(labels: dict[int, tuple[str, str]], preds: dict[int, list[int]],
                       succs: dict[int, set[int]], q: _Quotient) -> None:
    """Level 3: ``div(x, clamp_min(norm(x)))`` (``F.normalize``; the clamp optional) becomes one ``l2_normalize``
    node whose only input is ``x``."""
    for d, (op, _) in list(labels.items()):
        if op != "div" or len(preds.get(d, [])) != 2:
            continue
        for c in preds[d]:
            x = [p for p in preds[d] if p != c]
            chain, cur = [], c
            if labels[cur][0] in _CLAMP_OPS and len(preds.get(cur, [])) == 1 and succs.get(cur, set()) == {d}:
                chain.append(cur)
                cur = preds[cur][0]
            if (len(x) == 1 and labels[cur][0] in _NORM_OPS and preds.get(cur, []) == x
                    and succs.get(cur, set()) <= {d, *chain}):
                for m in [*chain, cur]:
                    q.union(d, m)
                labels[d] = (_L2_NORMALIZE, "")
                break


def _head_nodes(g: Graph, preds: list[list[int]], order: np.ndarray) -> np.ndarray:
    """(N,) bool: the classification head / pooler next to the output (`HEAD_OPS`, at most `_HEAD_DEPTH` of
    them on a path to an ``output`` node, layout ops in between passed through)."""
    n = g.num_nodes
    succs: list[list[int]] = [[] for _ in range(n)]
    for d in range(n):
        for s in preds[d]:
            succs[s].append(d)
    head = np.zeros(n, dtype=bool)
    depth = np.zeros(n, dtype=np.int64)  # head ops between a node and the output
    tail = np.asarray([op == "output" for op in g.op_name], dtype=bool)
    for i in order[::-1].tolist():
        if tail[i] or not succs[i] or not all(tail[s] for s in succs[i]):
            continue
        op = g.op_name[i]
        d = max(int(depth[s]) for s in succs[i])
        if op in LAYOUT:
            tail[i], depth[i] = True, d
        elif op in HEAD_OPS and d < _HEAD_DEPTH:
            tail[i] = head[i] = True
            depth[i] = d + 1
    if head.sum() * 4 > n:  # a model that is mostly dense layers keeps them
        head[:] = False
    return head


def canonical_graph(g: Graph, level: int = 1) -> Graph:
    """The canonical retrieval view of ``g`` (module docstring) at ``level`` (`CANON_LEVELS`); ``g`` is not
    modified."""
    if level not in CANON_LEVELS:
        raise ValueError(f"Unknown canonical view level {level!r}; valid: {CANON_LEVELS}")
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
        live[i] = not has_input or g.op_name[i] == "input" or (
            not (level >= 2 and g.op_name[i] in SHAPE_ONLY) and any(live[p] for p in preds[i]))
    if level >= 2 and n:
        drop |= _head_nodes(g, preds, order)
    if n and (drop | ~live).all():
        drop[:], live[:] = False, True
    # 1. contract layout ops: a node stands for itself when kept, for its predecessors' stand-ins when not
    rep: list[tuple[int, ...]] = [()] * n
    for i in order.tolist():
        if not live[i]:
            drop[i] = True
        ins = tuple(sorted({r for p in preds[i] for r in rep[p]}))
        if level >= 2 and not drop[i] and g.op_name[i] in ("cat", "stack") and len(ins) == 1:
            drop[i] = True  # the slices of one tensor put back together (patch merging): a layout op
        rep[i] = (i,) if not drop[i] else ins
    kept = [int(i) for i in order if not drop[i]]
    kpreds = {i: sorted({r for p in preds[i] for r in rep[p] if r != i}) for i in kept}
    ksucc: dict[int, set[int]] = defaultdict(set)
    for d, ps in kpreds.items():
        for s in ps:
            ksucc[s].add(d)
    # 2. synonyms; 3. eager attention as one node
    labels = {i: _relabel(g, i, preds[i], level) for i in kept}
    q = _Quotient(kept)
    _fuse_attention(labels, kpreds, ksucc, q, g if level >= 2 else None)
    if level >= 3:
        _fuse_l2_normalize(labels, kpreds, ksucc, q)
    qpreds: dict[int, set[int]] = defaultdict(set)
    qsucc: dict[int, set[int]] = defaultdict(set)
    for d in kept:
        for s in kpreds[d]:
            a, b = q.find(s), q.find(d)
            if a != b:
                qpreds[b].add(a)
                qsucc[a].add(b)
    # 4. parallel copies: same op, same predecessors, same successors -> one node (level 3: repeated until
    # nothing changes, a node's successors read through the l2_normalize nodes it alone feeds)
    roots = [i for i in kept if q.find(i) == i]
    merged: dict[int, list[int]] = defaultdict(list)
    for _ in range(8 if level >= 3 else 1):
        seen: dict[tuple, int] = {}
        before = len(roots)
        for i in roots:
            ps = {q.find(p) for p in qpreds[i]} if level >= 3 else qpreds[i]
            if ps:
                ss = {q.find(t) for t in qsucc[i]} if level >= 3 else qsucc[i]
                if level >= 3:
                    ss = {q.find(next(iter(qsucc[t]))) if labels[t][0] == _L2_NORMALIZE and len(qsucc[t]) == 1
                          and {q.find(p) for p in qpreds[t]} == {i} else t for t in ss}
                key = (labels[i][0], tuple(sorted(ps)), tuple(sorted(ss)))
                first = seen.setdefault(key, i)
                if first != i:
                    q.union(first, i)
                    merged[first] += merged.pop(i, [i])
                    merged[first] = sorted(set(merged[first]) | {first})
                else:
                    merged.setdefault(first, [first])
        roots = [i for i in roots if q.find(i) == i]
        if len(roots) == before:
            break
        if level >= 3:  # the merged nodes' edges, for the next pass
            for i in list(qpreds):
                qpreds[i] = {q.find(p) for p in qpreds[i]}
            for i in list(qsucc):
                qsucc[i] = {q.find(t) for t in qsucc[i]}
            for i in roots:
                qpreds[i] = set().union(*[{q.find(p) for p in qpreds[m]} for m in merged.get(i, [i])]) - {i}
                qsucc[i] = set().union(*[{q.find(t) for t in qsucc[m]} for m in merged.get(i, [i])]) - {i}
    if level >= 2:  # merged q / k / v projections are one fused projection: their widths add up
        for first, copies in merged.items():
            if len(copies) > 1 and labels[first][0] == "linear":
                labels[first] = (labels[first][0], _summed_width([labels[c][1] for c in copies]))
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
