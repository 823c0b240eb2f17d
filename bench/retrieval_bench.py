"""Retrieval benchmark: ours vs baselines on real and NAS data, leak-free, in one run (same seed).

Prints markdown shaped like the paper's Table 1 (methods x MRR/MAP/NDCG @20/50/100, Real and NAS),
Table 2 (split ablation: node-num, motif-num, random, legacy rule, ours) and speed figures, and
writes everything to JSON.

    .venv/bin/python bench/retrieval_bench.py --data data/demo --out bench/results/retrieval.json
    .venv/bin/python bench/retrieval_bench.py --data data/dev-timm --speed --table2
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np
import torch

from nar_model.config import EncoderConfig
from nar_model.data import GraphSet, load_graphs
from nar_model.evaluation import Method, run_protocol, table1_markdown, table2_markdown
from nar_model.nas import nas_dataset

BASELINES = [Method("WL (training-free)", "wl"), Method("GCN", "gcn"), Method("GAT", "gat"), Method("GIN", "gin")]
OURS = Method("Ours (NAR)", "nar")
#: Ablation row: ours without the training-free WL channels (the learned macro-graph embedding alone).
OURS_LEARNED = Method("Ours, learned part only", "nar", {"hist_weight": 0.0})
SPLIT_ABLATION = [Method("Node Num", "nar", {"split": "node-num"}), Method("Motif Num", "nar", {"split": "motif-num"}),
                  Method("Random", "nar", {"split": "random"}), Method("Legacy rule", "nar", {"split": "legacy"}),
                  Method("Ours (BPE motifs)", "nar", {"split": "bpe"})]


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _since(t: tuple[float, float]) -> tuple[float, float]:
    return time.perf_counter() - t[0], time.process_time() - t[1]


def speed(graphs: GraphSet, config: EncoderConfig, n: int = 5000, query: str = "timm:resnet50") -> dict[str, float]:
    """Wall and CPU seconds of: motif mining, preprocessing, one stage-1 and one stage-2 epoch on ``n``
    graphs (the set repeated), embedding per graph, and an in-process search of an unseen ``query``.

    CPU time (``process_time``) is reported next to wall time because this machine is shared: with other
    jobs running, wall time says more about the neighbours than about the code.
    """
    from nar_model.encoders import get_encoder
    from nar_model.motifs import MotifVocab
    from nar_model.search import make_index

    reps = GraphSet([graphs.graphs[i % len(graphs)] for i in range(n)])
    out: dict[str, float] = {"graphs": n, "mean_nodes": float(np.mean([g.num_nodes for g in reps.graphs])),
                             "torch_threads": torch.get_num_threads()}

    def put(name: str, t: tuple[float, float], per: int = 1) -> None:
        wall, cpu = _since(t)
        out[f"{name}_wall_s"], out[f"{name}_cpu_s"] = wall / per, cpu / per

    t = _clock()
    vocab = MotifVocab(max_merges=config.max_merges, max_size=config.max_motif_size).fit(reps.graphs)
    put("motif_mining", t)
    enc = get_encoder("nar", config.replace(epochs=1, motif_epochs=1))
    enc.vocab = vocab
    from nar_model.encoders._base import LabelMap
    from nar_model.encoders.nar import NARNet, _collate

    enc.families, enc.coarse_map = LabelMap(reps.families), LabelMap(reps.coarse)
    enc.net = NARNet(config.hidden, config.dim, config.motif_dim, config.layers, len(enc.coarse_map), vocab.buckets)
    t = _clock()
    items = enc._motif_items(reps.graphs)
    put("preprocess", t)
    t = _clock()
    enc._fit_motifs(items, False)
    put("stage1_epoch", t)
    from nar_model.train import fit_graph_level

    macro = enc._macro_items(items)
    t = _clock()
    fit_graph_level(enc.net, macro, enc.families(reps.families), enc.coarse_map(reps.coarse), enc.config, _collate,
                    enc.net.forward_macro)
    put("stage2_epoch", t)
    sub = graphs.graphs[: min(len(graphs), 500)]
    t = _clock()
    vectors = enc.embed(sub)
    put("embed_per_graph", t, len(sub))
    index = make_index("numpy")
    index.add([g.arch_id for g in sub], vectors)
    try:
        from nar.query import QueryContext, resolve

        t = _clock()
        index.search(enc.embed([resolve(query).graph(QueryContext())]), 10)
        put("search_unseen_in_process", t)
    except Exception as e:  # noqa: BLE001 - a source missing in this checkout must not end the bench
        out["search_error"] = str(e)[:200]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, help="real dataset folder (graphs table)")
    ap.add_argument("--nas", default="60x10", help="NAS groups BxM ('' to skip)")
    ap.add_argument("--epochs", type=int, default=EncoderConfig.epochs)
    ap.add_argument("--motif-epochs", type=int, default=EncoderConfig.motif_epochs)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--test-fraction", type=float, default=0.3)
    ap.add_argument("--folds", type=int, default=0, help="group k-fold (0 = one held-out split)")
    ap.add_argument("--max-nodes", type=int, default=None)
    ap.add_argument("--methods", default="wl,gcn,gat,gin,nar,nar-learned",
                    help="subset of wl,gcn,gat,gin,nar,nar-learned (ours without the WL channels)")
    ap.add_argument("--table2", action="store_true", help="also run the split ablation (Table 2)")
    ap.add_argument("--speed", action="store_true", help="also time mining/training/embedding on --speed-graphs graphs")
    ap.add_argument("--speed-graphs", type=int, default=5000)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch default)")
    ap.add_argument("--out", type=Path, default=Path("bench/results/retrieval.json"))
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.threads:
        torch.set_num_threads(args.threads)
    config = EncoderConfig(epochs=args.epochs, motif_epochs=args.motif_epochs, seed=args.seed)
    wanted = set(args.methods.split(","))
    methods = [m for m in BASELINES if m.encoder in wanted] + ([OURS] if "nar" in wanted else [])
    methods += [OURS_LEARNED] if "nar-learned" in wanted else []
    datasets: dict[str, GraphSet] = {}
    if args.data:
        datasets["Real"] = load_graphs(args.data, max_nodes=args.max_nodes)
    if args.nas:
        b, m = (int(x) for x in args.nas.split("x"))
        datasets["NAS"] = GraphSet(nas_dataset(b, m, seed=args.seed))
    report: dict = {"config": config.to_dict(), "args": {k: str(v) for k, v in vars(args).items()}, "tables": {}}
    t1: dict = {}
    for name, gs in datasets.items():
        fams = {f for f in gs.families if f != "unknown"}
        print(f"# {name}: {len(gs)} unique graphs, {len(fams)} families", flush=True)
        t1[name] = run_protocol(gs, methods, config, args.test_fraction, args.folds, args.seed)
        print(table1_markdown({name: t1[name]}), flush=True)
    report["tables"]["table1"] = t1
    print("\n## Table 1 (standard metrics; held-out families)\n")
    print(table1_markdown(t1))
    print("\n## Table 1, official-code metric variant (for comparison)\n")
    print(table1_markdown(t1, variant="legacy"))
    if args.table2:
        t2 = {name: run_protocol(gs, SPLIT_ABLATION, config, args.test_fraction, args.folds, args.seed)
              for name, gs in datasets.items()}
        report["tables"]["table2"] = t2
        print("\n## Table 2 (split ablation)\n")
        print(table2_markdown(t2))
    if args.speed and "Real" in datasets:
        report["speed"] = speed(datasets["Real"], config, args.speed_graphs)
        print("\n## Speed (2-core CPU)\n")
        for k, v in report["speed"].items():
            print(f"- {k}: {v:.2f}" if isinstance(v, float) else f"- {k}: {v}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1, default=float))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
