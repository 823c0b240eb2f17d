"""Retrieval benchmark: the shipped `nar`, its ablations and the baselines, one protocol, CIs, JSON.

Protocol (nar_model/evaluation.py): head variants and arch_id duplicates grouped (a query never sees
its own group), families joined where near-twins (WL cosine >= 0.95) or twins cross them, group
k-fold over those units for several seeds, graded relevance from the catalog's taxonomy and twin
table (nar_data.taxonomy; the graphs' own labels when it is absent), bootstrap 95 % CIs over queries
and the paired CI of every method's difference to the best training-free row.

    .venv/bin/python bench/retrieval_bench.py --data data/nar --json bench/results/retrieval-demo.json
    .venv/bin/python bench/retrieval_bench.py --data data/full --methods wl,wl_motif,nar --seeds 0
    .venv/bin/python bench/retrieval_bench.py --hgnas 300    # the synthetic hgnas benchmark (docs/generation.md)
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nar_model.config import EncoderConfig
from nar_model.data import load_graphs
from nar_model.evaluation import Method, Protocol, compare, run_protocol, table1_markdown
from nar.relevance import SOURCE, catalog_relevance

#: Every row the bench knows: ``name -> Method``; the JSON keys are these names.
METHODS = {
    "wl": Method("wl", "wl"),
    "wl_motif": Method("wl_motif", "wl_motif"),
    "gcn": Method("gcn", "gcn"),
    "gat": Method("gat", "gat"),
    "gin": Method("gin", "gin"),
    "nar": Method("nar", "nar"),
    # ablations of the shipped encoder (v6: the level-3 canonical view: op / motif / size tokens, size tokens with their
    # depth class, + the stored graph's op tokens and the input shapes; binary presence; shares 1 / 1 / 2.5 / 0.75 / 0.25;
    # SVD basis per block of channels of the graphs given to fit, 512 dims; no neighbourhood stage)
    # the previous shipped encoders: v5 (the stored graph's op channel `raw` at share 1, token state version 5) and
    # v4 (v5 on the level-2 canonical view, token state version 4)
    "nar/v5": Method("nar/v5", "nar", {"token_shares": "size=2.5,input=0.25"}),
    "nar/v4": Method("nar/v4", "nar", {"token_canon_level": 2, "token_shares": "size=2.5,input=0.25"}),
    "nar/v4+rerank50": Method("nar/v4+rerank50", "nar", {"token_canon_level": 2, "token_shares": "size=2.5,input=0.25"},
                              rerank="wl_tokens", shortlist=50,
                              rerank_overrides={"token_canon_level": 2, "token_shares": "size=2.5,input=0.25"}),
    "nar/v3": Method("nar/v3", "nar", {"token_canon_level": 1, "token_size_depth": False,
                                       "token_channels": "op,motif,size,raw", "token_shares": "size=1.5",
                                       "token_blocks": "", "token_smooth_k": 3}),
    "nar/joint-basis": Method("nar/joint-basis", "nar", {"token_blocks": ""}),
    "nar/canon-v1": Method("nar/canon-v1", "nar", {"token_canon_level": 1}),
    "nar/no-depth": Method("nar/no-depth", "nar", {"token_size_depth": False}),
    "nar/no-input": Method("nar/no-input", "nar", {"token_channels": "op,motif,size,raw"}),
    "nar/size-1.5": Method("nar/size-1.5", "nar", {"token_shares": "size=1.5,input=0.25,raw=0.75"}),
    "nar/+smooth": Method("nar/+smooth", "nar", {"token_smooth_k": 3}),
    "nar/v2": Method("nar/v2", "nar", {"token_channels": "op,motif,size", "token_tf": "log1p", "dim": 256,
                                       "token_shares": "", "token_smooth_k": 0, "token_canon_level": 1,
                                       "token_size_depth": False, "token_blocks": ""}),
    "nar/log1p": Method("nar/log1p", "nar", {"token_tf": "log1p"}),
    "nar/equal-shares": Method("nar/equal-shares", "nar", {"token_shares": ""}),
    "nar/no-raw": Method("nar/no-raw", "nar", {"token_channels": "op,motif,size,input"}),
    "nar/+rmotif": Method("nar/+rmotif", "nar", {"token_channels": "op,motif,size,raw,input,rmotif",
                                                 "token_blocks": "op+raw+rmotif=160,motif=64,size=256,input=32"}),
    "nar/no-canon": Method("nar/no-canon", "nar", {"token_canon": False, "token_channels": "op,motif,size,input"}),
    "nar/no-size": Method("nar/no-size", "nar", {"token_channels": "op,motif,raw,input"}),
    "nar/v1": Method("nar/v1", "nar", {"token_canon": False, "token_channels": "op,motif", "token_tf": "log1p",
                                       "dim": 256, "token_shares": "", "token_smooth_k": 0, "token_size_depth": False,
                                       "token_blocks": ""}),
    "nar/no-basis": Method("nar/no-basis", "wl_tokens"),
    # the stored 512-dim `nar` vector's top 50 re-ranked by its own training-free tokens (issue 16 item 5: a
    # training-free channel re-ranking a shortlist, its own row, never the stored embedding)
    "nar+rerank50": Method("nar+rerank50", "nar", rerank="wl_tokens", shortlist=50),
    "nar+rerank20": Method("nar+rerank20", "nar", rerank="wl_tokens", shortlist=20),
    "nar/dim256": Method("nar/dim256", "nar", {"dim": 256}),
    "nar/supervised": Method("nar/supervised", "nar", {"token_epochs": 60}),
    "nar/supervised-family-only": Method("nar/supervised-family-only", "nar", {"token_epochs": 60, "ce_weight": 0.0}),
    "nar/random-basis": Method("nar/random-basis", "nar", {"token_basis": "random"}),
    "nar/idf": Method("nar/idf", "nar", {"idf": True}),
    "nar/no-attrs": Method("nar/no-attrs", "nar", {"token_attrs": False}),
    "nar/op-tokens-only": Method("nar/op-tokens-only", "nar", {"token_channels": "op"}),
    # the paper's two-stage design, learned vector alone (no histograms padded in)
    "nar-paper": Method("nar-paper", "nar-paper", {"hist_weight": 0.0}),
    "nar-paper/no-motif-stage": Method("nar-paper/no-motif-stage", "nar-paper", {"hist_weight": 0.0, "motif_epochs": 0}),
    "nar-paper/untrained": Method("nar-paper/untrained", "nar-paper",
                                  {"hist_weight": 0.0, "motif_epochs": 0, "epochs": 0}),
}
BASELINES = ("wl", "wl_motif")
ABLATIONS = ("nar/v5,nar/v4,nar/v3,nar/joint-basis,nar/canon-v1,nar/no-depth,nar/no-input,nar/size-1.5,nar/+smooth,nar/v2,nar/log1p,nar/equal-shares,nar/no-raw,nar/+rmotif,nar/no-canon,nar/no-size,nar/v1,nar/no-basis,nar/dim256,"
             "nar/supervised,nar/supervised-family-only,nar/random-basis,nar/idf,nar/no-attrs,nar/op-tokens-only")
DEFAULT = f"wl,wl_motif,gcn,gat,gin,nar,nar+rerank50,{ABLATIONS},nar-paper,nar-paper/no-motif-stage,nar-paper/untrained"


def method_json(r: dict[str, Any]) -> dict[str, Any]:
    m, ci = r["standard"], r["ci"]
    out = {"mrr@20": m["mrr@20"], "map@20": m["map@20"], "ndcg@20": m["ndcg@20"],
           "map@20_ci": ci["map@20"], "ndcg@20_ci": ci["ndcg@20"], "mrr@20_ci": ci["mrr@20"],
           "twins": r["twins"], "fit_s": r["fit_s"], "embed_ms": r["embed_ms"],
           # per-query values, so that a later run can `--reuse` this row in its paired differences
           "query": r.get("query"), "per_query": {k: r["per_query"][k] for k in ("map@20", "ndcg@20", "mrr@20")
                                                  if k in r.get("per_query", {})}}
    if r.get("reused_from"):
        out["reused_from"] = r["reused_from"]
    return out


def protocol_key(data: Path, folds: int, seeds: list[int], transductive: bool,
                 relevance: str = SOURCE) -> dict[str, Any]:
    """What two runs must share for a row of one to stand in the other (queries are checked once known)."""
    return {"dataset": Path(data).name, "folds": int(folds), "seeds": [int(s) for s in seeds],
            "transductive": bool(transductive), "relevance": str(relevance)}


def protocol_queries(proto: Protocol, folds: int) -> int | None:
    """The queries a run of ``proto`` answers: with k-fold every labelled graph with a relevant candidate outside
    its group (what `graded_scores` keeps); ``None`` for one split (known only once a row has run)."""
    if folds < 2:
        return None
    fam, g = proto.relevance.family, proto.groups
    return int(sum(1 for q in range(len(fam)) if fam[q] != "unknown"
                   and bool(((proto.grades[q] >= 2) & (g != g[q])).any())))


def reuse_rows(path: Path, key: dict[str, Any], queries: int | None, names: list[str]) -> dict[str, dict[str, Any]]:
    """The rows of ``names`` that an earlier ``--json`` file at ``path`` measured under the same protocol, as
    `run_protocol` results (``reused_from`` set; ``per_query`` only when that file stored it, else the row
    takes no part in paired differences). Raises ``SystemExit`` with a one-line reason when the protocol differs."""
    try:
        old = json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise SystemExit(f"--reuse {path}: cannot read it ({e.__class__.__name__})")
    p = old.get("protocol", {})
    theirs = protocol_key(Path(str(old.get("dataset", ""))), p.get("folds", -1), p.get("seeds", []),
                          p.get("transductive", False), p.get("relevance", "?"))
    for field_name in ("dataset", "folds", "seeds", "transductive", "relevance"):
        if theirs[field_name] != key[field_name]:
            raise SystemExit(f"--reuse {path}: other protocol ({field_name} {theirs[field_name]!r}, "
                             f"this run {key[field_name]!r}); not reused")
    if queries is not None and int(old.get("queries", -1)) != int(queries):
        raise SystemExit(f"--reuse {path}: other protocol (queries {old.get('queries')}, this run {queries}); not reused")
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        row = old.get("methods", {}).get(name)
        if row is None:
            continue
        r = {"standard": {k: row[k] for k in ("mrr@20", "map@20", "ndcg@20")},
             "ci": {k: row[f"{k}_ci"] for k in ("mrr@20", "map@20", "ndcg@20") if f"{k}_ci" in row},
             "twins": row.get("twins", {}), "queries": int(old["queries"]), "fit_s": row.get("fit_s", 0.0),
             "embed_ms": row.get("embed_ms", 0.0), "reused_from": str(path)}
        if row.get("query") and row.get("per_query"):
            r["query"], r["per_query"] = row["query"], row["per_query"]
        out[name] = r
    return out


def paired_row(name: str, a: dict[str, Any], b: dict[str, Any], into: dict[str, dict[str, list[float]]]) -> None:
    """Print the table row ``name`` of ``a - b`` (paired bootstrap CI of MAP@20 and NDCG@20) and keep it in
    ``into[name]``; a row reused without per-query values cannot be paired and says so."""
    if "per_query" not in a or "per_query" not in b:
        print(f"| {name} | (reused without per-query values: not paired) | |")
        return
    d = into[name] = {m: list(compare(a, b, m)) for m in ("map@20", "ndcg@20")}
    print(f"| {name} | {d['map@20'][1]:+.3f} [{d['map@20'][0]:+.3f}, {d['map@20'][2]:+.3f}] | "
          f"{d['ndcg@20'][1]:+.3f} [{d['ndcg@20'][0]:+.3f}, {d['ndcg@20'][2]:+.3f}] |")


def hgnas_rows(n: int, root: Path, json_path: Path | None) -> dict[str, Any]:
    """Build (if absent) the hgnas benchmark of about ``n`` networks under ``root`` and print its WL and
    parameters/FLOPs rows (group MRR@20, both label sets)."""
    from nar.generate import GROUPS_FILE, benchmark_retrieval, build_benchmark

    built: dict[str, Any] = {}
    if not (root / GROUPS_FILE).is_file():
        families = max(2, int(round(n ** 0.5 * 1.2)))
        built = build_benchmark(root, families=families, skeletons=max(5, -(-n // families)), seed=0)
        print(f"# built {root}: {built['traced']} of {built['networks']} networks traced in {built['seconds']:.0f}s "
              f"({built['per_network_s']:.2f} s/network, load {os.getloadavg()[0]:.1f})", flush=True)
    figures = benchmark_retrieval(root)
    print(f"\n## Synthetic hgnas benchmark ({root}), group MRR@20\n")
    print("| retriever | same cell family | same skeleton |\n|---|---|---|")
    for method, label in (("wl", "WL (training-free)"), ("params_flops", "parameters/FLOPs only")):
        print(f"| {label} | {figures[f'{method}_cell_family_mrr@20']:.3f} | {figures[f'{method}_skeleton_mrr@20']:.3f} |")
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.with_suffix(".hgnas.json").write_text(json.dumps({"root": str(root), "build": built, **figures}, indent=1))
    return figures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=None, help="dataset folder (graphs table)")
    ap.add_argument("--hgnas", type=int, default=None, metavar="N",
                    help="the synthetic hgnas benchmark of about N networks (built into --hgnas-dir if absent): "
                         "WL vs parameters/FLOPs group MRR@20 on its cell-family and skeleton labels")
    ap.add_argument("--hgnas-dir", type=Path, default=None, help="default data/hgnas-bench-N")
    ap.add_argument("--methods", default=DEFAULT, help=f"comma-separated subset of: {', '.join(METHODS)}")
    ap.add_argument("--folds", type=int, default=5, help="group k-fold over split units (0 = one 30 %% split)")
    ap.add_argument("--seeds", default="0,1,2", help="split and training seeds")
    ap.add_argument("--near-twin", type=float, default=0.95, help="WL cosine that joins two families' split units")
    ap.add_argument("--max-nodes", type=int, default=None)
    ap.add_argument("--threads", type=int, default=1, help="torch threads")
    ap.add_argument("--epochs", type=int, default=None, help="graph-level epochs of the GNN rows (default: EncoderConfig's)")
    ap.add_argument("--json", type=Path, default=None, help="write the machine-readable results here")
    ap.add_argument("--transductive", action="store_true",
                    help="hand the test graphs to fit unlabelled (as `nar build` fits on a whole dataset)")
    ap.add_argument("--log", action="store_true", help="log each method's figures as it finishes")
    ap.add_argument("--reuse", type=Path, action="append", default=[], metavar="PATH",
                    help="an earlier --json of the same protocol (dataset basename, folds, seeds, transductive, "
                         "relevance labels, queries): its rows of --methods are copied in instead of re-run (repeatable)")
    ap.add_argument("--pair", action="append", default=[], metavar="A,B",
                    help="also print and store the paired difference A - B of two rows (repeatable), e.g. "
                         "--pair nar-paper,nar-paper/no-motif-stage for what one stage adds")
    ap.add_argument("--reuse-methods", default=None, metavar="NAMES",
                    help="only these rows are taken from --reuse (default: every row of --methods it holds; a row "
                         "whose code changed since that run must be re-run, not reused)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO if args.log else logging.WARNING)
    torch.set_num_threads(args.threads)
    bad = [p for p in args.pair if len(p.split(",")) != 2 or not set(p.split(",")) <= set(METHODS)]
    if bad:
        raise SystemExit(f"--pair takes two method names, A,B: {bad}")
    unknown = [m for m in args.methods.split(",") if m and m not in METHODS]
    if unknown:
        raise SystemExit(f"unknown methods {unknown}; valid: {', '.join(METHODS)}")
    if args.hgnas:
        hgnas_rows(args.hgnas, args.hgnas_dir or Path(f"data/hgnas-bench-{args.hgnas}"), args.json)
    if args.data is None:
        if not args.hgnas:
            raise SystemExit("give --data DATASET and/or --hgnas N")
        return
    names = [m for m in args.methods.split(",") if m]
    seeds = [int(s) for s in args.seeds.split(",") if s != ""]
    graphs = load_graphs(args.data, max_nodes=args.max_nodes)
    relevance, source = catalog_relevance(graphs.graphs), SOURCE
    t0 = time.perf_counter()
    proto = Protocol.build(graphs, relevance, args.near_twin)
    units = sorted(set(proto.units) - {"unknown"})
    print(f"# {args.data}: {len(graphs)} unique graphs, {len(set(proto.groups.tolist()))} groups, "
          f"{len(set(f for f in relevance.family if f != 'unknown'))} families in {len(units)} split units, "
          f"{proto.near_pairs} near-twin pairs, {len(proto.twins)} twin pairs; relevance: {source}; "
          f"{args.folds}-fold x seeds {seeds} ({time.perf_counter() - t0:.1f}s)", flush=True)
    print("# what a fit saw: " + ("the train folds' graphs with their family labels AND every test graph without "
                                  "labels (--transductive: label-free parts such as the motif vocabulary and the "
                                  "basis span the whole database, as `nar build` fits on a whole dataset)"
                                  if args.transductive else
                                  "the train folds' graphs only (inductive: test graphs unseen until embedding)"),
          flush=True)
    config = EncoderConfig() if args.epochs is None else EncoderConfig(epochs=args.epochs)
    results: dict[str, dict[str, Any]] = {}
    reused: dict[str, dict[str, Any]] = {}

    def protocol_json() -> dict[str, Any]:
        """The JSON's ``protocol``: what `reuse_rows` compares, how the fits saw the data, when and at what load."""
        return {"folds": args.folds, "epochs": config.epochs, "transductive": args.transductive,
                "fit_saw": ("train graphs labelled + test graphs unlabelled" if args.transductive
                            else "train graphs only"),
                "seeds": seeds, "near_twin": args.near_twin,
                "reused": {n: r["reused_from"] for n, r in results.items() if r.get("reused_from")},
                "relevance": source, "graphs": len(graphs), "twin_pairs": len(proto.twins),
                "near_twin_pairs": proto.near_pairs, "split_units": len(units),
                "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "load": os.getloadavg()[0]}

    if args.reuse:
        n_queries = protocol_queries(proto, args.folds)
        key = protocol_key(args.data, args.folds, seeds, args.transductive)
        wanted = [n for n in names if args.reuse_methods is None or n in args.reuse_methods.split(",")]
        for path in args.reuse:
            for name, r in reuse_rows(path, key, n_queries, wanted).items():
                reused.setdefault(name, r)
        for name, r in reused.items():
            print(f"- {name}: reused from {r['reused_from']} (MAP {r['standard']['map@20']:.3f})", flush=True)
    for name in names:
        if name in reused:
            results[name] = reused[name]
            continue
        t = time.perf_counter()
        results[name] = run_protocol(graphs, [METHODS[name]], config, folds=args.folds, seeds=seeds,
                                     ks=(20,), protocol=proto, transductive=args.transductive)[name]
        r = results[name]
        if args.json:  # the rows so far, so that a run stopped early still leaves them (to `--reuse`)
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps({
                "dataset": str(args.data), "queries": int(r["queries"]), "partial": True,
                "methods": {n: method_json(x) for n, x in results.items()}, "protocol": protocol_json()},
                indent=1, default=float))
        print(f"- {name}: MRR {r['standard']['mrr@20']:.3f} MAP {r['standard']['map@20']:.3f} "
              f"{r['ci']['map@20']} NDCG {r['standard']['ndcg@20']:.3f} twins {r['twins']} "
              f"({time.perf_counter() - t:.0f}s)", flush=True)
    base = [b for b in BASELINES if b in results]
    best = max(base, key=lambda b: results[b]["standard"]["map@20"]) if base else None
    print(f"\n## Held-out retrieval ({args.folds}-fold x {len(seeds)} seeds, k = 20)\n")
    print(table1_markdown({args.data.name: results}, ks=(20,)))
    diffs: dict[str, dict[str, list[float]]] = {}
    if best:
        print(f"\n## Paired difference to the best training-free row ({best}), bootstrap 95 % CI\n")
        print("| method | MAP@20 diff [lo, hi] | NDCG@20 diff [lo, hi] |\n|---|---|---|")
        for name, r in results.items():
            paired_row(name, r, results[best], diffs)
    nar_vs: dict[str, dict[str, list[float]]] = {}
    if "nar" in results and len(results) > 1:
        print("\n## Paired difference of the shipped `nar` to every other row (what each stage is worth)\n")
        print("| nar minus | MAP@20 diff [lo, hi] | NDCG@20 diff [lo, hi] |\n|---|---|---|")
        for name, r in results.items():
            if name != "nar":
                paired_row(name, results["nar"], r, nar_vs)
    pairs: dict[str, dict[str, list[float]]] = {}
    asked = [tuple(p.split(",", 1)) for p in args.pair]
    if asked:
        print("\n## Paired differences asked for (--pair)\n")
        print("| A minus B | MAP@20 diff [lo, hi] | NDCG@20 diff [lo, hi] |\n|---|---|---|")
        for a, b in asked:
            if a in results and b in results:
                paired_row(f"{a} - {b}", results[a], results[b], pairs)
            else:
                print(f"| {a} - {b} | (not both in this run) | |")
    if args.json:
        shipped = results.get("nar")
        report = {"dataset": str(args.data), "queries": int(next(iter(results.values()))["queries"]) if results else 0,
                  "methods": {n: method_json(r) for n, r in results.items()},
                  "twins": ({k: shipped["twins"][k] for k in ("hit@1", "hit@5", "median_rank", "pairs", "raw_hit@1",
                                                               "raw_hit@5", "raw_median_rank") if k in shipped["twins"]}
                            if shipped else {}),
                  "best_baseline": best,
                  "diff_vs_best_baseline": ({m: [diffs["nar"][m][0], diffs["nar"][m][1], diffs["nar"][m][2]]
                                             for m in ("map@20", "ndcg@20")} if best and "nar" in diffs else {}),
                  "diffs": diffs, "nar_minus": nar_vs, "pairs": pairs,
                  "protocol": protocol_json()}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1, default=float))
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
