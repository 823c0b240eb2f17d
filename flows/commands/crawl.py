"""`nar crawl`: list Hub repos (Hugging Face Hub or PyTorch Hub) into the ``models`` table, incrementally."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from flows.commands._options import DEFAULT_OUT, LimitOpt, OutOpt


class HubSource(str, Enum):
    hf = "hf"
    torch_hub = "torch_hub"


class OnBudget(str, Enum):
    wait = "wait"
    stop = "stop"


def crawl(
    source: Annotated[HubSource, typer.Option("--source", "-s", help="hf (Hugging Face Hub) | torch_hub.")] = HubSource.hf,
    out: OutOpt = DEFAULT_OUT,
    search: Annotated[str | None, typer.Option(help="Substring of the repo id.")] = None,
    author: Annotated[str | None, typer.Option(help="Only repos of this user or organisation.")] = None,
    pipeline_tag: Annotated[str | None, typer.Option("--pipeline-tag", help="e.g. text-classification.")] = None,
    library: Annotated[str | None, typer.Option(help="transformers | timm | sentence-transformers | ...")] = None,
    filter: Annotated[list[str], typer.Option("--filter", help="Hub tag filter; repeatable.")] = [],  # noqa: B006
    min_downloads: Annotated[int, typer.Option("--min-downloads", help="Skip repos with fewer downloads.")] = 0,
    limit: LimitOpt = None,
    sort: Annotated[str | None, typer.Option(help="Hub sort key (downloads, likes, lastModified); default: "
                                             "creation order, the most stable cursor.")] = None,
    endpoint: Annotated[str | None, typer.Option(help="Hub URL (default: $HF_ENDPOINT or huggingface.co).")] = None,
    quota: Annotated[str | None, typer.Option(help="Client-side budget, e.g. 'api=500/300,resolvers=3000/300' "
                                              "or 'none'; default: the Hub's limits for anonymous / token use.")] = None,
    on_budget: Annotated[OnBudget, typer.Option("--on-budget", help="wait for the window, or stop (resume later).")] = OnBudget.wait,
    trust_remote_code: Annotated[bool, typer.Option("--trust-remote-code", help="Record auto_map repos as "
                                                    "buildable; their code then runs only in isolated workers.")] = False,
    strict_configs: Annotated[bool, typer.Option("--strict-configs", help="Download config.json of every new or "
                                                 "changed repo (no listing-fingerprint reuse).")] = False,
    fetch_cards: Annotated[bool, typer.Option("--fetch-cards", help="Download READMEs the listing has no card "
                                              "data for (resolver calls).")] = False,
    raw_config_hash: Annotated[bool, typer.Option("--raw-config-hash", help="Hash config.json as is (no "
                                                  "transformers import; hashes differ from the registry's).")] = False,
    page_size: Annotated[int, typer.Option("--page-size", min=1, max=1000, help="Repos per listing call.")] = 1000,
) -> None:
    """Crawl a model hub into the dataset at --out: one `models` row per new or changed repo.

    Hugging Face Hub crawls are incremental (only repos whose sha changed are looked at again), cheap
    (one API call per 1000 listed repos, one config.json download per new architecture), resumable (a
    killed crawl continues where it stopped; the state is in OUT/_crawl/), and stay under the Hub's
    quotas. HF_TOKEN is used when set (higher quota, gated repos) and never printed. Then run
    `nar trace --source hf --out OUT` to trace each new architecture once.

    Examples:

        nar crawl --author timm --limit 200 --out data/nar

        nar crawl --pipeline-tag text-classification --min-downloads 1000 --out data/nar

        nar crawl --source torch_hub --out data/nar
    """
    from rich.console import Console

    console = Console(stderr=True)
    if source is HubSource.torch_hub:
        _crawl_torch_hub(out, limit, console)
        return
    summary = _crawl_hf(out, console, search=search, author=author, pipeline_tag=pipeline_tag, library=library,
                        filter=tuple(filter), min_downloads=min_downloads, limit=limit, sort=sort, endpoint=endpoint,
                        quota=quota, on_budget=on_budget.value, trust_remote_code=trust_remote_code,
                        strict_configs=strict_configs, fetch_cards=fetch_cards, canonical=not raw_config_hash,
                        page_size=page_size)
    _print_summary(console, summary, out)


def _crawl_hf(out: Path, console, *, endpoint: str | None, quota: str | None, on_budget: str,  # noqa: ANN001
              trust_remote_code: bool, strict_configs: bool, fetch_cards: bool, canonical: bool, **query):  # noqa: ANN003
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from nar_data.hub import ANONYMOUS, WITH_TOKEN, CallBudget, CrawlQuery, HubClient, HubCrawler, parse_quota

    client = HubClient(endpoint=endpoint)
    quotas = parse_quota(quota) if quota else (WITH_TOKEN if client.has_token else ANONYMOUS)
    client.budget = CallBudget(quotas, on_exhausted=on_budget)
    columns = (SpinnerColumn(), TextColumn("[bold]crawl[/] {task.fields[listed]} listed, {task.fields[new]} new, "
               "{task.fields[changed]} changed, {task.fields[failed]} failed | API calls {task.fields[api]} "
               "(quota left {task.fields[api_left]}), config fetches {task.fields[res]} "
               "(left {task.fields[res_left]})"), TimeElapsedColumn())
    with Progress(*columns, console=console) as bar:
        task = bar.add_task("crawl", listed=0, new=0, changed=0, failed=0, api=0, res=0,
                            api_left=client.budget.left("api"), res_left=client.budget.left("resolvers"))

        def progress(s, c) -> None:  # noqa: ANN001
            bar.update(task, listed=s.listed, new=s.new, changed=s.changed, failed=sum(s.failed.values()),
                       api=s.api_calls, res=s.resolver_calls, api_left=c.budget.left("api"),
                       res_left=c.budget.left("resolvers"))

        crawler = HubCrawler(out, client, trust_remote_code=trust_remote_code, strict_configs=strict_configs,
                             fetch_cards=fetch_cards, canonical_configs=canonical, progress=progress)
        return crawler.crawl(CrawlQuery(**query))


def _print_summary(console, s, out: Path) -> None:  # noqa: ANN001
    from rich.table import Table

    table = Table(title=f"crawl of {out}" + (" (resumed)" if s.resumed else ""), show_header=False)
    for key, value in (("listed", s.listed), ("new", s.new), ("changed", s.changed), ("unchanged", s.unchanged),
                       ("filtered (min downloads)", s.filtered), ("new architecture configs", s.new_configs),
                       ("config fetches", s.config_fetches), ("configs reused from fingerprint", s.configs_reused),
                       ("API calls / resolver calls", f"{s.api_calls} / {s.resolver_calls}"),
                       ("retries (429 / 5xx)", s.retries), ("seconds", f"{s.seconds:.1f}"),
                       ("finished", "yes" if s.done else "no (re-run to resume)")):
        table.add_row(key, str(value))
    for cls, n in sorted(s.failed.items()):
        table.add_row(f"failed: {cls}", str(n))
    console.print(table)


def _crawl_torch_hub(out: Path, limit: int | None, console) -> None:  # noqa: ANN001
    from nar_data.parquet import read_table, write_shard
    from nar_data.schema import ModelRow
    from nar_data.sources.torch_hub import TorchHubSource

    known = set(read_table(out, "models", ["model_id"]).column("model_id").to_pylist())
    source = TorchHubSource()
    rows = [ModelRow.from_ref(ref, status="pending", labels=source.labels(ref), tracer_version="")
            for ref in source.iter_refs(limit=limit) if ref.model_id not in known]
    write_shard(out, "models", rows)
    console.print(f"torch_hub: {len(rows)} new allow-listed entrypoints written to {out}/models "
                  f"(building them runs repo code: `nar trace --source torch_hub` does it in isolated workers)")


def register(app: typer.Typer) -> None:
    app.command("crawl")(crawl)
