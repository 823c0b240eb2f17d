"""The retrieval protocol: leak-free, grouped, graded, with bootstrap confidence intervals.

1. **Groups** (`relevance.query_groups`): head variants of one config and ``arch_id`` duplicates are
   one group; a query's own group is taken out of its candidate list (no hit, no rank).
2. **Relevance** (`relevance.Relevance`): grades 3 twin / 2 family / 1 kind+modality / 0; MAP and
   MRR count grade >= 2, NDCG uses the grades (`metrics.graded_scores`).
3. **Split units** (`splits.split_units`): families linked by a near-twin pair (training-free WL
   cosine >= ``near_twin``), a twin pair or a group are joined, so near-copies never straddle train
   and test. Units are dealt into ``folds`` (group k-fold) for every seed of ``seeds``; every method
   is fit on the train side only (family labels of the relevance; with ``transductive`` the test
   graphs are handed over too, unlabelled), then every graph is embedded and the test graphs are the
   queries against the whole database.
4. **Aggregation**: each query's metric is averaged over seeds (k-fold makes every labelled graph a
   query once per seed); the mean over queries gets a percentile bootstrap CI over queries, and
   `compare` gives the paired bootstrap CI of the difference between two methods.
5. **Twin benchmark** (`metrics.twin_ranks`): the rank of the twin when the other member is a test
   query: hit@1, hit@5, median rank. The headline ranks are **filtered** (the query's other twins and
   the twin's own group are not counted above it); the raw ranks (every candidate counts) are kept
   beside them as ``raw_hit@1`` / ``raw_hit@5`` / ``raw_median_rank``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .config import EncoderConfig
from .data import GraphSet
from .encoders import get_encoder
from .metrics import KS, bootstrap_ci, graded_scores, shortlist_scores, twin_ranks
from .relevance import Relevance, default_relevance, query_groups
from .splits import UNKNOWN, family_kfold, family_split, split_units

__all__ = ["Method", "Protocol", "compare", "run_protocol", "table1_markdown", "table2_markdown"]

logger = logging.getLogger(__name__)


@dataclass
class Method:
    """A row of the table: ``label`` shown, ``encoder`` registry name, config ``overrides``.

    With ``rerank`` (an encoder name, fit on the same training side with ``rerank_overrides``) each
    query's ``shortlist`` best by ``encoder`` are re-ordered by ``rerank``'s cosine (`shortlist_scores`):
    a row of its own, not the stored embedding.
    """

    label: str
    encoder: str
    overrides: dict[str, Any] = field(default_factory=dict)
    rerank: str | None = None
    rerank_overrides: dict[str, Any] = field(default_factory=dict)
    shortlist: int = 50


@dataclass
class Protocol:
    """The fixed parts of an evaluation, computed once per graph set and shared by every method."""

    graphs: GraphSet
    relevance: Relevance
    groups: np.ndarray
    grades: np.ndarray
    twins: np.ndarray
    units: list[str]
    near_pairs: int

    @classmethod
    def build(cls, graphs: GraphSet, relevance: Relevance | None = None, near_twin: float = 0.95) -> "Protocol":
        """Groups, grades, twins and split units of ``graphs`` (near-twins by WL cosine >= ``near_twin``)."""
        rel = relevance or default_relevance(graphs.graphs)
        if len(rel.family) != len(graphs):
            raise ValueError(f"relevance has {len(rel.family)} labels for {len(graphs)} graphs; build it from "
                             "the same graph list")
        groups = query_groups(graphs.graphs)
        twins = rel.twin_index(graphs.graphs)
        links = [twins, _group_links(groups)]
        near = np.zeros((0, 2), dtype=np.int64)
        if near_twin < 1.0 and len(graphs) > 1:
            wl = get_encoder("wl").embed(graphs.graphs)
            sim = wl @ wl.T
            i, j = np.nonzero(np.triu(sim >= near_twin, 1))
            near = np.stack([i, j], 1)
            links.append(near)
        units = split_units(rel.family, np.concatenate(links))
        return cls(graphs, rel, groups, rel.grades(graphs.graphs, groups), twins, units, len(near))

    def splits(self, folds: int, seed: int, test_fraction: float = 0.3) -> list[tuple[np.ndarray, np.ndarray]]:
        return family_kfold(self.units, folds, seed) if folds >= 2 else [family_split(self.units, test_fraction, seed)]

    def train_set(self, index: np.ndarray, unlabelled: np.ndarray | None = None) -> GraphSet:
        """The training graphs relabelled with the relevance families (what the encoders learn), then the
        ``unlabelled`` graphs with family and coarse label ``unknown`` (structure visible, labels not)."""
        fam, graphs = self.relevance.family, self.graphs.graphs
        out = [graphs[int(i)].replace(family=fam[int(i)]) for i in index]
        if unlabelled is not None:
            out += [graphs[int(i)].replace(family=UNKNOWN, coarse=UNKNOWN) for i in unlabelled]
        return GraphSet(out)


def _group_links(groups: np.ndarray) -> np.ndarray:
    pairs = []
    for gid in np.unique(groups):
        idx = np.flatnonzero(groups == gid)
        pairs += [(idx[0], j) for j in idx[1:]]
    return np.asarray(pairs, dtype=np.int64).reshape(-1, 2)


def run_protocol(graphs: GraphSet, methods: Sequence[Method], config: EncoderConfig | None = None,
                 test_fraction: float = 0.3, folds: int = 0, seed: int = 0, ks: Sequence[int] = KS,
                 progress: bool = False, seeds: Sequence[int] | None = None, relevance: Relevance | None = None,
                 near_twin: float = 0.95, resamples: int = 2000, protocol: Protocol | None = None,
                 transductive: bool = False) -> dict[str, dict[str, Any]]:
    """Fit and evaluate every method on the same splits (see the module docstring).

    Args:
        folds: ``0`` = one split holding out ``test_fraction`` of the labelled graphs; ``k >= 2`` =
            group k-fold over split units.
        seeds: split and training seeds (default ``[seed]``); per-query metrics are averaged over them.
        relevance: the labels (default: `default_relevance` of the graphs' own fields).
        protocol: a prebuilt `Protocol` for ``graphs`` (skips recomputing groups and near-twins).
        transductive: also hand the test graphs to ``fit``, labelled ``unknown`` (label-free statistics
            such as a motif vocabulary or a basis may use them, as ``nar train`` on a whole dataset does;
            no test label is ever seen). ``False``: the test graphs stay unseen until embedding.

    Returns:
        ``{label: {"standard": {metric: mean}, "ci": {metric: [lo, hi]}, "per_query": {metric: [Q values]},
        "query": [Q indices], "twins": {...}, "twin_ranks": [T], "queries": Q, "fit_s", "embed_ms", ...}}``
        (plain lists and floats: JSON-ready)
    """
    proto = protocol or Protocol.build(graphs, relevance, near_twin)
    seeds = list(seeds) if seeds is not None else [seed]
    config = config or EncoderConfig()
    results: dict[str, dict[str, Any]] = {}
    for method in methods:
        per_q: dict[int, list[dict[str, float]]] = {}
        twin_q: dict[tuple[int, int], list[int]] = {}
        twin_raw: dict[tuple[int, int], list[int]] = {}
        fit_s = embed_ms = 0.0
        runs = 0
        for s in seeds:
            for train, test in proto.splits(folds, s, test_fraction):
                enc = get_encoder(method.encoder, config.replace(seed=s), **method.overrides)
                t0 = time.perf_counter()
                train_set = proto.train_set(train, test if transductive else None)
                enc.fit(train_set, progress=progress)
                second = None
                if method.rerank:
                    second = get_encoder(method.rerank, config.replace(seed=s), **method.rerank_overrides)
                    second.fit(train_set, progress=progress)
                t1 = time.perf_counter()
                emb = enc.embed(graphs.graphs)
                emb2 = second.embed(graphs.graphs) if second is not None else None
                fit_s += t1 - t0
                embed_ms += 1000 * (time.perf_counter() - t1) / max(len(graphs), 1)
                runs += 1
                queries = [int(i) for i in test if proto.relevance.family[int(i)] != UNKNOWN]
                full = None if emb2 is None else shortlist_scores(emb, emb2, queries, method.shortlist)
                sc = graded_scores(emb, proto.grades, proto.groups, queries, ks, scores=full)
                for n, q in enumerate(sc["query"]):
                    per_q.setdefault(int(q), []).append({k: float(v[n]) for k, v in sc.items() if k != "query"})
                pair_of = _pair_keys(proto.twins, proto.groups, queries)
                for store, grades in ((twin_q, proto.grades), (twin_raw, None)):
                    _, tr = twin_ranks(emb, proto.twins, proto.groups, queries, scores=full, grades=grades)
                    for key, r in zip(pair_of, tr):
                        store.setdefault(key, []).append(int(r))
        results[method.label] = _summarise(method, per_q, twin_q, twin_raw, fit_s / max(runs, 1),
                                           embed_ms / max(runs, 1), resamples)
        logger.info("%s: %s", method.label, results[method.label]["standard"])
    return results


def _pair_keys(pairs: np.ndarray, groups: np.ndarray, queries: Sequence[int]) -> list[tuple[int, int]]:
    """(query, twin) keys in the order `twin_ranks` yields its ranks."""
    allowed = set(queries)
    out = []
    for a, b in pairs:
        if groups[a] == groups[b]:
            continue
        out += [(int(q), int(t)) for q, t in ((a, b), (b, a)) if int(q) in allowed]
    return out


def _twin_summary(ranks: np.ndarray, prefix: str = "") -> dict[str, float]:
    return {f"{prefix}hit@1": float(np.mean(ranks <= 1)) if len(ranks) else 0.0,
            f"{prefix}hit@5": float(np.mean(ranks <= 5)) if len(ranks) else 0.0,
            f"{prefix}median_rank": float(np.median(ranks)) if len(ranks) else 0.0}


def _summarise(method: Method, per_q: dict[int, list[dict[str, float]]], twin_q: dict[tuple[int, int], list[int]],
               twin_raw: dict[tuple[int, int], list[int]], fit_s: float, embed_ms: float,
               resamples: int) -> dict[str, Any]:
    qs = np.asarray(sorted(per_q), dtype=np.int64)
    keys = list(next(iter(per_q.values()))[0]) if per_q else []
    arrays = {k: np.asarray([np.mean([d[k] for d in per_q[int(q)]]) for q in qs]) for k in keys}
    cis = {k: bootstrap_ci(v, resamples) for k, v in arrays.items()}
    ranks = np.asarray([np.median(twin_q[key]) for key in sorted(twin_q)], dtype=np.float64)
    raw = np.asarray([np.median(twin_raw[key]) for key in sorted(twin_raw)], dtype=np.float64)
    twins = {"pairs": len(ranks), **_twin_summary(ranks), **_twin_summary(raw, "raw_")}
    return {"standard": {k: c[1] for k, c in cis.items()}, "ci": {k: [c[0], c[2]] for k, c in cis.items()},
            "per_query": {k: v.tolist() for k, v in arrays.items()}, "query": qs.tolist(), "twins": twins,
            "twin_ranks": ranks.tolist(), "twin_ranks_raw": raw.tolist(), "queries": len(qs),
            "fit_s": fit_s, "embed_ms": embed_ms, "encoder": method.encoder, "overrides": method.overrides,
            **({"rerank": method.rerank, "shortlist": method.shortlist} if method.rerank else {})}


def compare(a: dict[str, Any], b: dict[str, Any], metric: str = "map@20", resamples: int = 2000,
            seed: int = 0) -> tuple[float, float, float]:
    """Paired bootstrap ``(lo, mean, hi)`` of ``a - b`` on ``metric`` over the queries both answered."""
    common, ia, ib = np.intersect1d(a["query"], b["query"], return_indices=True)
    if not len(common):
        return 0.0, 0.0, 0.0
    diff = np.asarray(a["per_query"][metric])[ia] - np.asarray(b["per_query"][metric])[ib]
    return bootstrap_ci(diff, resamples, seed)


def _triple(metrics: dict[str, float], name: str, ks: Sequence[int]) -> str:
    return "/".join(f"{metrics[f'{name}@{k}']:.3f}" for k in ks if f"{name}@{k}" in metrics)


def table1_markdown(by_data: dict[str, dict[str, dict[str, Any]]], ks: Sequence[int] = KS,
                    variant: str = "standard") -> str:
    """Paper Table 1 shape: rows = (data, method), columns = MRR / MAP / NDCG at each k, CIs at k = 20."""
    kk = "/".join(map(str, ks))
    lines = [f"| Data | Method | MRR@{kk} | MAP@{kk} | NDCG@{kk} | MAP@20 95% CI | NDCG@20 95% CI | twin hit@1/@5 (raw @5) "
             "| queries | fit s | embed ms/graph |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for data, results in by_data.items():
        for label, r in results.items():
            m, ci, tw = r[variant], r.get("ci", {}), r.get("twins", {})

            def span(key: str) -> str:
                return f"[{ci[key][0]:.3f}, {ci[key][1]:.3f}]" if key in ci else ""

            raw = f" ({tw['raw_hit@5']:.2f})" if "raw_hit@5" in tw else ""
            twin = f"{tw['hit@1']:.2f}/{tw['hit@5']:.2f}{raw} ({tw['pairs']})" if tw.get("pairs") else "-"
            lines.append(f"| {data} | {label} | {_triple(m, 'mrr', ks)} | {_triple(m, 'map', ks)} | "
                         f"{_triple(m, 'ndcg', ks)} | {span('map@20')} | {span('ndcg@20')} | {twin} | "
                         f"{r['queries']} | {r['fit_s']:.1f} | {r['embed_ms']:.1f} |")
    return "\n".join(lines)


def table2_markdown(by_data: dict[str, dict[str, dict[str, Any]]], ks: Sequence[int] = KS) -> str:
    """Paper Table 2 shape: rows = split method, columns = (data x metric)."""
    datas = list(by_data)
    header = "| Split | " + " | ".join(f"{d} MRR | {d} MAP | {d} NDCG" for d in datas) + " |"
    lines = [header, "|---|" + "---|" * (3 * len(datas))]
    labels = list(next(iter(by_data.values())))
    for label in labels:
        cells = []
        for d in datas:
            m = by_data[d][label]["standard"]
            cells += [_triple(m, "mrr", ks), _triple(m, "map", ks), _triple(m, "ndcg", ks)]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
