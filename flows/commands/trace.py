"""`nar trace` (models -> graphs dataset) and `nar coverage` (what a dataset covers)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer

from flows.commands._options import DEFAULT_OUT, LimitOpt, OutOpt, PresetOpt, WorkersOpt

SourceOpt = Annotated[list[str], typer.Option(
    "--source", "-s", help="timm | torchvision | transformers | all (the three registries) | hf (repos a `nar crawl` "
    "wrote into --out) | torch_hub; repeatable.")]


def trace(
    source: SourceOpt = ["all"],  # noqa: B006 - typer needs a literal default
    preset: PresetOpt = None,
    limit: LimitOpt = None,
    workers: WorkersOpt = 1,
    out: OutOpt = DEFAULT_OUT,
    timeout: Annotated[float, typer.Option(help="Seconds before one model's trace is stopped.")] = 120.0,
    memory_limit_gb: Annotated[float, typer.Option("--memory-limit-gb", help="Worker RSS limit per model.")] = 3.0,
    retry_failed: Annotated[bool, typer.Option(help="Try again models that failed with this tracer version.")] = False,
) -> None:
    """Build models on the meta device (no weights) and trace them into the graph dataset at --out.

    Re-running resumes: models already in the dataset are skipped and each architecture config is traced
    once. Failures (exceptions, timeouts, memory, crashes) become rows of the `failures` table.

    Examples:

        nar trace --preset demo --out data/demo

        nar trace --source timm --limit 50 --workers 2 --out data/nar
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from nar_data.presets import iter_refs
    from nar_data.dataset import trace_to_dataset

    console = Console(stderr=True)
    refs = list(iter_refs(source, preset, limit, source_kwargs={"hf": {"data": out}}))
    if not refs:
        raise typer.BadParameter("no models selected; check --source / --preset / --limit")
    columns = (TextColumn("[bold]trace"), BarColumn(), MofNCompleteColumn(), TextColumn("ok {task.fields[ok]} "
               "failed {task.fields[failed]} skipped {task.fields[skipped]}"), TimeElapsedColumn(),
               TextColumn("{task.fields[last]}"))
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task("trace", total=len(refs), ok=0, failed=0, skipped=0, last="")
        counts = {"ok": 0, "failed": 0, "skipped": 0}

        def progress(event: str, ref, outcome) -> None:  # noqa: ANN001
            if event == "done":
                counts["ok" if outcome.ok else "failed"] += 1
            else:
                counts["ok" if event == "reuse" else "skipped"] += 1
            bar.update(task, advance=1, last=ref.model_id, **counts)

        summary = trace_to_dataset(refs, out, workers=workers, timeout_s=timeout,
                                   memory_limit=int(memory_limit_gb * 2**30), retry_failed=retry_failed,
                                   progress=progress)
        bar.update(task, completed=len(refs))
    console.print(f"traced {summary.traced}, reused {summary.reused}, skipped {summary.skipped}, "
                  f"failed {summary.failed} in {summary.seconds:.0f} s -> {out}")
    print_coverage(out)


def print_coverage(out: Path, as_json: bool = False) -> None:
    from rich.console import Console
    from rich.table import Table

    from nar_data.coverage import coverage, run_stats

    cov, stats = coverage(out), run_stats(out)
    if as_json:
        typer.echo(json.dumps({"coverage": cov, "runs": stats}, indent=1))
        return
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


def coverage_cmd(
    data: Annotated[Path, typer.Argument(help="Dataset folder written by `nar trace`.")] = DEFAULT_OUT,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Per-source success rates, median/p90 seconds, node counts, dedup and the top failure classes."""
    if not Path(data).is_dir():
        raise FileNotFoundError(data)
    print_coverage(data, as_json)


def register(app: typer.Typer) -> None:
    app.command("trace")(trace)
    app.command("coverage")(coverage_cmd)
