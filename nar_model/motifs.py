"""Motif mining: node codes in topological order, BPE-style merging with a global motif vocabulary.

The paper's idea (docs/method.md §2, with the fixes of §7.6-7.7):

1. every graph gets an explicit topological order (Kahn's algorithm, ties broken by traced order);
2. node ``i`` gets a *code* ``op|offsets``: its canonical op and the sorted offsets ``i - j`` to its
   predecessors ``j`` (capped at ``max_offset``; larger offsets read ``far``), so a code says both what
   a node does and how it is wired;
3. the code sequences of *all* training graphs are merged BPE-style: the most frequent adjacent pair
   of tokens becomes a new token, repeatedly, until no pair occurs ``min_count`` times, ``max_merges``
   merges were made or a merged token would span more than ``max_size`` nodes. The tokens form one
   global motif vocabulary; a repeated block (a ResNet bottleneck, a ViT layer) becomes one token and
   each of its occurrences a separate segment, i.e. a separate macro node;
4. `MotifVocab.segment` replays the learned merges on any graph (unseen ones included).

The released code's single-pass bigram change-point rule is kept as `legacy_segments` for
comparison, as are the split baselines of the paper's Table 2 (`chunk_segments`).

Merging is vectorised over all graphs at once (one numpy array with ``-1`` separators), and several
non-conflicting pairs are merged per counting round, so 5 000 graphs take seconds, not minutes.
"""

from __future__ import annotations

import heapq
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nar_data.schema import Graph

__all__ = ["MotifVocab", "Segmentation", "chunk_segments", "legacy_segments", "node_codes", "topo_order",
           "segment_graphs", "SPLITS"]

#: Segmentation methods (Table 2 of the paper): ours, the official rule and three naive splits.
SPLITS = ("bpe", "legacy", "node-num", "motif-num", "random")
UNK_CODE = 0
SEP = -1


def topo_order(num_nodes: int, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """A topological order of the nodes; ties go to the smaller node index (the traced order).

    Returns ``order`` with ``order[p]`` = node at position ``p``. Nodes on a cycle (should not happen)
    are appended in index order so the result is always a permutation.
    """
    src, dst = np.asarray(src, dtype=np.int64), np.asarray(dst, dtype=np.int64)
    if len(src) == 0 or bool(np.all(src < dst)):
        return np.arange(num_nodes, dtype=np.int64)  # traced order already is topological (the usual case)
    indeg = np.bincount(dst, minlength=num_nodes)
    succ: list[list[int]] = [[] for _ in range(num_nodes)]
    for s, d in zip(src.tolist(), dst.tolist()):
        succ[s].append(d)
    heap = [i for i in range(num_nodes) if indeg[i] == 0]
    heapq.heapify(heap)
    order: list[int] = []
    while heap:
        u = heapq.heappop(heap)
        order.append(u)
        for v in succ[u]:
            indeg[v] -= 1
            if indeg[v] == 0:
                heapq.heappush(heap, v)
    if len(order) < num_nodes:
        seen = set(order)
        order += [i for i in range(num_nodes) if i not in seen]
    return np.asarray(order, dtype=np.int64)


def node_codes(graph: Graph, order: np.ndarray | None = None, max_offset: int = 16,
               with_op: bool = True) -> list[str]:
    """The code of every node, listed in topological order: ``"op|1,7"`` (op + sorted predecessor offsets).

    ``with_op=False`` gives the official code's op-free codes (offsets only).
    """
    n = graph.num_nodes
    order = topo_order(n, graph.src, graph.dst) if order is None else order
    pos = np.empty(n, dtype=np.int64)
    pos[order] = np.arange(n)
    preds: list[list[int]] = [[] for _ in range(n)]
    ps, pd = pos[np.asarray(graph.src, dtype=np.int64)], pos[np.asarray(graph.dst, dtype=np.int64)]
    for s, d in zip(ps.tolist(), pd.tolist()):
        off = d - s
        preds[d].append(off if off <= max_offset else max_offset + 1)
    codes = []
    for p in range(n):
        offs = ",".join("far" if o > max_offset else str(o) for o in sorted(set(preds[p])))
        codes.append(f"{graph.op_name[order[p]]}|{offs}" if with_op else offs)
    return codes


@dataclass
class Segmentation:
    """A partition of one graph's nodes into contiguous runs of its topological order.

    ``seg[i]`` is the segment (macro node) of node ``i`` (original node index); segment ids follow the
    topological order. ``key[s]`` is a stable bucket id of segment ``s``'s content (its code sequence),
    identical for every occurrence of one motif in any graph; ``token[s]`` the motif-vocabulary id
    (BPE only; -1 elsewhere).
    """

    seg: np.ndarray  # (N,) int64
    key: np.ndarray  # (S,) int64
    token: np.ndarray  # (S,) int64
    size: np.ndarray  # (S,) int64 nodes per segment

    @property
    def num_segments(self) -> int:
        return len(self.key)


def _key(codes: Sequence[str], buckets: int) -> int:
    return 1 + zlib.crc32("\n".join(codes).encode()) % (buckets - 1)


def _from_bounds(order: np.ndarray, codes: list[str], starts: np.ndarray, tokens: np.ndarray | None,
                 buckets: int) -> Segmentation:
    n = len(order)
    starts = np.asarray(starts, dtype=np.int64)
    ends = np.append(starts[1:], n)
    seg_of_pos = np.repeat(np.arange(len(starts)), ends - starts)
    seg = np.empty(n, dtype=np.int64)
    seg[order] = seg_of_pos
    keys = np.asarray([_key(codes[a:b], buckets) for a, b in zip(starts.tolist(), ends.tolist())], dtype=np.int64)
    tok = np.full(len(starts), -1, dtype=np.int64) if tokens is None else np.asarray(tokens, dtype=np.int64)
    return Segmentation(seg=seg, key=keys, token=tok, size=ends - starts)


@dataclass
class MotifVocab:
    """The global motif vocabulary: initial node codes and the ordered list of learned merges.

    Attributes:
        codes: node code -> initial token id (0 = a code never seen in training).
        merges: ``(a, b, new)`` in the order they were learned; replayed in that order.
        size: nodes spanned by each token id (index = token id).
    """

    max_offset: int = 16  # predecessor offsets beyond this read "far"
    max_merges: int = 600  # upper bound on learned motifs
    max_size: int = 48  # a motif spans at most this many nodes
    min_count: int = 2  # stop when the best pair occurs fewer times
    per_round: int = 32  # non-conflicting pairs merged per counting round (speed)
    buckets: int = 4096  # motif key buckets (macro node identity feature)
    codes: dict[str, int] = field(default_factory=dict)
    merges: list[tuple[int, int, int]] = field(default_factory=list)
    size: list[int] = field(default_factory=list)

    # -- fitting -----------------------------------------------------------------------------------
    def fit(self, graphs: Sequence[Graph], progress: bool = False) -> "MotifVocab":
        """Learn the codes and merges from ``graphs``; returns ``self``."""
        seqs = [node_codes(g, max_offset=self.max_offset) for g in graphs]
        counts = Counter(c for s in seqs for c in s)
        self.codes = {c: i + 1 for i, (c, _) in enumerate(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))}
        self.size = [1] * (len(self.codes) + 1)
        self.merges = []
        tok = self._concat(seqs)
        size = np.asarray(self.size, dtype=np.int64)
        while len(self.merges) < self.max_merges:
            a, b = tok[:-1], tok[1:]
            ok = (a >= 0) & (b >= 0)
            ok &= size[np.maximum(a, 0)] + size[np.maximum(b, 0)] <= self.max_size
            if not ok.any():
                break
            keys = (a[ok] << 32) | b[ok]
            uniq, cnt = np.unique(keys, return_counts=True)
            best = np.argsort(-cnt, kind="stable")
            chosen: list[tuple[int, int]] = []
            used: set[int] = set()
            for j in best[: 4 * self.per_round].tolist():
                if cnt[j] < self.min_count or len(chosen) >= self.per_round:
                    break
                pa, pb = int(uniq[j] >> 32), int(uniq[j] & 0xFFFFFFFF)
                if pa in used or pb in used:
                    continue  # merging overlapping pairs in one round would depend on order
                used.update((pa, pb))
                chosen.append((pa, pb))
            if not chosen:
                break
            for pa, pb in chosen:
                if len(self.merges) >= self.max_merges:
                    break
                new = len(self.size)
                self.size.append(self.size[pa] + self.size[pb])
                self.merges.append((pa, pb, new))
                tok = _merge(tok, pa, pb, new)
            size = np.asarray(self.size, dtype=np.int64)
        return self

    def _concat(self, seqs: Sequence[Sequence[str]]) -> np.ndarray:
        parts = []
        for s in seqs:
            parts.extend(self.codes.get(c, UNK_CODE) for c in s)
            parts.append(SEP)
        return np.asarray(parts, dtype=np.int64)

    # -- applying ----------------------------------------------------------------------------------
    def segment(self, graphs: Sequence[Graph]) -> list[Segmentation]:
        """Segment each graph into occurrences of the vocabulary's motifs (all graphs in one pass)."""
        orders = [topo_order(g.num_nodes, g.src, g.dst) for g in graphs]
        seqs = [node_codes(g, o, self.max_offset) for g, o in zip(graphs, orders)]
        tok = self._concat(seqs)
        for pa, pb, new in self.merges:
            tok = _merge(tok, pa, pb, new)
        size = np.asarray(self.size, dtype=np.int64)
        width = np.where(tok >= 0, size[np.maximum(tok, 0)], 0)  # nodes covered by each remaining token
        out, start = [], 0
        for order, codes, end in zip(orders, seqs, np.flatnonzero(tok == SEP).tolist()):
            toks, w = tok[start:end], width[start:end]
            starts = np.concatenate([[0], np.cumsum(w)[:-1]]).astype(np.int64)
            out.append(_from_bounds(order, codes, starts, toks, self.buckets))
            start = end + 1
        return out

    @property
    def num_motifs(self) -> int:
        return len(self.size)

    def to_dict(self) -> dict[str, Any]:
        return {"max_offset": self.max_offset, "max_merges": self.max_merges, "max_size": self.max_size,
                "min_count": self.min_count, "per_round": self.per_round, "buckets": self.buckets,
                "codes": self.codes, "merges": [list(m) for m in self.merges], "size": list(self.size)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "MotifVocab":
        v = cls(**{k: d[k] for k in ("max_offset", "max_merges", "max_size", "min_count", "per_round", "buckets")})
        v.codes, v.size = dict(d["codes"]), list(d["size"])
        v.merges = [tuple(m) for m in d["merges"]]  # type: ignore[misc]
        return v


def _merge(tok: np.ndarray, a: int, b: int, new: int) -> np.ndarray:
    """Replace every non-overlapping adjacent ``(a, b)`` in ``tok`` by ``new``, left to right."""
    hit = np.flatnonzero((tok[:-1] == a) & (tok[1:] == b))
    if len(hit) == 0:
        return tok
    if a == b:  # runs "aaaa": pair positions 0-1, 2-3 of every run, never 1-2
        is_a = tok == a
        run_start = is_a & ~np.concatenate([[False], is_a[:-1]])
        start_idx = np.maximum.accumulate(np.where(run_start, np.arange(len(tok)), 0))
        hit = hit[(hit - start_idx[hit]) % 2 == 0]
    tok = tok.copy()
    tok[hit] = new
    keep = np.ones(len(tok), dtype=bool)
    keep[hit + 1] = False
    return tok[keep]


# -- the official rule and the naive splits ----------------------------------------------------------

def legacy_segments(codes: Sequence[str]) -> np.ndarray:
    """Start positions of the official single-pass rule (docs/method.md §2.1) on a code list."""
    ids: dict[str, int] = {}
    s = [ids.setdefault(c, len(ids)) for c in codes]
    n = len(s)
    if n < 3:
        return np.zeros(1, dtype=np.int64)
    bigrams = Counter(zip(s[:-1], s[1:]))
    f = [bigrams[(s[i], s[i + 1])] for i in range(n - 1)]
    diffs = Counter(abs(f[i + 1] - f[i]) for i in range(len(f) - 1) if f[i + 1] != f[i])
    thr = diffs.most_common(1)[0][0] if diffs else 0
    starts = [0]
    for i in range(len(f) - 1):
        if abs(f[i] - f[i + 1]) > thr:
            # a drop keeps the next element in the current segment, a rise starts a new one at it
            cut = i + 2 if f[i + 1] < f[i] else i + 1
            if cut < n and cut > starts[-1]:
                starts.append(cut)
    return np.asarray(starts, dtype=np.int64)


def chunk_segments(n: int, method: str, size: int = 16, count: int = 16,
                   rng: np.random.Generator | None = None) -> np.ndarray:
    """Start positions of the paper's naive splits: fixed ``size`` chunks (node-num), ``count`` equal
    chunks (motif-num) or chunk sizes uniform in 5..9 (random)."""
    if method == "node-num":
        return np.arange(0, max(n, 1), size, dtype=np.int64)
    if method == "motif-num":
        return np.unique(np.linspace(0, n, num=min(count, max(n, 1)), endpoint=False).astype(np.int64))
    if method == "random":
        rng = rng or np.random.default_rng(0)
        starts, p = [], 0
        while p < max(n, 1):
            starts.append(p)
            p += int(rng.integers(5, 10))
        return np.asarray(starts, dtype=np.int64)
    raise ValueError(f"Unknown split {method!r}; valid splits: {SPLITS}")


def segment_graphs(graphs: Sequence[Graph], method: str = "bpe", vocab: MotifVocab | None = None,
                   seed: int = 0, buckets: int = 4096) -> list[Segmentation]:
    """Segment ``graphs`` with ``method`` (one of `SPLITS`); ``bpe`` needs a fitted ``vocab``."""
    if method == "bpe":
        if vocab is None:
            raise ValueError("segment_graphs(method='bpe') needs a fitted MotifVocab (MotifVocab().fit(graphs))")
        return vocab.segment(graphs)
    if method not in SPLITS:
        raise ValueError(f"Unknown split {method!r}; valid splits: {SPLITS}")
    rng = np.random.default_rng(seed)
    out = []
    for g in graphs:
        order = topo_order(g.num_nodes, g.src, g.dst)
        codes = node_codes(g, order)
        if method == "legacy":
            starts = legacy_segments(node_codes(g, order, max_offset=10**9, with_op=False))
        else:
            starts = chunk_segments(g.num_nodes, method, rng=rng)
        out.append(_from_bounds(order, codes, starts, None, buckets))
    return out
