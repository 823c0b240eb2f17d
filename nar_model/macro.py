"""The macro graph (one node per motif occurrence) and the context of each motif.

Given a `Segmentation` of a graph, the macro graph is the quotient of the operator DAG: macro edge
``a -> b`` (``a != b``) exists iff some op edge runs from a node of segment ``a`` to a node of segment
``b``, and its weight is how many op edges do (docs/method.md §7.12: weighted, and the encoder reads
both directions). The context of a motif (§2.3) is its ``k``-hop neighbourhood in the op graph
outside the motif itself; `context_membership` returns it as (node, motif) pairs so contexts of all
motifs of a batch are pooled in one scatter.
"""

from __future__ import annotations

import numpy as np

__all__ = ["context_membership", "intra_edges", "macro_edges"]


def macro_edges(src: np.ndarray, dst: np.ndarray, seg: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(msrc, mdst, weight)`` of the macro graph; edges sorted, no self loops."""
    a = seg[np.asarray(src, dtype=np.int64)]
    b = seg[np.asarray(dst, dtype=np.int64)]
    cross = a != b
    if not cross.any():
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0, dtype=np.float32)
    pairs, counts = np.unique(np.stack([a[cross], b[cross]], axis=1), axis=0, return_counts=True)
    return pairs[:, 0], pairs[:, 1], counts.astype(np.float32)


def intra_edges(src: np.ndarray, dst: np.ndarray, seg: np.ndarray) -> np.ndarray:
    """Boolean mask of the op edges inside one motif (the edges of the motif subgraphs)."""
    return seg[np.asarray(src, dtype=np.int64)] == seg[np.asarray(dst, dtype=np.int64)]


def context_membership(num_nodes: int, src: np.ndarray, dst: np.ndarray, seg: np.ndarray,
                       k: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """``(node, motif)`` pairs: node is within ``k`` hops (either direction) of motif, and not in it.

    A motif whose context is empty (a graph that is one motif) has no pairs; callers mask it out.
    """
    src = np.asarray(src, dtype=np.int64)
    dst = np.asarray(dst, dtype=np.int64)
    und_s, und_d = np.concatenate([src, dst]), np.concatenate([dst, src])
    # frontier as (node, motif) pairs, expanded k times along undirected edges
    node, motif = np.arange(num_nodes, dtype=np.int64), np.asarray(seg, dtype=np.int64)
    cur = np.stack([node, motif], axis=1)
    order = np.argsort(und_s, kind="stable")
    und_s, und_d = und_s[order], und_d[order]
    starts = np.searchsorted(und_s, np.arange(num_nodes + 1))
    pairs = [cur]
    for _ in range(k):
        deg = starts[cur[:, 0] + 1] - starts[cur[:, 0]]
        rep = np.repeat(np.arange(len(cur)), deg)
        offs = np.arange(len(rep)) - np.repeat(np.cumsum(deg) - deg, deg)
        nxt = np.stack([und_d[starts[cur[rep, 0]] + offs], cur[rep, 1]], axis=1)
        nxt = _unique_pairs(nxt, num_nodes) if len(nxt) else nxt.reshape(0, 2)
        pairs.append(nxt)
        cur = nxt
    allp = _unique_pairs(np.concatenate(pairs), num_nodes)
    outside = seg[allp[:, 0]] != allp[:, 1]
    return allp[outside, 0], allp[outside, 1]


def _unique_pairs(pairs: np.ndarray, num_nodes: int) -> np.ndarray:
    """Distinct (node, motif) rows, sorted by motif then node (1-D unique on a packed key: fast)."""
    code = np.unique(pairs[:, 1] * (num_nodes + 1) + pairs[:, 0])
    return np.stack([code % (num_nodes + 1), code // (num_nodes + 1)], axis=1)
