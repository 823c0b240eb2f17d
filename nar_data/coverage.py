"""What a traced dataset covers: per-source success rates, timings, graph sizes, failure classes, dedup."""

from __future__ import annotations

import json
import os
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from .parquet import OnBadFiles, bad_shards, read_table

__all__ = ["coverage", "latest_models", "run_stats"]


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def latest_models(root: str | os.PathLike, on_bad_files: OnBadFiles = "error") -> dict[str, dict[str, Any]]:
    """The newest ``models`` row of each model id (the table is append-only; shards sort by time)."""
    return {row["model_id"]: row for row in read_table(root, "models", on_bad_files=on_bad_files).to_pylist()}


def coverage(root: str | os.PathLike, top_failures: int = 5) -> dict[str, Any]:
    """Per-source coverage of the dataset at ``root``; shards that cannot be read are left out and listed.

    Returns ``{"sources": {source: {...}}, "total": {...}, "bad_shards": [{"path", "reason"}]}`` with, per
    source: ``models``, ``ok``, ``failed``,
    ``pending`` (crawled, not traced yet), ``success`` (ok / (ok + failed)), ``seconds`` (median/p90 of traced graphs), ``nodes`` (median/p90/max), ``arch_ids``
    (distinct architectures among ok models) and ``failures`` (top ``stage/error_class`` with a sample message).
    """
    bad = [{"path": str(p), "reason": reason} for p, reason in bad_shards(root, ("models", "graphs", "failures"))]
    models = latest_models(root, "skip")
    graphs = read_table(root, "graphs", ["config_hash", "source", "seconds", "num_nodes", "arch_id", "capture"],
                        on_bad_files="skip").to_pydict()
    failures = read_table(root, "failures", ["model_id", "source", "stage", "error_class", "message"],
                          on_bad_files="skip").to_pylist()
    by_hash = {h: i for i, h in enumerate(graphs["config_hash"])}
    out: dict[str, Any] = {"sources": {}}
    per_source: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in models.values():
        per_source[row["source"]].append(row)
    failed_latest = {m for m, r in models.items() if r["status"] == "failed"}
    for source, rows in sorted(per_source.items()):
        ok = [r for r in rows if r["status"] == "ok"]
        idx = [by_hash[r["config_hash"]] for r in ok if r["config_hash"] in by_hash]
        secs = [graphs["seconds"][i] for i in idx]
        nodes = [graphs["num_nodes"][i] for i in idx]
        classes: Counter[str] = Counter()
        sample: dict[str, str] = {}
        for f in failures:
            if f["source"] == source and f["model_id"] in failed_latest:
                key = f"{f['stage']}/{f['error_class']}"
                classes[key] += 1
                sample.setdefault(key, f"{f['model_id']}: {f['message'][:160]}")
        failed_rows = [r for r in rows if r["status"] == "failed"]
        out["sources"][source] = {
            "models": len(rows), "ok": len(ok), "failed": len(failed_rows),
            "pending": len(rows) - len(ok) - len(failed_rows),  # crawled, not traced yet
            "success": len(ok) / (len(ok) + len(failed_rows)) if ok or failed_rows else 0.0,
            "seconds": {"median": _pct(secs, 50), "p90": _pct(secs, 90)},
            "nodes": {"median": _pct(nodes, 50), "p90": _pct(nodes, 90), "max": max(nodes, default=0)},
            "arch_ids": len({r["arch_id"] for r in ok}),
            "captures": dict(Counter(graphs["capture"][i] for i in idx)),
            "failures": [{"class": k, "count": n, "example": sample[k]} for k, n in classes.most_common(top_failures)],
        }
    total = [r for r in models.values() if r["status"] in ("ok", "failed")]
    ok_total = [r for r in total if r["status"] == "ok"]
    out["total"] = {"models": len(total), "ok": len(ok_total),
                    "success": len(ok_total) / len(total) if total else 0.0,
                    "arch_ids": len({r["arch_id"] for r in ok_total}), "graphs": len(graphs["config_hash"])}
    out["bad_shards"] = bad
    return out


def run_stats(root: str | os.PathLike) -> dict[str, Any]:
    """Speed and memory of the tracing runs saved under ``DIR/_runs`` (worker start excluded).

    ``per_source``: models/minute of wall time spent tracing, median/p90 seconds; ``top_rss``: the 5 models
    with the highest sampled worker RSS.
    """
    per_model: dict[str, dict[str, Any]] = {}
    for path in sorted(Path(root, "_runs").glob("trace-*.json")):
        for m in json.loads(path.read_text()).get("per_model", []):
            per_model[m["model_id"]] = m
    by_source: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for m in per_model.values():
        by_source[m["source"]].append(m)
    stats = {}
    for source, ms in sorted(by_source.items()):
        secs = [m["seconds"] for m in ms]
        stats[source] = {"models": len(ms), "median_s": _pct(secs, 50), "p90_s": _pct(secs, 90),
                         "models_per_min": 60 * len(ms) / sum(secs) if sum(secs) else float("nan"),
                         "max_rss_mib": max((m["peak_rss"] for m in ms), default=0) / 2**20}
    top = sorted(per_model.values(), key=lambda m: -m["peak_rss"])[:5]
    return {"per_source": stats,
            "top_rss": [{"model_id": m["model_id"], "rss_mib": m["peak_rss"] / 2**20, "ok": m["ok"]} for m in top]}
