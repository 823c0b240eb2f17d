"""Retrieval metrics: MRR@k, MAP@k, NDCG@k with the standard definitions, and the official variant.

Standard (docs/method.md §7.4), for one query with ``R`` relevant items in the database (the query
itself excluded from both the results and the relevant set) and binary relevance ``rel_1..rel_k`` of
its top-``k`` results:

* ``MRR@k``  = 1 / rank of the first relevant result (0 if none in the top k);
* ``AP@k``   = sum_{i<=k, rel_i} precision@i / min(R, k);
* ``NDCG@k`` = sum_{i<=k} rel_i / log2(i+1), divided by IDCG = sum_{i<=min(R,k)} 1 / log2(i+1).

The official code's variant ("legacy", §5.1): ``k-1`` results after dropping the query, AP divided
by the full class size ``R+1`` (the query still counted), IDCG over ``R+1`` items floored at 0.3.

Ties in similarity are broken by database index (a stable sort), so results are deterministic.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["KS", "ap_at_k", "bootstrap_ci", "evaluate", "graded_scores", "mrr_at_k", "ndcg_at_k", "rank_database",
           "shortlist_scores",
           "twin_ranks"]

KS = (20, 50, 100)
UNKNOWN = "unknown"


def mrr_at_k(rel: np.ndarray, k: int) -> float:
    """Reciprocal rank of the first relevant of ``rel[:k]`` (0 when none)."""
    hits = np.flatnonzero(np.asarray(rel[:k], dtype=bool))
    return 1.0 / float(hits[0] + 1) if len(hits) else 0.0


def ap_at_k(rel: np.ndarray, num_relevant: int, k: int, denominator: float | None = None) -> float:
    """Average precision over ``rel[:k]``, normalised by ``min(num_relevant, k)`` (or ``denominator``)."""
    r = np.asarray(rel[:k], dtype=np.float64)
    if num_relevant <= 0:
        return 0.0
    prec = np.cumsum(r) / np.arange(1, len(r) + 1)
    denom = denominator if denominator is not None else min(num_relevant, k)
    return float(np.sum(prec * r) / denom)


def ndcg_at_k(rel: np.ndarray, num_relevant: int, k: int, ideal: int | None = None, floor: float = 0.0) -> float:
    """Binary-gain NDCG over ``rel[:k]``; the ideal list holds ``min(num_relevant, k)`` (or ``ideal``) hits."""
    r = np.asarray(rel[:k], dtype=np.float64)
    if num_relevant <= 0:
        return 0.0
    dcg = float(np.sum(r / np.log2(np.arange(2, len(r) + 2))))
    n_ideal = ideal if ideal is not None else min(num_relevant, k)
    idcg = max(float(np.sum(1.0 / np.log2(np.arange(2, n_ideal + 2)))), floor)
    return dcg / idcg


def rank_database(query: np.ndarray, database: np.ndarray, exclude: int | None = None, k: int | None = None) -> np.ndarray:
    """Database indices by decreasing cosine (inner product of normalised rows), ``exclude`` dropped.

    Ties are broken by index (stable sort).
    """
    scores = database @ query
    order = np.argsort(-scores, kind="stable")
    if exclude is not None:
        order = order[order != exclude]
    return order if k is None else order[:k]


def evaluate(embeddings: np.ndarray, labels: Sequence[str], queries: Sequence[int] | None = None,
             ks: Sequence[int] = KS, legacy: bool = False) -> dict[str, float]:
    """Mean MRR/MAP/NDCG@k over ``queries`` (indices into ``embeddings``; default all).

    The database is every row; a query is skipped when its label is ``unknown`` or it has no other
    item of its label. Returns ``{"mrr@20": ..., "map@20": ..., "ndcg@20": ..., "queries": n}``.
    With ``legacy`` the official code's normalisations are used (see the module docstring).
    """
    emb = np.asarray(embeddings, dtype=np.float32)
    emb = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
    lab = np.asarray(labels, dtype=object)
    queries = range(len(lab)) if queries is None else queries
    kmax = max(ks)
    sums = {f"{m}@{k}": 0.0 for m in ("mrr", "map", "ndcg") for k in ks}
    n = 0
    for q in queries:
        q = int(q)
        if lab[q] in (UNKNOWN, ""):
            continue
        rel_all = lab == lab[q]
        R = int(rel_all.sum()) - 1
        if R < 1:
            continue
        top = rank_database(emb[q], emb, exclude=q, k=kmax)
        rel = rel_all[top]
        n += 1
        for k in ks:
            if legacy:
                r = rel[: k - 1]
                sums[f"mrr@{k}"] += mrr_at_k(r, k)
                sums[f"map@{k}"] += ap_at_k(r, R, k, denominator=R + 1)
                sums[f"ndcg@{k}"] += ndcg_at_k(r, R, k, ideal=R + 1, floor=0.3)
            else:
                sums[f"mrr@{k}"] += mrr_at_k(rel, k)
                sums[f"map@{k}"] += ap_at_k(rel, R, k)
                sums[f"ndcg@{k}"] += ndcg_at_k(rel, R, k)
    out = {key: (v / n if n else 0.0) for key, v in sums.items()}
    out["queries"] = n
    return out


def graded_scores(embeddings: np.ndarray, grades: np.ndarray, groups: np.ndarray, queries: Sequence[int],
                  ks: Sequence[int] = KS, min_grade: int = 2, scores: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Per-query MRR/MAP/NDCG@k with graded relevance and query groups.

    For query ``q`` the candidates are every graph outside ``q``'s group (its own group takes no
    rank). MAP and MRR count a candidate relevant when its grade is ``>= min_grade``, with ``R`` such
    candidates (AP normalised by ``min(R, k)``); NDCG uses gains ``2**grade - 1`` and the ideal
    ordering of the candidates' grades, cut at ``k``. Queries with ``R = 0`` are skipped. ``scores``
    (optional, (N, N), row ``q`` filled for every query) replaces the cosine of the embeddings, e.g.
    a shortlist re-ranked by a second embedding (`shortlist_scores`).

    Returns:
        ``{"query": (Q,) indices kept, "mrr@20": (Q,), "map@20": (Q,), "ndcg@20": (Q,), ...}``
    """
    emb = np.asarray(embeddings, dtype=np.float32)
    emb = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
    groups = np.asarray(groups)
    kmax = max(ks)
    discount = 1.0 / np.log2(np.arange(2, kmax + 2))
    out: dict[str, list[float]] = {f"{m}@{k}": [] for m in ("mrr", "map", "ndcg") for k in ks}
    kept: list[int] = []
    for q in queries:
        q = int(q)
        cand = groups != groups[q]
        g = np.asarray(grades[q], dtype=np.int64)
        rel_all = (g >= min_grade) & cand
        R = int(rel_all.sum())
        if R < 1:
            continue
        idx = np.flatnonzero(cand)
        sq = emb[idx] @ emb[q] if scores is None else scores[q, idx]
        top = idx[np.argsort(-sq, kind="stable")[:kmax]]
        rel, gain = rel_all[top], (2.0 ** g[top]) - 1.0
        ideal = np.sort((2.0 ** g[idx]) - 1.0)[::-1][:kmax]
        kept.append(q)
        for k in ks:
            out[f"mrr@{k}"].append(mrr_at_k(rel, k))
            out[f"map@{k}"].append(ap_at_k(rel, R, k))
            idcg = float(np.sum(ideal[:k] * discount[:len(ideal[:k])]))
            dcg = float(np.sum(gain[:k] * discount[:len(gain[:k])]))
            out[f"ndcg@{k}"].append(dcg / idcg if idcg > 0 else 0.0)
    res = {key: np.asarray(v, dtype=np.float64) for key, v in out.items()}
    res["query"] = np.asarray(kept, dtype=np.int64)
    return res


def twin_ranks(embeddings: np.ndarray, pairs: np.ndarray, groups: np.ndarray,
               queries: Sequence[int] | None = None, scores: np.ndarray | None = None,
               grades: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Rank of the twin when the other member of a pair is the query, both directions.

    The candidates of query ``q`` are the graphs outside its group (as in `graded_scores`); ties go
    to the smaller index. Pairs inside one group (collapsed twins) are skipped; with ``queries`` only
    those members act as the query; ``scores`` as in `graded_scores`.

    With ``grades`` the rank is **filtered** (as filtered ranks in link prediction): the query's other
    twins (grade 3) and the twin's own group (its head variants, ``arch_id`` duplicates) are not counted
    above it, since each is as right an answer as the twin itself. Without, every candidate counts (raw).

    Returns:
        ``(query, rank)``: (T,) query indices and (T,) 1-based ranks.
    """
    emb = np.asarray(embeddings, dtype=np.float32)
    emb = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
    groups = np.asarray(groups)
    allowed = None if queries is None else set(int(q) for q in queries)
    qs, ranks = [], []
    for a, b in np.asarray(pairs, dtype=np.int64).reshape(-1, 2):
        if groups[a] == groups[b]:
            continue
        for q, t in ((a, b), (b, a)):
            if allowed is not None and int(q) not in allowed:
                continue
            cand = groups != groups[q]
            if grades is not None:
                cand &= (np.asarray(grades[q]) < 3) & (groups != groups[t])
            s = emb @ emb[q] if scores is None else scores[q]
            idx = np.arange(len(s))
            better = cand & ((s > s[t]) | ((s == s[t]) & (idx < t)))
            qs.append(int(q))
            ranks.append(int(better.sum()) + 1)
    return np.asarray(qs, dtype=np.int64), np.asarray(ranks, dtype=np.int64)


def shortlist_scores(first: np.ndarray, second: np.ndarray, rows: Sequence[int], shortlist: int = 50) -> np.ndarray:
    """(N, N) scores (rows ``rows`` filled, others 0): each row's ``shortlist`` best by the cosine of
    ``first`` re-ordered by the cosine of ``second`` and put ahead of the rest, which keep their
    ``first`` order (the row itself counts as a shortlist member; query groups are dropped later).
    """
    def unit(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)

    a, b = unit(first), unit(second)
    rows = np.asarray(list(rows), dtype=np.int64)
    out = np.zeros((len(a), len(a)), dtype=np.float32)
    if not len(rows):
        return out
    s1 = a[rows] @ a.T
    k = min(int(shortlist), s1.shape[1])
    top = np.argpartition(-s1, k - 1, axis=1)[:, :k]
    s2 = np.take_along_axis(b[rows] @ b.T, top, axis=1)
    s1[np.arange(len(rows))[:, None], top] = 3.0 + s2  # cosines lie in [-1, 1]: the shortlist goes first
    out[rows] = s1
    return out


def bootstrap_ci(values: np.ndarray, resamples: int = 2000, seed: int = 0,
                 level: float = 0.95) -> tuple[float, float, float]:
    """``(lo, mean, hi)``: the mean of ``values`` and its percentile bootstrap CI over the entries.

    Pass per-query differences of two methods for a paired CI.
    """
    v = np.asarray(values, dtype=np.float64)
    if len(v) == 0:
        return 0.0, 0.0, 0.0
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, len(v), size=(resamples, len(v)))].mean(axis=1)
    a = (1.0 - level) / 2
    return float(np.quantile(means, a)), float(v.mean()), float(np.quantile(means, 1 - a))
