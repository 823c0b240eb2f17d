"""`nar build`, `nar refresh`, `nar publish`, `nar serve`: the Prefect flows from the command line.

Runs use Prefect's ephemeral local API unless ``PREFECT_API_URL`` points at a server
(``prefect server start``); then runs, logs and artifacts show in its UI.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from flows.commands._options import (DEFAULT_DATA, DEFAULT_TIMEOUT, DEFAULT_WORKERS, CkptOpt, DataOpt, EndpointOpt,
                                     JsonOpt, LimitOpt, OldOutOpt, PresetOpt, SeedOpt, TimeoutOpt, WorkersOpt,
                                     data_dir, existing_dataset, print_json)

RunnerOpt = Annotated[str, typer.Option("--runner", help="Task runner: local | dask | ray (ray: pip install 'nar[ray]').")]
AddressOpt = Annotated[str | None, typer.Option("--address", help="Scheduler of an existing Dask/Ray cluster.")]
RepoOpt = Annotated[str | None, typer.Option("--repo-id", help="Upload to this Hub dataset repo (ORG/NAME).")]
SourcesOpt = Annotated[list[str], typer.Option("--source", "-s", help="all (timm, torchvision, transformers) | "
                                                "timm | torchvision | transformers | hf; repeatable.")]


def _note_flow_start() -> None:
    """One line before a flow starts: without PREFECT_API_URL, Prefect first starts a temporary local API, which
    on a busy 2-core machine takes 30-60 s of otherwise silent waiting."""
    import os

    if not os.environ.get("PREFECT_API_URL"):
        typer.echo("starting a temporary local Prefect API (set PREFECT_API_URL to use a running server) ...",
                   err=True)


def _print_build(summary: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=160)
    t = summary.get("trace", {})
    console.print(f"[bold]traced[/] {t.get('traced', 0)}, reused {t.get('reused', 0)}, skipped {t.get('skipped', 0)}, "
                  f"failed {t.get('failed', 0)}; embedded {summary.get('embed', {}).get('embedded', 0)} with "
                  f"{summary.get('encoder_version')}")
    if summary.get("metrics"):
        console.print("\n[bold]Retrieval on held-out families[/]\n" + summary["metrics"] + "\n")
    for query, hits in summary.get("neighbours", {}).items():
        table = Table(title=f"top-{len(hits)} neighbours of {query}")
        for col in ("rank", "cosine", "model", "family", "+ same arch"):
            table.add_column(col)
        for i, h in enumerate(hits, 1):
            table.add_row(str(i), f"{h['score']:.3f}", h["model"], h["family"], str(h["also"]))
        console.print(table)
    if "upload" in summary:
        u = summary["upload"]
        console.print(f"uploaded {len(u['uploaded'])} new files to {u['repo_id']} ({u['skipped']} already there), "
                      f"tag {u['tag']}")
    console.print(f"stage seconds: {summary.get('seconds')}; total {summary.get('total_s')} s; "
                  f"summary: {summary.get('summary_file')}")


def build(
    preset: PresetOpt = "demo",
    source: SourcesOpt = ["all"],  # noqa: B006
    data: DataOpt = DEFAULT_DATA,
    out: OldOutOpt = None,
    workers: WorkersOpt = DEFAULT_WORKERS,
    limit: LimitOpt = None,
    encoder: Annotated[str, typer.Option("--encoder", "-e", help="Encoder to train and publish.")] = "nar",
    epochs: Annotated[int | None, typer.Option(help="Graph-level epochs (default: EncoderConfig).")] = None,
    eval_encoders: Annotated[str, typer.Option("--eval", help="Comma-separated encoders to evaluate ('' = none).")] = "wl,nar",
    queries: Annotated[str, typer.Option(help="Comma-separated example queries.")] = "torchvision:resnet50,torchvision:vit_b_16,transformers:BertModel",
    endpoint: EndpointOpt = None,
    repo_id: RepoOpt = None,
    runner: RunnerOpt = "local",
    address: AddressOpt = None,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
    seed: SeedOpt = 0,
    as_json: JsonOpt = False,
) -> None:
    """Build the dataset end to end: (crawl) -> trace -> train -> evaluate -> embed -> publish -> example searches.

    Writes the checkpoint to DATA/_checkpoints/ENCODER.pt and records it, so `nar search` and
    `nar embed` on the same --data need no --ckpt. --runner dask or ray spreads the tracing over a
    cluster (ray needs: pip install 'nar[ray]').

    Examples:

    \b
        nar build --preset demo --workers 2
        nar build --preset library --data data/library
        nar crawl --endpoint http://127.0.0.1:8000 --data data/hub && nar build --source hf --data data/hub
    """
    from flows.build import build_flow
    from flows.runners import make_task_runner

    if "hf" in source:  # the crawl selects the Hub models; presets name registry models
        preset = None
    data = data_dir(data, out)
    params = dict(out=str(data), sources=list(source), preset=preset, limit=limit, workers=workers, timeout_s=timeout,
                  encoder=encoder, epochs=epochs, eval_encoders=[e for e in eval_encoders.split(",") if e],
                  endpoint=endpoint, repo_id=repo_id, queries=[q for q in queries.split(",") if q], seed=seed,
                  batches=1 if runner == "local" else workers)
    flow = build_flow.with_options(task_runner=make_task_runner(runner, address, workers))
    _note_flow_start()
    summary = flow(**params)
    if as_json:
        print_json(summary)
        return
    _print_build(summary)


def refresh(
    data: DataOpt = DEFAULT_DATA,
    out: OldOutOpt = None,
    endpoint: EndpointOpt = None,
    author: Annotated[str | None, typer.Option(help="Only repos of this user or organisation.")] = None,
    search: Annotated[str | None, typer.Option(help="Substring of the repo id.")] = None,
    ckpt: CkptOpt = None,
    workers: WorkersOpt = DEFAULT_WORKERS,
    repo_id: RepoOpt = None,
    quota: Annotated[str | None, typer.Option(help="Client-side Hub budget, e.g. 'api=500/300'.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Incremental refresh from the Hub: crawl deltas -> trace new configs -> embed new arch_ids -> upload new shards.

    Examples:

    \b
        nar refresh --data data/hub --endpoint http://127.0.0.1:8000 --repo-id nar/architectures
    """
    from flows.refresh import refresh_flow

    data = data_dir(data, out)
    if ckpt is None and data.is_dir():
        from nar_model.checkpoint import dataset_checkpoint

        try:
            ckpt = dataset_checkpoint(data)
        except FileNotFoundError:  # none yet: the flow trains one
            ckpt = None
    query = {k: v for k, v in (("author", author), ("search", search)) if v}
    _note_flow_start()
    summary = refresh_flow(out=str(data), endpoint=endpoint, crawl_query=query or None,
                           ckpt=str(ckpt) if ckpt else None, workers=workers, repo_id=repo_id, quota=quota)
    summary = {k: v for k, v in summary.items() if k != "card"}
    if as_json:
        print_json(summary)
        return
    for stage, value in summary.items():
        if isinstance(value, dict) and stage != "seconds":
            shown = {k: v for k, v in value.items() if isinstance(v, (int, float, str)) and not isinstance(v, bool)}
            typer.echo(f"{stage}: " + ", ".join(f"{k} {v}" for k, v in shown.items()))
    typer.echo(f"seconds per stage: {summary.get('seconds')}; summary: {summary.get('summary_file')}")


def publish(
    data: DataOpt = DEFAULT_DATA,
    out: OldOutOpt = None,
    repo_id: RepoOpt = None,
    endpoint: EndpointOpt = None,
    tag: Annotated[str | None, typer.Option(help="Release tag (default r<UTC time>).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Write DATA/README.md (a Hugging Face dataset card) and, with --repo-id, upload the new shards.

    Examples:

    \b
        nar publish
        nar publish --data data/nar --repo-id my-org/nar-architectures
    """
    from flows import steps

    data = existing_dataset(data_dir(data, out))
    result = steps.publish(data, repo_id, endpoint=endpoint, tag=tag)
    if as_json:
        print_json(result)
        return
    typer.echo(f"card: {result['card']}  (datasets.load_dataset('{data}', 'graphs') reads it)")
    if "upload" in result:
        r = result["upload"]
        typer.echo(f"uploaded {len(r['uploaded'])} new files ({r['skipped']} already there) to {repo_id}"
                   + (f", commit {r['commit'][:12]}, tag {r['tag']}" if r["commit"] else ": nothing new"))


def serve(
    data: DataOpt = DEFAULT_DATA,
    out: OldOutOpt = None,
    cron: Annotated[str, typer.Option(help="Cron schedule of the refresh deployment (UTC).")] = "0 3 * * *",
    endpoint: EndpointOpt = None,
    repo_id: RepoOpt = None,
    name: Annotated[str, typer.Option(help="Deployment name.")] = "nightly",
) -> None:
    """Register a `refresh` deployment with a cron schedule and serve it (needs PREFECT_API_URL; blocks).

    Examples:

    \b
        prefect server start &  export PREFECT_API_URL=http://127.0.0.1:4200/api
        nar serve --data data/hub --endpoint http://127.0.0.1:8000 --cron '*/30 * * * *'
    """
    import os

    from flows.refresh import refresh_flow

    if not os.environ.get("PREFECT_API_URL"):
        raise ValueError("`nar serve` needs a Prefect server: run `prefect server start` and set "
                         "PREFECT_API_URL=http://127.0.0.1:4200/api")
    data = data_dir(data, out)
    refresh_flow.serve(name=name, cron=cron, parameters={"out": str(data), "endpoint": endpoint, "repo_id": repo_id})


def register(app: typer.Typer) -> None:
    app.command("build")(build)
    app.command("refresh")(refresh)
    app.command("publish")(publish)
    app.command("serve")(serve)
