"""`nar trace` (models -> graphs dataset) and `nar coverage` (what a dataset covers)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer

from flows.commands._options import (DEFAULT_DATA, DEFAULT_TIMEOUT, DEFAULT_WORKERS, DataOpt, JsonOpt, LimitOpt,
                                     OldOutOpt, PresetOpt, TimeoutOpt, WorkersOpt, data_dir, existing_dataset,
                                     print_json)
from nar_data.config import TRACE_MEMORY_LIMIT

SourceOpt = Annotated[list[str], typer.Option(
    "--source", "-s", help="timm | torchvision | transformers | all (the three registries) | hf (repos a `nar crawl` "
    "wrote into --data) | torch_hub; repeatable.")]


def trace(
    source: SourceOpt = ["all"],  # noqa: B006 - typer needs a literal default
    preset: PresetOpt = None,
    limit: LimitOpt = None,
    workers: WorkersOpt = DEFAULT_WORKERS,
    data: DataOpt = DEFAULT_DATA,
    out: OldOutOpt = None,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
    memory_limit_gb: Annotated[float, typer.Option("--memory-limit-gb", min=0.1, help="Worker RSS limit per model "
                                                   "($NAR_TRACE_MEMORY_GB).")] = TRACE_MEMORY_LIMIT / 2**30,
    retry_failed: Annotated[bool, typer.Option(help="Try again models that failed with this tracer version.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Build models on the meta device (no weights) and trace them into the graph dataset at --data.

    Re-running resumes: models already in the dataset are skipped and each architecture config is traced
    once. Failures (exceptions, timeouts, memory, crashes) become rows of the `failures` table. Ctrl-C
    keeps every row written so far.

    Examples:

    \b
        nar trace --source timm --limit 3
        nar trace --preset demo --data data/demo
        nar trace --source timm --source torchvision --limit 50 --workers 2
    """
    from flows import steps
    from flows._progress import Reporter

    data = data_dir(data, out)
    refs = steps.select_refs(source, preset, limit, data=data)
    if not refs:
        raise typer.BadParameter("no models selected; check --source / --preset / --limit", param_hint="--source")
    with Reporter("trace", total=len(refs)) as reporter:
        summary = steps.trace(refs, data, workers=workers, timeout_s=timeout,
                              memory_limit=int(memory_limit_gb * 2**30), retry_failed=retry_failed, reporter=reporter)
    if as_json:
        print_json({"run": summary, **_coverage_json(data)})
        return
    typer.echo(f"traced {summary['traced']}, reused {summary['reused']}, skipped {summary['skipped']}, "
               f"failed {summary['failed']} in {summary['seconds']:.0f} s -> {data}", err=True)
    print_coverage(data)


def _coverage_json(data: Path) -> dict:
    from nar_data.coverage import coverage, run_stats

    return {"coverage": coverage(data), "runs": run_stats(data)}


def print_coverage(out: Path, as_json: bool = False) -> None:
    from rich.console import Console
    from rich.table import Table

    from nar_data.coverage import coverage, run_stats

    if as_json:
        print_json(_coverage_json(out))
        return
    cov, stats = coverage(out), run_stats(out)
    console = Console()
    if not console.is_terminal:  # logs and pipes: wide enough for every column
        console = Console(width=180)
    table = Table(title=f"Coverage of {out}")
    for col in ("source", "models", "ok", "failed", "success", "median s", "p90 s", "models/min", "nodes med",
                "nodes p90", "arch_ids"):
        table.add_column(col, justify="left" if col == "source" else "right")

    def f(x: float, fmt: str = ".2f") -> str:
        return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, fmt)

    for name, c in cov["sources"].items():
        s = stats["per_source"].get(name, {})
        table.add_row(name, str(c["models"]), str(c["ok"]), str(c["failed"]), f"{100 * c['success']:.1f}%",
                      f(c["seconds"]["median"]), f(c["seconds"]["p90"]), f(s.get("models_per_min", float("nan")), ".0f"),
                      f(c["nodes"]["median"], ".0f"), f(c["nodes"]["p90"], ".0f"), str(c["arch_ids"]))
    t = cov["total"]
    table.add_row("[bold]all", str(t["models"]), str(t["ok"]), str(t["models"] - t["ok"]),
                  f"{100 * t['success']:.1f}%", "", "", "", "", "", str(t["arch_ids"]))
    console.print(table)
    fails = [(name, x) for name, c in cov["sources"].items() for x in c["failures"]]
    if fails:
        ft = Table(title="Top failure classes")
        for col in ("source", "stage/class", "count", "example"):
            ft.add_column(col)
        for name, x in fails:
            ft.add_row(name, x["class"], str(x["count"]), x["example"])
        console.print(ft)
    if stats["top_rss"]:
        console.print("Top worker RSS: " + ", ".join(f"{m['model_id']} {m['rss_mib']:.0f} MiB" for m in stats["top_rss"]))
    console.print(f"Dedup: {t['ok']} traced models -> {t['arch_ids']} distinct arch_ids")
    if cov["bad_shards"]:
        console.print(f"[bold red]{len(cov['bad_shards'])} bad shard(s) left out[/] (`nar doctor --data {out} --fix` "
                      "moves them to _quarantine/):")
        for b in cov["bad_shards"]:
            console.print(f"  {b['reason']}", markup=False, soft_wrap=True)


def coverage_cmd(
    path: Annotated[Path | None, typer.Argument(help="Dataset folder (same as --data).", show_default=False)] = None,
    data: DataOpt = DEFAULT_DATA,
    as_json: JsonOpt = False,
) -> None:
    """Per-source success rates, median/p90 seconds, node counts, dedup, the top failure classes and bad shards.

    Examples:

    \b
        nar coverage
        nar coverage --data data/nar --json
    """
    print_coverage(existing_dataset(path or data), as_json)


def register(app: typer.Typer) -> None:
    app.command("trace")(trace)
    app.command("coverage")(coverage_cmd)
