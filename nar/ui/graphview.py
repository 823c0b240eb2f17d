"""The data behind the graph view: two graphs as macro graphs (motif nodes) and as operator graphs, laid out.

Both graphs of a pair are segmented with one `MotifVocab` fitted on the pair with the settings of
`nar_model.explain.shared_motifs`, so a motif has the same token in both and the motifs highlighted as
shared are the ones the explanation lists (those of at least `MIN_SHARED` operators).
Consecutive occurrences of one motif (a stack of identical blocks) collapse into one macro node whose
``count`` is the number of occurrences; the page sizes nodes by it. Layout is computed here, not in the
browser: nodes are layered by longest path from the inputs (``layer``) and spread within a layer (``pos``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from nar_data.schema import Graph
from nar_model.macro import macro_edges
from nar_model.motifs import MotifVocab, Segmentation

__all__ = ["graph_pair", "layered_layout", "macro_view", "motif_label", "op_view", "segment_pair", "shared_tokens"]

#: An op graph bigger than this is sent as its macro graph only (a browser draws ~20k points fluently).
MAX_OP_NODES = 20000
#: Smallest motif counted as shared (`nar_model.explain.shared_motifs`' ``min_size``): one lone op is no evidence.
MIN_SHARED = 3


def segment_pair(graphs: Sequence[Graph]) -> list[Segmentation]:
    """Segment ``graphs`` with one vocabulary fitted on them (the settings of `nar_model.explain.shared_motifs`)."""
    return MotifVocab(max_merges=200, max_size=16, min_count=4).fit(list(graphs)).segment(list(graphs))


def shared_tokens(segs: Sequence[Segmentation]) -> set[int]:
    """Motif tokens of at least `MIN_SHARED` operators that occur in every segmentation of ``segs``."""
    sets = [{int(t) for t, n in zip(s.token.tolist(), s.size.tolist()) if n >= MIN_SHARED} for s in segs]
    return set.intersection(*sets) if sets else set()


def layered_layout(num_nodes: int, src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(layer, pos)`` per node: longest-path layer from the sources and the rank inside that layer.

    Edges must go forward in some topological order; a back edge (never produced by the tracer) is ignored.
    """
    from nar_model.motifs import topo_order

    src, dst = np.asarray(src, dtype=np.int64), np.asarray(dst, dtype=np.int64)
    order = topo_order(num_nodes, src, dst)
    rank = np.empty(num_nodes, dtype=np.int64)
    rank[order] = np.arange(num_nodes)
    layer = np.zeros(num_nodes, dtype=np.int64)
    fwd = rank[src] < rank[dst]
    src, dst = src[fwd], dst[fwd]
    by_dst = np.argsort(rank[dst], kind="stable")
    for s, d in zip(src[by_dst].tolist(), dst[by_dst].tolist()):  # dst in topological order: one pass
        if layer[s] + 1 > layer[d]:
            layer[d] = layer[s] + 1
    pos = np.zeros(num_nodes, dtype=np.int64)
    seen: Counter[int] = Counter()
    for node in order.tolist():
        pos[node] = seen[int(layer[node])]
        seen[int(layer[node])] += 1
    return layer, pos


def motif_label(ops: Sequence[str], limit: int = 4) -> str:
    """A motif's name as the explanation writes it: its compute ops, most frequent first, with counts
    (``conv2d x3, batch_norm x3, relu x2, add``); shape-only ops only when there is nothing else."""
    from nar_model.explain import SHAPE_OPS

    counts = Counter(o for o in ops if o not in SHAPE_OPS) or Counter(ops)
    if not counts:
        return "empty"
    return ", ".join(op if n == 1 else f"{op} x{n}" for op, n in counts.most_common(limit))


def _runs(seg: Segmentation, src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Group id of every segment: consecutive segments with one motif, linked by an edge, form one run."""
    msrc, mdst, _ = macro_edges(src, dst, seg.seg)
    linked = set(zip(msrc.tolist(), mdst.tolist()))
    group = np.zeros(seg.num_segments, dtype=np.int64)
    for s in range(1, seg.num_segments):
        same = seg.token[s] == seg.token[s - 1] and (s - 1, s) in linked
        group[s] = group[s - 1] if same else group[s - 1] + 1
    return group, np.bincount(group)


def macro_view(graph: Graph, seg: Segmentation, shared: set[int]) -> dict[str, Any]:
    """The macro graph of ``graph`` as JSON: runs of one motif are one node (``count`` occurrences).

    Node fields: ``id``, ``motif`` (vocabulary token, equal across a pair), ``label``, ``count``, ``ops``
    (operators in one occurrence), ``op_names`` (of one occurrence), ``shared``, ``layer``, ``pos``. Edges: ``source``,
    ``target``, ``weight`` (op edges between the two nodes).
    """
    src, dst = np.asarray(graph.src, dtype=np.int64), np.asarray(graph.dst, dtype=np.int64)
    group, counts = _runs(seg, src, dst)
    node_group = group[seg.seg]
    gsrc, gdst, weight = macro_edges(src, dst, node_group)
    layer, pos = layered_layout(len(counts), gsrc, gdst)
    first_seg = np.searchsorted(group, np.arange(len(counts)))
    nodes = []
    for g in range(len(counts)):
        s = int(first_seg[g])
        members = np.flatnonzero(seg.seg == s)
        ops = [graph.op_name[i] for i in members.tolist()]
        motif = int(seg.token[s])
        nodes.append({"id": g, "motif": motif, "label": motif_label(ops), "count": int(counts[g]), "ops": len(ops),
                      "op_names": ops[:64], "shared": motif in shared, "layer": int(layer[g]), "pos": int(pos[g])})
    edges = [{"source": int(a), "target": int(b), "weight": float(w)} for a, b, w in zip(gsrc, gdst, weight)]
    return {"nodes": nodes, "edges": edges}


def op_view(graph: Graph, seg: Segmentation, shared: set[int]) -> dict[str, Any] | None:
    """The operator graph as JSON (node ``op``, ``group`` = its macro node, ``shared``, ``layer``, ``pos``),
    or None when it has more than `MAX_OP_NODES` nodes."""
    if graph.num_nodes > MAX_OP_NODES:
        return None
    src, dst = np.asarray(graph.src, dtype=np.int64), np.asarray(graph.dst, dtype=np.int64)
    group, _ = _runs(seg, src, dst)
    layer, pos = layered_layout(graph.num_nodes, src, dst)
    tokens = seg.token[seg.seg]
    return {"nodes": [{"id": i, "op": graph.op_name[i], "group": int(group[seg.seg[i]]),
                       "shared": int(tokens[i]) in shared, "layer": int(layer[i]), "pos": int(pos[i])}
                      for i in range(graph.num_nodes)],
            "edges": [{"source": int(a), "target": int(b)} for a, b in zip(src.tolist(), dst.tolist())]}


def graph_pair(query: Graph, match: Graph) -> dict[str, Any]:
    """``{"query": {...}, "match": {...}, "shared": [motif tokens]}``: each side has ``title``, ``arch_id``,
    ``nodes``, ``macro`` (`macro_view`) and ``ops`` (`op_view`)."""
    seg_q, seg_m = segment_pair([query, match])
    shared = shared_tokens([seg_q, seg_m])

    def side(g: Graph, s: Segmentation) -> dict[str, Any]:
        return {"title": g.model_id, "arch_id": g.arch_id, "nodes": g.num_nodes, "macro": macro_view(g, s, shared),
                "ops": op_view(g, s, shared)}

    return {"query": side(query, seg_q), "match": side(match, seg_m), "shared": sorted(shared)}
