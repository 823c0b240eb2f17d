"""Flow `crawl`: list a Hub into the dataset's ``models`` table, incrementally (only new/changed shas)."""

from __future__ import annotations

from typing import Any

from flows import _prefect_env  # noqa: F401 - before prefect
from prefect import flow, task

from flows import steps
from flows._progress import Reporter
from flows.publish import HUB_TAG, hub_rate_limit


@task(tags=["nar-crawl", HUB_TAG], retries=3, retry_delay_seconds=[10, 60, 300])
def crawl_hub(out: str, endpoint: str | None = None, query: dict[str, Any] | None = None,
              quota: str | None = None, show_progress: bool = True) -> dict[str, Any]:
    """One `HubCrawler.crawl`: resumes an unfinished run of the same query, so a retry never repeats pages.

    ``show_progress``: a progress line on stderr (`flows._progress.Reporter`); the flows call this task in their
    own process, where the command's stderr is.
    """
    hub_rate_limit()
    if not show_progress:
        return steps.crawl_hf(out, endpoint=endpoint, query=query, quota=quota)
    with Reporter("crawl", total=(query or {}).get("limit"), every=1000) as reporter:
        return steps.crawl_hf(out, endpoint=endpoint, query=query, quota=quota, reporter=reporter)


@flow(name="nar-crawl", log_prints=True)
def crawl_flow(out: str, endpoint: str | None = None, query: dict[str, Any] | None = None,
               quota: str | None = None) -> dict[str, Any]:
    """`crawl_hub` as a flow; the step itself saves the run summary (``OUT/_runs/flow-crawl-*.json``)."""
    return crawl_hub(out, endpoint, query, quota)
