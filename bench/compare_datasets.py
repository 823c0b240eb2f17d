"""What changed between two traced datasets: models traced in one only, and graphs that differ.

A tracer or input-recipe change meant for a few models must leave every other graph as it was: trace the
same source into a new folder and compare (the `arch_id` is the WL hash of ops and shapes, so equal ids
mean equal graphs).

    .venv/bin/python bench/compare_datasets.py data/all-final data/tf-final2 --source transformers
    .venv/bin/python bench/compare_datasets.py data/all data/new --digest   # every field a trace decides

``--digest`` also compares `nar_data.fingerprint.graph_digest` of the graphs with equal ``arch_id``: node modules,
parameter counts, dtypes, edge order, FLOPs, capture method, input spec and labels, not only the WL hash.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nar_data.errors import SchemaError  # noqa: E402
from nar_data.parquet import read_table  # noqa: E402


def _latest(root: str, source: str) -> dict[str, dict]:
    """model_id -> its last row (a later run's row for the same model wins)."""
    rows = read_table(root, "models", ["model_id", "source", "config_hash", "arch_id", "status"]).to_pylist()
    return {r["model_id"]: r for r in rows if not source or r["source"] == source}


def _nodes(root: str, ids: set[str]) -> dict[str, int]:
    try:
        rows = read_table(root, "graphs", ["model_id", "num_nodes"]).to_pylist()
    except SchemaError:  # graphs of an older schema (a dataset traced before a tracer change): no node counts
        return {}
    return {r["model_id"]: r["num_nodes"] for r in rows if r["model_id"] in ids}


def _digests(root: str, ids: set[str]) -> dict[str, str]:
    from nar_data.fingerprint import graph_digest
    from nar_data.schema import Graph

    table = read_table(root, "graphs")
    keep = [i for i, m in enumerate(table.column("model_id").to_pylist()) if m in ids]
    out = {}
    for row in table.take(keep).to_pylist():  # a later row of a model wins, as in `_latest`
        out[row["model_id"]] = graph_digest(Graph.from_row(row))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("old")
    p.add_argument("new")
    p.add_argument("--source", default="", help="compare only this source's models")
    p.add_argument("--digest", action="store_true", help="also compare every field of graphs with equal arch_id")
    args = p.parse_args()
    old, new = _latest(args.old, args.source), _latest(args.new, args.source)
    ok_old = {m for m, r in old.items() if r["status"] == "ok"}
    ok_new = {m for m, r in new.items() if r["status"] == "ok"}
    both = ok_old & ok_new
    same_config = {m for m in both if old[m]["config_hash"] == new[m]["config_hash"]}
    changed = sorted(m for m in same_config if old[m]["arch_id"] != new[m]["arch_id"])
    print(f"ok in {args.old}: {len(ok_old)}, ok in {args.new}: {len(ok_new)}, ok in both: {len(both)}")
    print(f"same config hash: {len(same_config)}; same graph (arch_id): {len(same_config) - len(changed)}; "
          f"different graph: {len(changed)}")
    nodes_old, nodes_new = _nodes(args.old, set(changed)), _nodes(args.new, set(changed))
    for m in changed:
        print(f"  graph changed  {m}: {nodes_old.get(m)} -> {nodes_new.get(m)} nodes")
    if args.digest:
        equal = set(same_config) - set(changed)
        d_old, d_new = _digests(args.old, equal), _digests(args.new, equal)
        checked = [m for m in equal if m in d_old and m in d_new]  # a model that reused a config hash has no row
        differ = sorted(m for m in checked if d_old[m] != d_new[m])
        print(f"same arch_id with a graph row in both: {len(checked)}; identical in every field (graph_digest): "
              f"{len(checked) - len(differ)}; other fields differ: {len(differ)}")
        for m in differ:
            print(f"  fields differ  {m}")
    for m in sorted(both - same_config):
        print(f"  config changed {m}")
    for m in sorted(ok_new - ok_old):
        print(f"  now traced     {m}")
    for m in sorted(ok_old - ok_new):
        print(f"  no longer      {m} ({new[m]['status'] if m in new else 'no row'})")


if __name__ == "__main__":
    main()
