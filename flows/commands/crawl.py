"""`nar crawl`: list Hub repos (Hugging Face Hub or PyTorch Hub) into the ``models`` table, incrementally."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from flows.commands._options import DEFAULT_DATA, DataOpt, EndpointOpt, JsonOpt, LimitOpt, OldOutOpt, data_dir, print_json


class HubSource(str, Enum):
    hf = "hf"
    torch_hub = "torch_hub"


class OnBudget(str, Enum):
    wait = "wait"
    stop = "stop"


def crawl(
    source: Annotated[HubSource, typer.Option("--source", "-s", help="hf (Hugging Face Hub) | torch_hub.")] = HubSource.hf,
    data: DataOpt = DEFAULT_DATA,
    out: OldOutOpt = None,
    search: Annotated[str | None, typer.Option(help="Substring of the repo id.")] = None,
    author: Annotated[str | None, typer.Option(help="Only repos of this user or organisation.")] = None,
    pipeline_tag: Annotated[str | None, typer.Option("--pipeline-tag", help="e.g. text-classification.")] = None,
    library: Annotated[str | None, typer.Option(help="transformers | timm | sentence-transformers | ...")] = None,
    filter: Annotated[list[str], typer.Option("--filter", help="Hub tag filter; repeatable.")] = [],  # noqa: B006
    min_downloads: Annotated[int, typer.Option("--min-downloads", help="Skip repos with fewer downloads.")] = 0,
    limit: LimitOpt = None,
    sort: Annotated[str | None, typer.Option(help="Hub sort key (downloads, likes, lastModified); default: "
                                             "creation order, the most stable cursor.")] = None,
    endpoint: EndpointOpt = None,
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
    as_json: JsonOpt = False,
) -> None:
    """Crawl a model hub into the dataset at --data: one `models` row per new or changed repo.

    Hugging Face Hub crawls are incremental (only repos whose sha changed are looked at again), cheap
    (one API call per 1000 listed repos, one config.json download per new architecture), resumable (a
    killed crawl continues where it stopped; the state is in DATA/_crawl/), and stay under the Hub's
    quotas. HF_TOKEN is used when set (higher quota, gated repos) and never printed. Then run
    `nar trace --source hf` to trace each new architecture once.

    Examples:

    \b
        nar crawl --author timm --limit 200
        nar crawl --pipeline-tag text-classification --min-downloads 1000 --data data/nar
        nar crawl --source torch_hub
    """
    from flows import steps
    from flows._progress import Reporter

    data = data_dir(data, out)
    if source is HubSource.torch_hub:
        result = steps.crawl_torch_hub(data, limit)
        if as_json:
            print_json(result)
            return
        typer.echo(f"torch_hub: {result['new']} new allow-listed entrypoints written to {data}/models (building "
                   "them runs repo code: `nar trace --source torch_hub` does it in isolated workers)")
        return
    query = dict(search=search, author=author, pipeline_tag=pipeline_tag, library=library, filter=tuple(filter),
                 min_downloads=min_downloads, limit=limit, sort=sort, page_size=page_size)
    with Reporter("crawl", total=limit, every=1000) as reporter:
        summary = steps.crawl_hf(data, endpoint=endpoint, query=query, quota=quota, on_budget=on_budget.value,
                                 trust_remote_code=trust_remote_code, strict_configs=strict_configs,
                                 fetch_cards=fetch_cards, canonical_configs=not raw_config_hash, reporter=reporter)
    if as_json:
        print_json(summary)
        return
    _print_summary(summary, data)


def _print_summary(s: dict, data: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"crawl of {data}" + (" (resumed)" if s["resumed"] else ""), show_header=False)
    for key, value in (("listed", s["listed"]), ("new", s["new"]), ("changed", s["changed"]),
                       ("unchanged", s["unchanged"]), ("filtered (min downloads)", s["filtered"]),
                       ("new architecture configs", s["new_configs"]), ("config fetches", s["config_fetches"]),
                       ("configs reused from fingerprint", s["configs_reused"]),
                       ("API calls / resolver calls", f"{s['api_calls']} / {s['resolver_calls']}"),
                       ("retries (429 / 5xx)", s["retries"]), ("seconds", f"{s['seconds']:.1f}"),
                       ("finished", "yes" if s["done"] else "no (re-run to resume)")):
        table.add_row(key, str(value))
    for cls, n in sorted(s["failed"].items()):
        table.add_row(f"failed: {cls}", str(n))
    Console(stderr=True, width=None if Console(stderr=True).is_terminal else 120).print(table)


def register(app: typer.Typer) -> None:
    app.command("crawl")(crawl)
