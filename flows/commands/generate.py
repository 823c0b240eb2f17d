"""`nar generate`: new architectures near a query, or the best networks under a parameter/FLOPs budget.

The work is `nar.generate.generate`; this module only parses options and prints.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from flows.commands._options import JsonOpt, SeedOpt, TopKOpt


def generate(
    near: Annotated[str | None, typer.Option("--near", help="Query: an arch_id/model_id of --data, source:name "
                                             "(timm:resnet50) or a config.json.")] = None,
    k: TopKOpt = 10,
    n: Annotated[int, typer.Option("--samples", help="Cells sampled before ranking.")] = 100,
    data: Annotated[Path | None, typer.Option("--data", "-d", help="Dataset the query id is looked up in.")] = None,
    generator: Annotated[Path, typer.Option("--generator", "-g", help="Cell generator checkpoint (trained and "
                                            "written here when absent).")] = Path("data/_checkpoints/hgnas.pt"),
    train: Annotated[bool, typer.Option("--train", help="(Re)train the cell generator first.")] = False,
    train_cells: Annotated[int, typer.Option("--train-cells", help="G-VAE training cells.")] = 20000,
    train_cond: Annotated[int, typer.Option("--train-cond", help="Cells traced and embedded for the flows.")] = 8000,
    budget_params: Annotated[str | None, typer.Option("--budget-params", help="Parameter budget, e.g. 1M.")] = None,
    budget_flops: Annotated[str | None, typer.Option("--budget-flops", help="FLOPs budget, e.g. 200M.")] = None,
    evaluations: Annotated[int, typer.Option("--evaluations", help="ZC evaluations of the budgeted search.")] = 60,
    macro: Annotated[Path | None, typer.Option("--macro", help="Macro transformer checkpoint: the budgeted search "
                                               "takes its skeletons from it (trained and written here when "
                                               "absent, minutes); without it they are drawn at random.")] = None,
    macro_pairs: Annotated[int, typer.Option("--macro-pairs", help="Training pairs when --macro is trained.")] = 10000,
    as_json: JsonOpt = False,
    seed: SeedOpt = 0,
) -> None:
    """Generate architectures with the hierarchical generative model (cells from a G-VAE + latent flow).

    The first run trains the cell generator (minutes) and writes it to --generator.

    Examples:

    \b
        nar generate --near torchvision:resnet18 -k 5
        nar generate --near timm:resnet50 --data data/nar -k 10
        nar generate --budget-params 1M --budget-flops 200M
        nar generate --budget-params 1M --budget-flops 200M --macro data/_checkpoints/hgnas-macro.pt
    """
    from nar.generate import generate as run

    result = run(near=near, data=data, k=k, n=n, generator_path=generator, train=train, train_cells=train_cells,
                 train_cond=train_cond, budget_params=budget_params, budget_flops=budget_flops,
                 evaluations=evaluations, seed=seed, macro_path=macro, macro_pairs=macro_pairs,
                 log=lambda m: typer.echo(m, err=True))
    if as_json:
        typer.echo(json.dumps(result, indent=1, default=str))
        return
    if "near" in result:
        r = result["near"]
        typer.echo(f"{len(r['candidates'])} candidates near {r['query']} from {r['n']} samples in {r['seconds']:.1f}s")
        for c in r["candidates"]:
            typer.echo(f"{c['rank']:>3}  cos {c['cosine']:.4f}  {c['model_id']}  params {c['num_params']:,}  "
                       f"forward {'ok' if c['runs_forward'] else 'FAILED'}  {'new' if c['new'] else 'seen'}  {c['cell']}")
    if "search" in result:
        s = result["search"]
        typer.echo(f"best networks under params {s['budget_params']} / FLOPs {s['budget_flops']} "
                   f"({s['best'][0]['evaluated'] if s['best'] else 0} evaluated, {s['seconds']:.1f}s, "
                   f"skeletons: {s['skeletons']}):")
        for b in s["best"]:
            typer.echo(f"{b['rank']:>3}  naswot {b['naswot']:.2f}  params {b['params']:,}  flops {b['flops']:,}  "
                       f"stages {b['stages']}  forward {'ok' if b['runs_forward'] else 'FAILED'}  {b['cell']}")
    if not ("near" in result or "search" in result):
        typer.echo(f"trained the cell generator -> {result['generator']}")


def register(app: typer.Typer) -> None:
    app.command("generate")(generate)
