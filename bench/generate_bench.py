"""Acceptance figures of the hierarchical generative NAS (fixed seeds, held-out queries).

Sections (each can be skipped): ``space`` (sampling validity, hash determinism), ``benchmark`` (the
synthetic benchmark's groups, trace rate, WL vs params/FLOPs retrieval), ``generator`` (G-VAE held-out
accuracy, validity before/after repair, novelty, conditioning on a query embedding and on a cell family,
100 candidates near a query), ``nbg`` (evolution vs random search on NAS-Bench-Graph).

    PYTHONPATH=. nice -n 10 .venv/bin/python bench/generate_bench.py --bench-data data/hgnas-bench \
        --out bench/results/generate.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch


def section_space(report: dict, seed: int) -> None:
    from nar_model.generate.cell import cell_hash, is_valid, sample_cells

    t = time.perf_counter()
    cells = sample_cells(1000, seed)
    again = sample_cells(1000, seed)
    report["space"] = {"cells": len(cells), "valid": float(np.mean([is_valid(c) for c in cells])),
                       "same_seed_same_hashes": [cell_hash(c) for c in cells] == [cell_hash(c) for c in again],
                       "edges_mean": float(np.mean([c.num_edges for c in cells])),
                       "seconds": time.perf_counter() - t}
    print("space:", report["space"], flush=True)


def section_benchmark(report: dict, root: Path, seed: int) -> None:
    from nar.generate import benchmark_retrieval, load_groups, trace_macro
    from nar_data.parquet import read_graphs
    from nar_model.generate.benchmark import benchmark_specs
    from nar_model.generate.skeleton import macro_from_dict

    meta = load_groups(root)
    graphs = {g.model_id: g for g in read_graphs(root, unique=False)}
    nets = meta["networks"]
    ids = [m for m in nets if m in graphs]
    fam = [nets[m]["cell_family"] for m in ids]
    skel = [nets[m]["skeleton"] for m in ids]
    specs = benchmark_specs(meta["families"], meta["skeletons"], seed=meta["seed"], **meta["spec"])
    spec_ids = [i.model_id for i in specs]
    # a build stopped by its time limit lists whole families only: its networks are a subset of the specs
    same_hashes = (sorted(spec_ids) == sorted(nets)) if meta.get("complete", True) else set(nets) <= set(spec_ids)
    retrace = [trace_macro(macro_from_dict(nets[m]["macro"])).arch_id == graphs[m].arch_id for m in ids[:20]]
    t = time.perf_counter()
    figures = benchmark_retrieval(root, seed)
    out = {"networks": len(nets), "traced": len(ids), "failed": len(meta["failed"]),
           "complete": meta.get("complete", True), "untraced": meta.get("untraced", 0),
           "trace_rate": len(ids) / max(len(nets) + len(meta["failed"]), 1),
           "min_family_group": int(min(np.unique(fam, return_counts=True)[1])),
           "min_skeleton_group": int(min(np.unique(skel, return_counts=True)[1])),
           "same_seed_same_hashes": same_hashes, "retrace_same_arch_id": float(np.mean(retrace)),
           "distinct_arch_ids": len({graphs[m].arch_id for m in ids}), "retrieval_s": time.perf_counter() - t,
           **figures}
    report["benchmark"] = out
    print("benchmark:", out, flush=True)


def section_generator(report: dict, args: argparse.Namespace) -> None:
    from nar.generate import embed_cells, generate_near, probe_macro, runs_forward, trace_macro, train_generator
    from nar_model.generate.cell import cell_hash, is_valid, sample_cells
    from nar_model.generate.flow import FlowConfig
    from nar_model.generate.vae import VAEConfig, reconstruction_accuracy
    from nar_model.metrics import bootstrap_ci

    t0 = time.perf_counter()
    if args.load:
        from nar.generate import CellGenerator

        gen = CellGenerator.load(args.load)
        gen.prior_k, gen.prior_t0 = args.prior_k, args.prior_t0
        gen.near_guidance, gen.near_temperature = args.guidance, args.temperature
    else:
        gen = train_generator(args.cells, args.cond, args.families, args.pca_dims, seed=args.seed,
                              prior_k=args.prior_k, prior_t0=args.prior_t0,
                              vae_config=VAEConfig(epochs=args.vae_epochs, batch_size=args.vae_batch, lr=args.vae_lr,
                                                   cond_weight=args.shape),
                              flow_config=FlowConfig(epochs=args.flow_epochs, hidden=args.flow_hidden),
                              pca_whiten=not args.no_whiten, near_guidance=args.guidance,
                              near_temperature=args.temperature,
                              log=lambda m: print(m, flush=True) if args.verbose else None, embed_cache=args.embed_cache)
    if args.save and not args.load:
        gen.save(args.save)
    out: dict = {"train_s": time.perf_counter() - t0, **gen.stats}
    # held-out cells: a different seed, minus any cell seen in training
    held = [c for c in sample_cells(args.heldout + 200, args.seed + 1000) if cell_hash(c) not in gen.train_hashes]
    held = held[:args.heldout]
    out["heldout"] = len(held)
    out.update({f"heldout_{k}": v for k, v in reconstruction_accuracy(gen.vae, held).items()})
    print("vae:", {k: v for k, v in out.items() if k.startswith("heldout")}, flush=True)
    raw, fixed = gen.sample(args.uncond, seed=args.seed)
    out["uncond_samples"] = len(raw)
    out["valid_before_repair"] = float(np.mean([is_valid(c) for c in raw]))
    out["valid_after_repair"] = float(np.mean([is_valid(c) for c in fixed]))
    out["valid_and_runs_forward_1x3x32x32"] = float(np.mean([is_valid(c) and runs_forward(c) for c in fixed]))
    out["new_vs_train"] = float(np.mean([cell_hash(c) not in gen.train_hashes for c in fixed]))
    out["unique_samples"] = len({cell_hash(c) for c in fixed})
    print("samples:", {k: out[k] for k in ("valid_before_repair", "valid_after_repair",
                                          "valid_and_runs_forward_1x3x32x32", "new_vs_train")}, flush=True)
    t = time.perf_counter()
    uncond_emb = embed_cells(fixed)
    out["uncond_trace_embed_s_per_cell"] = (time.perf_counter() - t) / len(fixed)
    # conditioning on a query embedding: held-out query cells (``--query-start``: a later window of them, for a
    # check on queries no setting was chosen on; query i of the window keeps the seed of held-out cell i)
    queries = held[args.query_start:args.query_start + args.queries]
    q_emb = embed_cells(queries)
    # every raw conditional sample counts (no re-ranking); two priors: the flow from noise (the default),
    # and the flow started at prior_t0 from the conditional prior over embedded training cells
    for tag, prior in (("", "noise"), ("_neighbours", "neighbours")):
        rows = []
        for qi, q in enumerate(q_emb):
            _, cells = gen.sample(args.per_query, condition=q, guidance=args.guidance,
                                  seed=args.seed + args.query_start + qi, prior=prior, temperature=args.temperature)
            cos = embed_cells(cells) @ q
            un = uncond_emb @ q
            rows.append({"cond_median_cos": float(np.median(cos)), "uncond_median_cos": float(np.median(un)),
                         "uncond_p90_cos": float(np.percentile(un, 90)),
                         "new": float(np.mean([cell_hash(c) not in gen.train_hashes for c in cells])),
                         "valid": float(np.mean([is_valid(c) for c in cells]))})
        margins = np.array([r["cond_median_cos"] - r["uncond_p90_cos"] for r in rows])

        out[f"query_conditioning{tag}"] = rows
        out[f"queries_meeting_p90{tag}"] = float(np.mean(margins >= 0))
        out[f"queries_meeting_p90_count{tag}"] = [int((margins >= 0).sum()), len(rows)]
        out[f"margin_ci{tag}"] = bootstrap_ci(margins)
        out[f"margin_min{tag}"] = float(margins.min())
        out[f"cond_median_cos_mean{tag}"] = float(np.mean([r["cond_median_cos"] for r in rows]))
        out[f"uncond_p90_cos_mean{tag}"] = float(np.mean([r["uncond_p90_cos"] for r in rows]))
        out[f"cond_new{tag}"] = float(np.mean([r["new"] for r in rows]))
        print(f"query conditioning ({prior}):", {k: out[k + tag] for k in (
            "queries_meeting_p90_count", "margin_ci", "margin_min", "cond_median_cos_mean", "uncond_p90_cos_mean",
            "cond_new")}, flush=True)
    # conditioning on a cell family: the family flow's one-hot, and the embedding flow at the family centre
    uncond_fam = gen.family_of(uncond_emb)
    for tag, by in (("", "onehot"), ("_centre", "centre")):
        fam_rows = []
        for f in range(args.families):
            _, cells = gen.sample(args.per_family, family=f, guidance=args.family_guidance or args.guidance,
                                  seed=args.seed + 100 + f, family_by=by)
            hit = float(np.mean(gen.family_of(embed_cells(cells)) == f))
            chance = float(np.mean(uncond_fam == f))
            fam_rows.append({"family": f, "hit": hit, "chance_uncond": chance, "chance_uniform": 1 / args.families})
        out[f"family_conditioning{tag}"] = fam_rows
        out[f"family_hit_mean{tag}"] = float(np.mean([r["hit"] for r in fam_rows]))
        out[f"family_hit_over_uniform_chance{tag}"] = out[f"family_hit_mean{tag}"] * args.families
        out[f"family_hit_over_uncond_chance{tag}"] = float(np.mean([r["hit"] / max(r["chance_uncond"], 1e-9)
                                                                     for r in fam_rows]))
        print(f"family conditioning ({by}):", out[f"family_hit_mean{tag}"], "x chance",
              out[f"family_hit_over_uniform_chance{tag}"], flush=True)
    # 100 candidates near a query, timed end to end (sample, decode, repair, build, trace, embed, check)
    query_graph = trace_macro(probe_macro(queries[0]))
    t = time.perf_counter()
    best = generate_near(query_graph, gen, k=10, n=100, guidance=args.guidance, temperature=args.temperature)
    out["near_100_s"] = time.perf_counter() - t
    out["near_top10_cos"] = [round(b["cosine"], 4) for b in best]
    out["near_top10_run_forward"] = all(b["runs_forward"] for b in best)
    print("near:", out["near_100_s"], out["near_top10_cos"], flush=True)
    report["generator"] = out


def section_vae(report: dict, args: argparse.Namespace) -> None:
    """The G-VAE alone (longer training than the generator section can afford), on held-out cells."""
    from nar_model.generate.cell import cell_hash, sample_cells
    from nar_model.generate.vae import VAEConfig, fit_vae, reconstruction_accuracy

    t = time.perf_counter()
    cells = sample_cells(args.cells, args.seed)
    vae = fit_vae(cells, VAEConfig(epochs=args.vae_epochs, batch_size=args.vae_batch, lr=args.vae_lr, seed=args.seed),
                  log=lambda e, s: print("vae", e, s, flush=True) if args.verbose else None)
    seen = {cell_hash(c) for c in cells}
    held = [c for c in sample_cells(args.heldout + 200, args.seed + 1000) if cell_hash(c) not in seen][:args.heldout]
    report["vae"] = {"cells": len(cells), "epochs": args.vae_epochs, "heldout": len(held),
                     "train_s": time.perf_counter() - t, **reconstruction_accuracy(vae, held)}
    print("vae:", report["vae"], flush=True)


def _wilson(hits: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson 95 % interval of a share."""
    if n == 0:
        return 0.0, 1.0
    p = hits / n
    centre, half = (p + z * z / (2 * n)) / (1 + z * z / n), z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / (1 + z * z / n)
    return centre - half, centre + half


def section_macro(report: dict, args: argparse.Namespace) -> None:
    """The macro transformer: analytic cost vs the built count, training on hindsight-labelled pairs, the
    share of sampled skeletons within a requested budget (vs random skeletons), validity; and, with a saved
    cell generator (``--load``), the budgeted search with and without it."""
    from nar_model.generate.cell import sample_cell, sample_cells
    from nar_model.generate.cost import macro_cost
    from nar_model.generate.macro_model import (MacroConfig, load_macro_model, prompt_vector, sample_prior_skeleton,
                                                save_macro_model, train_macro_model)
    from nar_model.generate.nbgraph import sign_test
    from nar_model.generate.skeleton import Macro, Stage, build_network, count_cost, sample_skeleton

    out: dict = {}
    # analytic cost vs count_cost (meta build + hooks) on sampled networks, and the time of each
    rng = np.random.default_rng(args.seed + 3000)
    cells = sample_cells(args.cost_checks, args.seed + 3000)
    macros = [Macro((c,), tuple(sample_prior_skeleton(rng)), stem=16, head=64) for c in cells]
    t = time.perf_counter()
    built = [count_cost(m, 32) for m in macros]
    t_built = (time.perf_counter() - t) / len(macros)
    t = time.perf_counter()
    analytic = [macro_cost(m, 32) for m in macros]
    t_analytic = (time.perf_counter() - t) / len(macros)
    out["cost_checks"] = len(macros)
    out["cost_params_equal"] = float(np.mean([a[0] == b[0] for a, b in zip(analytic, built)]))
    out["cost_flops_equal"] = float(np.mean([a[1] == b[1] for a, b in zip(analytic, built)]))
    out["count_cost_meta_s"], out["macro_cost_s"] = t_built, t_analytic
    print("cost:", {k: out[k] for k in ("cost_params_equal", "cost_flops_equal", "count_cost_meta_s", "macro_cost_s")},
          flush=True)
    t = time.perf_counter()
    if args.load_macro:
        model = load_macro_model(args.load_macro)
        out["macro_loaded"] = str(args.load_macro)
    else:
        model = train_macro_model(args.macro_pairs, args.seed, MacroConfig(epochs=args.macro_epochs),
                                  log=lambda e, s: print("macro epoch", e, s, flush=True) if args.verbose else None)
    out["macro_train_s"] = time.perf_counter() - t
    out["macro_pairs"], out["macro_epochs"] = model.stats.get("n_pairs", args.macro_pairs), model.config.epochs
    if args.save_macro and not args.load_macro:
        save_macro_model(model, args.save_macro)
    # held-out prompts: fresh cells, budgets log-uniform over a user-like range
    rng = np.random.default_rng(args.seed + 4000)
    rows = []
    gen = torch.Generator().manual_seed(args.seed)
    t = time.perf_counter()
    for i in range(args.macro_prompts):
        cell = sample_cell(rng)
        bp, bf = float(np.exp(rng.uniform(np.log(3e4), np.log(3e6)))), float(np.exp(rng.uniform(np.log(1e7), np.log(1e9))))
        row = {"budget_params": bp, "budget_flops": bf}
        for name, stages in (("transformer", model.sample(prompt_vector(10, 32, bp, bf, cell), 1, generator=gen)[0]),
                             ("random_search_default", sample_skeleton(rng, 1, max_stages=3, max_repeats=2, max_channels=128)),
                             ("random_prior", sample_prior_skeleton(rng))):
            p, f = macro_cost(Macro((cell,), tuple(stages), stem=16, head=64), 32)
            row[name] = {"params": p, "flops": f, "within": bool(p <= bp and f <= bf), "use": max(p / bp, f / bf),
                         "stages": [[s.channels, s.stride, s.repeats] for s in stages]}
        rows.append(row)
    out["macro_sample_s"] = (time.perf_counter() - t) / max(len(rows), 1)
    n = len(rows)
    for name in ("transformer", "random_search_default", "random_prior"):
        hits = sum(r[name]["within"] for r in rows)
        inside = [r[name]["use"] for r in rows if r[name]["within"]]
        out[f"{name}_within"] = hits / n
        out[f"{name}_within_ci"] = _wilson(hits, n)
        out[f"{name}_use_median_within"] = float(np.median(inside)) if inside else 0.0
    # paired: prompts where the transformer fits and the default random draw does not, and vice versa
    w = sum(r["transformer"]["within"] and not r["random_search_default"]["within"] for r in rows)
    l = sum(r["random_search_default"]["within"] and not r["transformer"]["within"] for r in rows)
    out["within_vs_default_wins_losses"], out["within_vs_default_sign_p"] = [w, l], sign_test(w, l)
    # validity: every sample is a Macro (the constructor checks channels, strides, <= 20 cells); some run forward
    fwd = []
    for r in rows[:args.macro_forward]:
        m = Macro((sample_cell(rng),), tuple(Stage(0, *s) for s in r["transformer"]["stages"]), stem=16, head=64)
        with torch.no_grad():
            y = build_network(m).eval()(torch.randn(1, 3, 32, 32))
        fwd.append(bool(torch.isfinite(y).all()) and y.shape == (1, 10))
    out["macro_valid"] = 1.0
    out["macro_runs_forward"], out["macro_forward_checked"] = float(np.mean(fwd)) if fwd else 0.0, len(fwd)
    out["macro_prompts"] = len(rows)
    # per prompt: budgets and, per method, within-budget and budget use (the stages are left out: size)
    out["macro_rows"] = [{"budget_params": r["budget_params"], "budget_flops": r["budget_flops"],
                          **{k: [v["within"], round(v["use"], 4)] for k, v in r.items() if isinstance(v, dict)}}
                         for r in rows]
    print("macro:", {k: v for k, v in out.items() if k != "macro_rows"}, flush=True)
    if args.load and args.search_seeds:
        from nar.generate import CellGenerator, budget_search

        cg = CellGenerator.load(args.load)
        res = {"with": [], "without": []}
        for sd in range(args.search_seeds):
            for tag, mm in (("with", model), ("without", None)):
                t = time.perf_counter()
                best = budget_search(cg, args.search_params, args.search_flops, args.search_evals, seed=sd, macro_model=mm)
                res[tag].append({"best_naswot": best[0]["naswot"] if best else float("-inf"), "s": time.perf_counter() - t,
                                 "best_params": best[0]["params"] if best else None,
                                 "best_flops": best[0]["flops"] if best else None,
                                 "within": all(b["params"] <= _count(args.search_params) and b["flops"] <= _count(args.search_flops) for b in best)})
            print("search seed", sd, res["with"][-1], res["without"][-1], flush=True)
        wins = sum(a["best_naswot"] > b["best_naswot"] for a, b in zip(res["with"], res["without"]))
        losses = sum(a["best_naswot"] < b["best_naswot"] for a, b in zip(res["with"], res["without"]))
        out["search"] = {"params": args.search_params, "flops": args.search_flops, "evaluations": args.search_evals,
                         "seeds": args.search_seeds, "rows": res, "wins_losses": [wins, losses], "sign_p": sign_test(wins, losses),
                         "median_best_with": float(np.median([r["best_naswot"] for r in res["with"]])),
                         "median_best_without": float(np.median([r["best_naswot"] for r in res["without"]])),
                         "median_s_with": float(np.median([r["s"] for r in res["with"]])),
                         "median_s_without": float(np.median([r["s"] for r in res["without"]]))}
        print("search:", {k: v for k, v in out["search"].items() if k != "rows"}, flush=True)
    report["macro"] = out


def _count(text: str) -> int:
    from nar.generate import _parse_count

    return _parse_count(text)


def section_nbg(report: dict, args: argparse.Namespace) -> None:
    from nar_model.generate.nbgraph import nbg_compare

    tops = tuple(float(t) for t in args.nbg_top.split(","))
    report["nbg"] = [nbg_compare(args.nbg_dataset, budget=int(b), seeds=args.nbg_seeds, tops=tops)
                     for b in args.nbg_budget.split(",")]
    print("nas-bench-graph:", report["nbg"], flush=True)


def markdown(report: dict) -> str:
    """The acceptance figures as a markdown table (figure | target | measured)."""
    rows = []
    if "space" in report:
        s = report["space"]
        rows += [("sampled cells valid", "100 %", f"{100 * s['valid']:.1f} % of {s['cells']}"),
                 ("same seed, same cell hashes", "yes", str(s["same_seed_same_hashes"]))]
    if "benchmark" in report:
        b = report["benchmark"]
        rows += [("benchmark networks built and traced", "100 %", f"{100 * b['trace_rate']:.1f} % of {b['networks']}"
                  + ("" if b.get("complete", True) else f" (build stopped by its time limit: {b['untraced']} not attempted)")),
                 ("smallest group (cell family / skeleton)", ">= 5", f"{b['min_family_group']} / {b['min_skeleton_group']}"),
                 ("same seed, same hashes (specs; re-trace of 20)", "yes", f"{b['same_seed_same_hashes']}; {b['retrace_same_arch_id']:.2f}"),
                 ("WL group MRR@20 (cell family)", ">= 0.5", f"{b['wl_cell_family_mrr@20']:.3f}"),
                 ("params/FLOPs group MRR@20 (cell family)", "<= 0.2", f"{b['params_flops_cell_family_mrr@20']:.3f}"),
                 ("WL / params-FLOPs MRR@20 (skeleton)", "-", f"{b['wl_skeleton_mrr@20']:.3f} / {b['params_flops_skeleton_mrr@20']:.3f}")]
    if "vae" in report:
        v = report["vae"]
        rows += [(f"G-VAE alone ({v['cells']} cells, {v['epochs']} epochs): held-out op / adjacency / cell accuracy",
                  ">= 99 % / >= 95 % / -", f"{100 * v['op_acc']:.1f} % / {100 * v['adj_acc']:.1f} % / {100 * v['cell_acc']:.1f} %")]
    if "generator" in report:
        g = report["generator"]
        rows += [("G-VAE held-out op accuracy", ">= 99 %", f"{100 * g['heldout_op_acc']:.2f} % ({g['heldout']} cells)"),
                 ("G-VAE held-out whole-adjacency accuracy", ">= 95 %", f"{100 * g['heldout_adj_acc']:.1f} %"),
                 ("G-VAE held-out whole-cell accuracy", "-", f"{100 * g['heldout_cell_acc']:.1f} %"),
                 ("valid before / after repair", "-", f"{100 * g['valid_before_repair']:.1f} % / {100 * g['valid_after_repair']:.1f} %"),
                 ("valid and runs forward on 1x3x32x32", ">= 95 %", f"{100 * g['valid_and_runs_forward_1x3x32x32']:.1f} % of {g['uncond_samples']}"),
                 ("new (hash not in training set)", ">= 80 %", f"{100 * g['new_vs_train']:.1f} %"),
                 *[(f"queries whose conditional median cosine >= unconditional p90 ({label})", "all" if not tag else "-",
                    f"{g['queries_meeting_p90_count' + tag][0]} of {g['queries_meeting_p90_count' + tag][1]}; margin "
                    f"median-minus-p90 mean {g['margin_ci' + tag][1]:+.3f} (95 % CI {g['margin_ci' + tag][0]:+.3f} to "
                    f"{g['margin_ci' + tag][2]:+.3f}), min {g['margin_min' + tag]:+.3f}; mean {g['cond_median_cos_mean' + tag]:.3f}"
                    f" vs p90 {g['uncond_p90_cos_mean' + tag]:.3f}; {100 * g['cond_new' + tag]:.0f} % of the samples new")
                   for tag, label in (("", "flow from noise"), ("_neighbours", "flow from the neighbours prior"))
                   if "queries_meeting_p90_count" + tag in g],
                 ("family-conditioned samples in their family (family flow, one-hot)", ">= 3x chance",
                  f"{100 * g['family_hit_mean']:.1f} % = {g['family_hit_over_uniform_chance']:.2f}x uniform chance "
                  f"({g['family_hit_over_uncond_chance']:.2f}x the unconditional share)"),
                 ("family-conditioned samples in their family (embedding flow at the family centre)", ">= 3x chance",
                  f"{100 * g['family_hit_mean_centre']:.1f} % = {g['family_hit_over_uniform_chance_centre']:.2f}x uniform chance "
                  f"({g['family_hit_over_uncond_chance_centre']:.2f}x the unconditional share)"),
                 ("100 candidates near a query", "< 60 s", f"{g['near_100_s']:.1f} s, top-10 all run forward: {g['near_top10_run_forward']}")]
    if "macro" in report:
        m = report["macro"]
        rows += [("analytic params / FLOPs equal to count_cost", "exact", f"{100 * m['cost_params_equal']:.0f} % / "
                  f"{100 * m['cost_flops_equal']:.0f} % of {m['cost_checks']} ({1e3 * m['macro_cost_s']:.2f} ms vs "
                  f"{m['count_cost_meta_s']:.2f} s a network)")]
        for name, label in (("transformer", "macro transformer"), ("random_search_default", "random (the search's draw)"),
                            ("random_prior", "random (the training prior)")):
            lo, hi = m[f"{name}_within_ci"]
            rows.append((f"skeletons within the requested params and FLOPs budget: {label}", "transformer > random",
                         f"{100 * m[f'{name}_within']:.1f} % (95 % CI {100 * lo:.1f}-{100 * hi:.1f}) of "
                         f"{m['macro_prompts']}; median budget use of those within {100 * m[f'{name}_use_median_within']:.0f} %"))
        w, l = m["within_vs_default_wins_losses"]
        rows += [("prompts where only the transformer / only the search's random draw fits", "-",
                  f"{w} / {l} (sign-test p = {m['within_vs_default_sign_p']:.2g})"),
                 ("sampled skeletons valid / run forward", "100 %",
                  f"{100 * m['macro_valid']:.0f} % / {100 * m['macro_runs_forward']:.0f} % of {m['macro_forward_checked']}")]
        if "search" in m:
            sr = m["search"]
            rows.append((f"budgeted search ({sr['params']} / {sr['flops']}, {sr['evaluations']} evaluations, "
                         f"{sr['seeds']} seeds): best NASWOT with / without the transformer", "with > without",
                         f"median {sr['median_best_with']:.1f} / {sr['median_best_without']:.1f}; seeds better "
                         f"{sr['wins_losses'][0]} / {sr['wins_losses'][1]} (sign-test p = {sr['sign_p']:.2g}); "
                         f"median {sr['median_s_with']:.1f} s / {sr['median_s_without']:.1f} s a search"))
    for r in report.get("nbg", []):
        for key in (k for k in r if k.startswith("top")):
            t = r[key]
            target = "evolution > random" if (key == "top0.05" and r["budget"] == 500) else "-"
            rows.append((f"NAS-Bench-Graph {r['dataset']}, {r['budget']} look-ups, {key[3:]} top: evolution vs random "
                         f"hits / {r['seeds']} (random expected)", target,
                         f"{t['evolution_hits']} vs {t['random_hits']} ({t['random_expected']:.1f}); discordant seeds "
                         f"{t['discordant_evolution_random'][0]} / {t['discordant_evolution_random'][1]} "
                         f"(McNemar exact p = {t['mcnemar_exact_p']:.3f})"))
        d = r["regret_diff_random_minus_evolution"]
        rows.append((f"NAS-Bench-Graph {r['dataset']}, {r['budget']} look-ups: median regret (best validation accuracy "
                     "minus the best found, points), evolution / random; paired mean difference random - evolution "
                     "(95 % bootstrap CI)", "-",
                     f"{r['evolution_regret_median']:.3f} / {r['random_regret_median']:.3f}; "
                     f"{d['mean']:+.3f} ({d['ci95'][0]:+.3f} to {d['ci95'][1]:+.3f})"))
        rows.append((f"NAS-Bench-Graph {r['dataset']}, {r['budget']} look-ups: median top fraction of the best found, "
                     "evolution / random; seeds where evolution / random is better (sign-test p)", "-",
                     f"{100 * r['evolution_top_fraction_median']:.2f} % / {100 * r['random_top_fraction_median']:.2f} %; "
                     f"{r['seeds_evolution_better']} / {r['seeds_random_better']} (p = {r['sign_test_p']:.3f})"))
    return "\n".join(["| figure | target | measured |", "|---|---|---|"] + [f"| {a} | {b} | {c} |" for a, b, c in rows])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sections", default="space,benchmark,generator,nbg")
    ap.add_argument("--bench-data", type=Path, default=Path("data/hgnas-bench"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cells", type=int, default=20000, help="G-VAE training cells")
    ap.add_argument("--cond", type=int, default=1500, help="cells traced and embedded to train the flows")
    ap.add_argument("--families", type=int, default=8)
    ap.add_argument("--pca-dims", type=int, default=32, help="PCA dims of the embedding condition")
    ap.add_argument("--prior-k", type=int, default=10, help="conditional prior: kernel bandwidth neighbour")
    ap.add_argument("--prior-t0", type=float, default=0.5, help="conditional prior: flow start time")
    ap.add_argument("--vae-epochs", type=int, default=10)
    ap.add_argument("--vae-batch", type=int, default=128)
    ap.add_argument("--vae-lr", type=float, default=3e-3)
    ap.add_argument("--flow-epochs", type=int, default=40)
    ap.add_argument("--flow-hidden", type=int, default=256, help="width of the embedding flow")
    ap.add_argument("--shape", type=float, default=0.0, help="latent shaping weight (VAEConfig.cond_weight)")
    ap.add_argument("--temperature", type=float, default=1.0, help="starting-noise temperature of the query rows")
    ap.add_argument("--no-whiten", action="store_true", help="PCA condition not whitened (one scale for all axes)")
    ap.add_argument("--heldout", type=int, default=1000)
    ap.add_argument("--uncond", type=int, default=1000)
    ap.add_argument("--queries", type=int, default=10)
    ap.add_argument("--query-start", type=int, default=0,
                    help="first held-out cell used as a query (30 with --queries 60: queries no setting was chosen on)")
    ap.add_argument("--per-query", type=int, default=20)
    ap.add_argument("--per-family", type=int, default=25)
    ap.add_argument("--guidance", type=float, default=3.0)
    ap.add_argument("--family-guidance", type=float, default=None, help="guidance of the family rows (default --guidance)")
    ap.add_argument("--cost-checks", type=int, default=30, help="macro: networks costed both ways")
    ap.add_argument("--macro-pairs", type=int, default=10000, help="macro: hindsight-labelled training pairs")
    ap.add_argument("--macro-epochs", type=int, default=12)
    ap.add_argument("--macro-prompts", type=int, default=500, help="macro: held-out budget prompts")
    ap.add_argument("--macro-forward", type=int, default=20, help="macro: sampled skeletons run forward")
    ap.add_argument("--save-macro", type=Path, default=None, help="macro: also write the trained transformer here")
    ap.add_argument("--load-macro", type=Path, default=None, help="macro: evaluate this saved transformer")
    ap.add_argument("--search-seeds", type=int, default=0, help="macro: budgeted searches with/without it (needs --load)")
    ap.add_argument("--search-evals", type=int, default=40)
    ap.add_argument("--search-params", default="1M")
    ap.add_argument("--search-flops", default="200M")
    ap.add_argument("--nbg-dataset", default="cora")
    ap.add_argument("--nbg-budget", default="500,200,100", help="look-up budgets, comma-separated")
    ap.add_argument("--nbg-top", default="0.05,0.01,0.005", help="top fractions, comma-separated")
    ap.add_argument("--nbg-seeds", type=int, default=20)
    ap.add_argument("--load", type=Path, default=None, help="evaluate this saved generator instead of training one")
    ap.add_argument("--save", type=Path, default=None, help="also write the trained generator here")
    ap.add_argument("--embed-cache", type=Path, default=None,
                    help=".npz of the conditioning cells' embeddings by cell hash (read if present, else written)")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads (1: on a shared 2-core machine two threads ran a VAE epoch ~10x slower)")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--out", type=Path, default=Path("bench/results/generate.json"))
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    report: dict = {"args": {k: str(v) for k, v in vars(args).items()}, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    wanted = args.sections.split(",")
    if "space" in wanted:
        section_space(report, args.seed)
    if "benchmark" in wanted:
        section_benchmark(report, args.bench_data, args.seed)
    if "nbg" in wanted:
        section_nbg(report, args)
    if "vae" in wanted:
        section_vae(report, args)
    if "generator" in wanted:
        section_generator(report, args)
    if "macro" in wanted:
        section_macro(report, args)
    print("\n## Acceptance figures\n")
    print(markdown(report))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1, default=float))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
