"""The leak-free retrieval protocol and the paper-shaped tables.

Protocol (nar_method.md §7.1-7.4): graphs deduplicated by ``arch_id``; families split into train and
held-out groups with a fixed seed (or group k-fold); each encoder is fit on the train families only,
then every graph is embedded; queries are held-out graphs with at least one other graph of their
family; the database is all graphs; cosine on L2-normalised vectors; the query is excluded from
results and relevant set. Every method runs on the same split with the same seed.
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
from .metrics import KS, evaluate
from .splits import family_kfold, family_split

__all__ = ["Method", "run_protocol", "table1_markdown", "table2_markdown"]

logger = logging.getLogger(__name__)


@dataclass
class Method:
    """A row of the table: ``label`` shown, ``encoder`` registry name, config ``overrides``."""

    label: str
    encoder: str
    overrides: dict[str, Any] = field(default_factory=dict)


def _mean(dicts: list[dict[str, float]]) -> dict[str, float]:
    return {k: float(np.mean([d[k] for d in dicts])) for k in dicts[0]}


def run_protocol(graphs: GraphSet, methods: Sequence[Method], config: EncoderConfig | None = None,
                 test_fraction: float = 0.3, folds: int = 0, seed: int = 0, ks: Sequence[int] = KS,
                 progress: bool = False) -> dict[str, dict[str, Any]]:
    """Fit and evaluate every method on the same family split(s).

    Args:
        folds: ``0`` = one split holding out ``test_fraction`` of the families; ``k >= 2`` = group
            k-fold, metrics averaged over folds.

    Returns:
        ``{label: {"standard": {...}, "legacy": {...}, "fit_s": float, "embed_ms": float, "queries": int}}``
    """
    config = (config or EncoderConfig()).replace(seed=seed)
    splits = family_kfold(graphs.families, folds, seed) if folds >= 2 else [family_split(graphs.families, test_fraction, seed)]
    results: dict[str, dict[str, Any]] = {}
    for method in methods:
        std, leg, fit_s, embed_ms, queries = [], [], 0.0, 0.0, 0
        for train, test in splits:
            enc = get_encoder(method.encoder, config, **method.overrides)
            t0 = time.perf_counter()
            enc.fit(graphs.subset(train), progress=progress)
            t1 = time.perf_counter()
            emb = enc.embed(graphs.graphs)
            t2 = time.perf_counter()
            fit_s += t1 - t0
            embed_ms += 1000 * (t2 - t1) / max(len(graphs), 1)
            s = evaluate(emb, graphs.families, test, ks)
            queries += int(s.pop("queries"))
            std.append(s)
            lg = evaluate(emb, graphs.families, test, ks, legacy=True)
            lg.pop("queries")
            leg.append(lg)
        results[method.label] = {"standard": _mean(std), "legacy": _mean(leg), "fit_s": fit_s,
                                 "embed_ms": embed_ms / len(splits), "queries": queries,
                                 "encoder": method.encoder, "overrides": method.overrides}
        logger.info("%s: %s", method.label, results[method.label]["standard"])
    return results


def _triple(metrics: dict[str, float], name: str, ks: Sequence[int]) -> str:
    return "/".join(f"{metrics[f'{name}@{k}']:.3f}" for k in ks)


def table1_markdown(by_data: dict[str, dict[str, dict[str, Any]]], ks: Sequence[int] = KS,
                    variant: str = "standard") -> str:
    """Paper Table 1 shape: rows = (data, method), columns = MRR / MAP / NDCG at each k."""
    kk = "/".join(map(str, ks))
    lines = [f"| Data | Method | MRR@{kk} | MAP@{kk} | NDCG@{kk} | queries | fit s | embed ms/graph |",
             "|---|---|---|---|---|---|---|---|"]
    for data, results in by_data.items():
        for label, r in results.items():
            m = r[variant]
            lines.append(f"| {data} | {label} | {_triple(m, 'mrr', ks)} | {_triple(m, 'map', ks)} | "
                         f"{_triple(m, 'ndcg', ks)} | {r['queries']} | {r['fit_s']:.1f} | {r['embed_ms']:.1f} |")
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
