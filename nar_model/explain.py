"""Why two architectures match: the blocks and motifs they share, the ops that differ, and a one-line summary.

`explain(query, match)` is a pure function of two `Graph`s (numpy only, no torch):

* **blocks**: a node belongs to the block named by its module path up to the last numbered component
  (``layer2.3.conv1`` -> block ``layer2.3`` of stage ``layer2``; ``encoder.layer.7.attention`` -> block 7 of
  ``encoder.layer``). A block's *kind* comes from its ops (``bottleneck``: three convolutions and an add;
  ``transformer layer``: attention and an MLP); a stage is the run of blocks under one prefix, so ResNet-50
  reads "4 stages of bottleneck blocks 3-4-6-3";
* **motifs**: `nar_model.motifs.MotifVocab` fitted on the pair, so a motif is a wired op sequence that recurs;
  shared motifs are listed with their counts in each graph;
* **op differences**: the compute ops (shape-only ops such as ``view`` left out) whose counts differ most;
* **stats**: parameters, FLOPs, nodes and depth (weight ops on the longest path) side by side.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from nar_data.schema import Graph

from .motifs import MotifVocab, topo_order

__all__ = ["BlockStages", "Explanation", "MotifShare", "OpDifference", "block_stages", "depth", "explain"]

#: Ops that only move or relabel data; they say little about an architecture and are left out of the diff.
SHAPE_OPS = frozenset({
    "input", "output", "view", "reshape", "reshape_as", "transpose", "permute", "to", "contiguous", "unsqueeze",
    "squeeze", "select", "slice", "expand", "expand_as", "clone", "alias", "detach", "flatten", "unbind", "index",
    "type_as", "split", "split_with_sizes", "chunk", "getitem", "t", "dropout", "feature_dropout", "zeros", "ones",
    "arange", "full", "empty", "empty_like", "full_like", "zeros_like", "ones_like", "lift_fresh_copy", "copy",
})
#: Ops that carry weights or mix features: what "depth" counts along the longest path.
WEIGHT_OPS = frozenset({
    "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "linear", "addmm",
    "matmul", "bmm", "baddbmm", "einsum", "embedding", "scaled_dot_product_attention", "lstm", "gru", "rnn_tanh",
})
_CONV = ("conv1d", "conv2d", "conv3d")
_NUMBERED = re.compile(r"^(.*?)(\d+)$")


@dataclass(frozen=True)
class MotifShare:
    """A motif (recurring wired op sequence) found in both graphs."""

    name: str  # its ops, most frequent first ("conv2d x3, batch_norm x3, relu x3, add")
    size: int  # nodes per occurrence
    query: int  # occurrences in the query
    match: int  # occurrences in the match


@dataclass(frozen=True)
class OpDifference:
    op: str
    query: int
    match: int


@dataclass(frozen=True)
class BlockStages:
    """Numbered blocks of a graph grouped into stages: ``kind`` of the commonest block, blocks per stage."""

    kind: str  # "bottleneck", "basic residual", "transformer layer", ... ("" when there are no numbered blocks)
    counts: tuple[int, ...]  # blocks per stage, in order (ResNet-50: 3, 4, 6, 3)

    def describe(self) -> str:
        if not self.counts:
            return ""
        blocks = "-".join(map(str, self.counts))
        if len(self.counts) == 1:
            return f"{self.counts[0]} {self.kind} blocks"
        return f"{len(self.counts)} stages of {self.kind} blocks {blocks}"


@dataclass(frozen=True)
class Explanation:
    """Why ``match`` is near ``query``; ``to_dict()`` is plain JSON."""

    summary: str  # one line: "both: 4 stages of bottleneck blocks 3-4-6-3; differs: ..."
    shared_motifs: tuple[MotifShare, ...]
    op_differences: tuple[OpDifference, ...]
    stats: dict[str, tuple[int, int]]  # name -> (query, match): params, flops, nodes, depth
    query_blocks: BlockStages
    match_blocks: BlockStages

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["shared_motifs"], d["op_differences"] = list(d["shared_motifs"]), list(d["op_differences"])
        d["stats"] = {k: list(v) for k, v in self.stats.items()}
        for key in ("query_blocks", "match_blocks"):
            d[key]["counts"] = list(d[key]["counts"])
            d[key]["text"] = getattr(self, key).describe()
        return d


# -- blocks ---------------------------------------------------------------------------------------------

def _numbered(module: str) -> list[tuple[str, int]]:
    """Every numbered level of a module path, outer first: ``layer2.3.downsample.0`` ->
    ``[("layer2", 3), ("layer2.3.downsample", 0)]``; ``encoder_layer_3`` counts as ``encoder_layer`` 3."""
    parts = module.split(".") if module else []
    out = []
    for i, part in enumerate(parts):
        m = _NUMBERED.match(part)
        if m and (m.group(1) == "" or m.group(1).endswith("_")):  # "3" or "encoder_layer_3", not "conv1"
            out.append((".".join(parts[:i] + ([m.group(1).rstrip("_")] if m.group(1) else [])), int(m.group(2))))
    return out


def _node_attr(graph: Graph, i: int, name: str) -> Any:
    """A per-node attribute (``groups``, ``kernel``) when the graph records them, else None."""
    attrs = getattr(graph, "attrs", None)
    if attrs is None or i >= len(attrs):
        return None
    a = attrs[i]
    if isinstance(a, str):
        import json

        a = json.loads(a) if a else {}
    return a.get(name) if isinstance(a, dict) else None


def block_kind(ops: Counter) -> str:
    """A readable name of a block from its op counts."""
    convs = sum(ops[c] for c in _CONV)
    attention = ops["scaled_dot_product_attention"] or (ops["softmax"] and (ops["matmul"] or ops["bmm"]))
    if attention:
        return "transformer layer" if ops["linear"] + ops["addmm"] >= 3 else "attention"
    if convs:
        if ops["add"]:
            return {2: "basic residual", 3: "bottleneck"}.get(convs, f"residual {convs}-conv")
        return f"{convs}-conv"
    if ops["lstm"] or ops["gru"]:
        return "recurrent"
    if ops["linear"] + ops["addmm"]:
        return "MLP"
    return "+".join(op for op, _ in ops.most_common(2)) or "empty"


def block_stages(graph: Graph, min_block: int = 3) -> BlockStages:
    """The numbered blocks of ``graph`` (from module paths) grouped by stage; see the module docstring.

    A node's block is its innermost numbered level whose every entry has at least ``min_block`` nodes, so a
    ``downsample.0`` (one conv) stays inside its bottleneck while timm's ``stages.1.blocks.2`` is a block.
    """
    levels = [_numbered(m) for m in graph.module]
    sizes: Counter = Counter(key for lv in levels for key in lv)
    small = {prefix for (prefix, _), n in sizes.items() if n < min_block}
    blocks: dict[tuple[str, int], Counter] = {}
    for lv, op in zip(levels, graph.op_name):
        key = next((k for k in reversed(lv) if k[0] not in small), None)
        if key is not None:
            ops = blocks.setdefault(key, Counter())
            if lv[-1][0] not in small:  # a shortcut's ``downsample.0`` does not change the block's kind
                ops[op] += 1
    if not blocks:
        return BlockStages("", ())
    stages: dict[str, int] = {}
    for prefix, _ in blocks:  # dict order = first-seen (traced) order of the blocks
        stages[prefix] = stages.get(prefix, 0) + 1
    # "stages" around "stages.1.blocks" holds the nodes between blocks (a downsample), not a stage of its own
    counts = tuple(n for prefix, n in stages.items()
                   if not any(p != prefix and p.startswith(prefix + ".") for p in stages))
    kinds = Counter(block_kind(ops) for (prefix, _), ops in blocks.items()
                    if not any(p != prefix and p.startswith(prefix + ".") for p in stages))
    return BlockStages(kinds.most_common(1)[0][0], counts)


# -- depth and motifs -----------------------------------------------------------------------------------

def depth(graph: Graph) -> int:
    """Weight ops (`WEIGHT_OPS`) on the longest path from an input to an output."""
    n = graph.num_nodes
    if n == 0:
        return 0
    weight = np.fromiter((op in WEIGHT_OPS for op in graph.op_name), dtype=np.int64, count=n)
    best = weight.copy()
    preds: list[list[int]] = [[] for _ in range(n)]
    for s, d in zip(np.asarray(graph.src).tolist(), np.asarray(graph.dst).tolist()):
        preds[d].append(s)
    for v in topo_order(n, graph.src, graph.dst).tolist():
        if preds[v]:
            best[v] = weight[v] + max(best[p] for p in preds[v])
    return int(best.max())


def _motif_name(ops: list[str]) -> str:
    c = Counter(o for o in ops if o not in SHAPE_OPS) or Counter(ops)
    return ", ".join(op if n == 1 else f"{op} x{n}" for op, n in c.most_common(4))


def shared_motifs(query: Graph, match: Graph, top: int = 5, min_size: int = 3, max_size: int = 16) -> tuple[MotifShare, ...]:
    """Motifs of a `MotifVocab` fitted on the pair that occur in both, most nodes covered first.

    A motif must occur at least 4 times over the pair (so it recurs inside a graph, not just once in
    each) and span ``min_size`` to ``max_size`` nodes (a bottleneck is 10).
    """
    vocab = MotifVocab(max_merges=200, max_size=max_size, min_count=4).fit([query, match])
    segs = vocab.segment([query, match])
    counts, names = [], {}
    for graph, seg in zip((query, match), segs):
        c: Counter = Counter()
        for s, tok in enumerate(seg.token.tolist()):
            if seg.size[s] >= min_size:
                c[tok] += 1
                if tok not in names:
                    nodes = np.flatnonzero(seg.seg == s)
                    names[tok] = (_motif_name([graph.op_name[i] for i in nodes]), int(seg.size[s]))
        counts.append(c)
    both = [t for t in counts[0] if t in counts[1]]
    both.sort(key=lambda t: -names[t][1] * min(counts[0][t], counts[1][t]))
    return tuple(MotifShare(names[t][0], names[t][1], counts[0][t], counts[1][t]) for t in both[:top])


def op_differences(query: Graph, match: Graph, top: int = 5) -> tuple[OpDifference, ...]:
    """Compute ops whose counts differ most (shape-only ops left out); grouped convs apart when recorded."""
    def counts(g: Graph) -> Counter:
        c = Counter(op for op in g.op_name if op not in SHAPE_OPS)
        for i, op in enumerate(g.op_name):
            if op in _CONV and (_node_attr(g, i, "groups") or 1) > 1:
                c["grouped " + op] += 1
        return c

    q, m = counts(query), counts(match)
    ops = sorted(set(q) | set(m), key=lambda o: (-abs(q[o] - m[o]), o))
    return tuple(OpDifference(o, q[o], m[o]) for o in ops[:top] if q[o] != m[o])


def _short(n: int) -> str:
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.1f}{unit}"
    return str(n)


def _summary(qb: BlockStages, mb: BlockStages, motifs: tuple[MotifShare, ...], diffs: tuple[OpDifference, ...],
             params: tuple[int, int]) -> str:
    differs: list[str] = []
    q_counts, m_counts = "-".join(map(str, qb.counts)), "-".join(map(str, mb.counts))
    if qb.counts and qb == mb:
        both = qb.describe()
    elif qb.counts and qb.counts == mb.counts:
        both = f"{len(qb.counts)} stages of blocks {q_counts}" if len(qb.counts) > 1 else f"{q_counts} blocks"
        differs.append(f"{qb.kind} vs {mb.kind} blocks")
    elif qb.kind and qb.kind == mb.kind:
        both = f"{qb.kind} blocks"
        differs.append(f"blocks {q_counts} vs {m_counts}")
    elif motifs:
        both = f"{motifs[0].name} (x{motifs[0].query} vs x{motifs[0].match})"
    else:
        both = "no shared block"
    differs += [f"{d.op} {d.query} vs {d.match}" for d in diffs[:2]]
    if not diffs and min(params) > 0 and max(params) > 1.1 * min(params):  # same ops, other widths
        differs.append(f"widths ({_short(params[0])} vs {_short(params[1])} parameters)")
    return f"both: {both}; differs: {', '.join(differs) or 'nothing in op counts'}"


def explain(query: Graph, match: Graph) -> Explanation:
    """Why ``match`` is near ``query``: shared blocks and motifs, op-count differences, stats side by side."""
    qb, mb = block_stages(query), block_stages(match)
    motifs = shared_motifs(query, match)
    diffs = op_differences(query, match)
    stats = {"parameters": (int(query.num_params), int(match.num_params)),
             "flops": (int(query.flops), int(match.flops)),
             "nodes": (query.num_nodes, match.num_nodes),
             "depth": (depth(query), depth(match))}
    return Explanation(_summary(qb, mb, motifs, diffs, stats["parameters"]), motifs, diffs, stats, qb, mb)
