"""What changed between two traced datasets: models traced in one only, and graphs that differ.

A tracer or input-recipe change meant for a few models must leave every other graph as it was: trace the
same source into a new folder and compare (the `arch_id` is the WL hash of ops and shapes, so equal ids
mean equal graphs).

    .venv/bin/python bench/compare_datasets.py data/all-final data/tf-final2 --source transformers
    .venv/bin/python bench/compare_datasets.py data/all data/new --digest   # every field a trace decides

``--digest`` also compares `nar_data.fingerprint.graph_digest` of the graphs with equal ``arch_id``: node modules,
parameter counts, dtypes, edge order, FLOPs, capture method, input spec and labels, not only the WL hash.
``--classify`` says for every graph that differs (arch_id or digest) how: nodes the same or not, edges added and
removed by (source op -> target op), and whether every added edge leaves a tensor-creation op (tracer 2.1 links
``arange`` / ``zeros`` / ``full_like``... made inside forward to their consumers, which 2.0 left unconnected).

    .venv/bin/python bench/compare_datasets.py /work/data/all data/new --source timm --digest --classify
"""

from __future__ import annotations

import argparse
import collections
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


#: Ops that make a new tensor from sizes or a fill value (the ``*_like`` ones read only their input's metadata).
CREATION_OPS = frozenset(("arange", "zeros", "ones", "empty", "full", "empty_strided", "scalar_tensor", "linspace",
                          "logspace", "eye", "rand", "randn", "randint", "randperm", "zeros_like", "ones_like",
                          "empty_like", "full_like", "rand_like", "randn_like", "new_zeros", "new_ones", "new_empty",
                          "new_full", "tensor"))

_NODE_FIELDS = ("op_name", "shape", "dtype", "module", "attrs")
_GRAPH_FIELDS = ("num_params", "flops", "capture", "input_spec", "family", "coarse", "task")


def _graphs(root: str, ids: set[str]) -> dict[str, object]:
    from nar_data.schema import Graph

    table = read_table(root, "graphs")
    keep = [i for i, m in enumerate(table.column("model_id").to_pylist()) if m in ids]
    return {row["model_id"]: Graph.from_row(row) for row in table.take(keep).to_pylist()}


def classify(a: object, b: object) -> tuple[str, str]:
    """``(kind, details)`` of how graph ``b`` differs from ``a``; kind ``creation-edges`` = the same nodes and graph
    fields, no edge lost, the old edges in their old order, and every added edge leaving a `CREATION_OPS` node."""
    differ = [f for f in _NODE_FIELDS if list(getattr(a, f)) != list(getattr(b, f))]
    differ += [f for f in _GRAPH_FIELDS if getattr(a, f) != getattr(b, f)]
    if list(a.params) != list(b.params):
        differ.append("params")
    if differ:
        return "other", f"fields differ: {', '.join(differ)}; nodes {a.num_nodes} -> {b.num_nodes}"
    ea, eb = list(zip(a.src.tolist(), a.dst.tolist())), list(zip(b.src.tolist(), b.dst.tolist()))
    added = collections.Counter(eb) - collections.Counter(ea)
    removed = collections.Counter(ea) - collections.Counter(eb)
    kinds = collections.Counter((b.op_name[s], b.op_name[d]) for s, d in added.elements())
    lost = collections.Counter((a.op_name[s], a.op_name[d]) for s, d in removed.elements())
    text = ", ".join(f"{s}->{d} x{n}" for (s, d), n in kinds.most_common())
    remaining, kept = collections.Counter(ea), []
    for e in eb:  # the new edges minus the added ones, in order: the old list if nothing moved
        if remaining[e] > 0:
            remaining[e] -= 1
            kept.append(e)
    kept_order = kept == ea
    if not lost and kept_order and kinds and all(s in CREATION_OPS for s, _ in kinds):
        return "creation-edges", f"+{sum(kinds.values())} edges: {text}"
    if not kinds and not lost:
        return "other", "same nodes and edges" + ("" if ea == eb else ", edge order differs")
    return "other", f"added: {text or '-'}; removed: {', '.join(f'{s}->{d} x{n}' for (s, d), n in lost.items()) or '-'}" \
        + ("" if kept_order else "; old edge order not kept")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("old")
    p.add_argument("new")
    p.add_argument("--source", default="", help="compare only this source's models")
    p.add_argument("--digest", action="store_true", help="also compare every field of graphs with equal arch_id")
    p.add_argument("--classify", action="store_true", help="say how each differing graph differs (implies --digest)")
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
    differ: list[str] = []
    if args.digest or args.classify:
        equal = set(same_config) - set(changed)
        d_old, d_new = _digests(args.old, equal), _digests(args.new, equal)
        checked = [m for m in equal if m in d_old and m in d_new]  # a model that reused a config hash has no row
        differ = sorted(m for m in checked if d_old[m] != d_new[m])
        print(f"same arch_id with a graph row in both: {len(checked)}; identical in every field (graph_digest): "
              f"{len(checked) - len(differ)}; other fields differ: {len(differ)}")
        for m in differ:
            print(f"  fields differ  {m}")
    if args.classify:
        ids = set(changed) | set(differ)
        g_old, g_new = _graphs(args.old, ids), _graphs(args.new, ids)
        kinds: collections.Counter[str] = collections.Counter()
        for m in sorted(ids):
            if m not in g_old or m not in g_new:
                kinds["no graph row"] += 1
                print(f"  classify       {m}: no graph row in both (a reused config hash)")
                continue
            kind, details = classify(g_old[m], g_new[m])
            kinds[kind] += 1
            print(f"  classify       {m}: {kind}: {details}")
        print(f"classified {len(ids)} differing graphs: {dict(kinds)}")
    for m in sorted(both - same_config):
        print(f"  config changed {m}")
    for m in sorted(ok_new - ok_old):
        print(f"  now traced     {m}")
    for m in sorted(ok_old - ok_new):
        print(f"  no longer      {m} ({new[m]['status'] if m in new else 'no row'})")


if __name__ == "__main__":
    main()
