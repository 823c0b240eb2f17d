"""The data behind the dataset page: the figures of ``nar coverage`` (from `nar_data.coverage`, not
recomputed), the dataset's versions and the op-type histogram over distinct architectures."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

__all__ = ["dataset_summary", "op_histogram"]


def op_histogram(data: str | os.PathLike, top: int = 30) -> list[dict[str, Any]]:
    """``[{"op", "nodes", "graphs"}]`` over distinct architectures, most frequent ops first: ``nodes`` counts
    occurrences, ``graphs`` the architectures using the op at least once."""
    from nar_data.parquet import read_table

    table = read_table(data, "graphs", ["arch_id", "op_name"]).to_pydict()
    nodes: Counter[str] = Counter()
    graphs: Counter[str] = Counter()
    seen: set[str] = set()
    for aid, ops in zip(table["arch_id"], table["op_name"]):
        if aid in seen:
            continue
        seen.add(aid)
        nodes.update(ops)
        graphs.update(set(ops))
    return [{"op": op, "nodes": n, "graphs": graphs[op]} for op, n in nodes.most_common(top)]


def _versions(data: str | os.PathLike) -> dict[str, Any]:
    from nar_data.parquet import read_table

    table = read_table(data, "graphs", ["schema_version", "tracer_version", "vocab_version"]).to_pydict()
    id_file = Path(data) / "_runs" / "dataset-id"
    return {"dataset_id": id_file.read_text().strip() if id_file.is_file() else "",
            **{k: sorted(set(map(str, v))) for k, v in table.items()}}


def dataset_summary(data: str | os.PathLike, encoder_version: str) -> dict[str, Any]:
    """``{"coverage": nar_data.coverage.coverage(data), "runs": run_stats(data), "versions": {...},
    "ops": op_histogram(data)}``; NaN medians become None so the result is strict JSON."""
    from nar_data.coverage import coverage, run_stats

    def clean(x: Any) -> Any:
        if isinstance(x, float) and x != x:
            return None
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items()}
        if isinstance(x, list):
            return [clean(v) for v in x]
        return x

    versions = {**_versions(data), "encoder_version": encoder_version}
    return clean({"coverage": coverage(data), "runs": run_stats(data), "versions": versions,
                  "ops": op_histogram(data)})
