"""Why a match matches, as JSON for the page: shared motifs, op-type differences, sizes side by side, a summary.

The two graphs are segmented with one motif vocabulary (see `nar.ui.graphview.segment_pair`), so a motif
key means the same block in both. Depth is the longest path of the operator graph, in operators.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from nar_data.schema import Graph
from nar_model.motifs import Segmentation

from .graphview import layered_layout, motif_label

__all__ = ["explain_pair", "graph_depth"]


def graph_depth(graph: Graph) -> int:
    """Operators on the longest input-to-output path."""
    if graph.num_nodes == 0:
        return 0
    layer, _ = layered_layout(graph.num_nodes, graph.src, graph.dst)
    return int(layer.max()) + 1


def _motifs(graph: Graph, seg: Segmentation) -> dict[int, tuple[str, int, int]]:
    """``key -> (label, occurrences, ops per occurrence)``."""
    out: dict[int, tuple[str, int, int]] = {}
    counts = Counter(seg.key.tolist())
    for s, key in enumerate(seg.key.tolist()):
        if key not in out:
            ops = [graph.op_name[i] for i in np.flatnonzero(seg.seg == s).tolist()]
            out[key] = (motif_label(ops), counts[key], len(ops))
    return out


def explain_pair(query: Graph, match: Graph, seg_q: Segmentation, seg_m: Segmentation,
                 top: int = 8) -> dict[str, Any]:
    """The explanation of ``match`` for ``query``.

    Returns ``{"shared_motifs": [{"key", "label", "ops", "query", "match"}], "shared_fraction", "op_diff":
    [{"op", "query", "match"}], "side_by_side": {"nodes"|"params"|"flops"|"depth": [query, match]},
    "summary"}``. ``shared_fraction`` is the share of the query's operators that lie in motifs the match
    also has; ``op_diff`` lists the op types whose counts differ most (largest absolute difference first).
    """
    mq, mm = _motifs(query, seg_q), _motifs(match, seg_m)
    shared_keys = [k for k in mq if k in mm]
    shared = sorted(({"key": k, "label": mq[k][0], "ops": mq[k][2], "query": mq[k][1], "match": mm[k][1]}
                     for k in shared_keys), key=lambda m: (-m["ops"] * min(m["query"], m["match"]), m["label"]))
    covered = sum(mq[k][1] * mq[k][2] for k in shared_keys)
    fraction = covered / max(query.num_nodes, 1)
    cq, cm = Counter(query.op_name), Counter(match.op_name)
    diff = sorted(({"op": op, "query": cq[op], "match": cm[op]} for op in set(cq) | set(cm) if cq[op] != cm[op]),
                  key=lambda d: (-abs(d["query"] - d["match"]), d["op"]))[:top]
    sides = {"nodes": [query.num_nodes, match.num_nodes], "params": [int(query.num_params), int(match.num_params)],
             "flops": [int(query.flops), int(match.flops)], "depth": [graph_depth(query), graph_depth(match)]}
    if query.arch_id == match.arch_id:
        summary = "identical graph: same operators, wiring and shapes"
    else:
        lead = f"{len(shared_keys)} shared motifs covering {100 * fraction:.0f}% of the query's operators"
        if shared:
            lead += f" (most: {shared[0]['label']} x{min(shared[0]['query'], shared[0]['match'])})"
        if diff:
            d = diff[0]
            lead += f"; biggest op difference {d['op']} {d['query']} vs {d['match']}"
        summary = lead
    return {"shared_motifs": shared[:top], "shared_count": len(shared_keys), "shared_fraction": round(fraction, 4),
            "op_diff": diff, "side_by_side": sides, "summary": summary}
