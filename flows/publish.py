"""Flow `publish`: write the dataset card and, given a repo id, upload the new shards in one commit + tag."""

from __future__ import annotations

import time
from typing import Any

from flows import _prefect_env  # noqa: F401 - before prefect
from prefect import flow, task

from flows import steps
from flows._report import save_run_summary

#: Tag of every task that calls the Hub API. Create a matching global rate limit once per Prefect server
#: (`prefect gcl create hf-hub-api --limit 500 --slot-decay-per-second 1.6`) to keep all runs under the
#: Hub's 500 calls / 5 min; without it the tasks run unthrottled (the crawler has its own client-side budget).
HUB_TAG = "hf-hub-api"


#: How long the answer to "does the ``hf-hub-api`` limit exist?" is reused (a served refresh re-asks hourly).
_LIMIT_CHECK_TTL_S = 300.0
_limit_checked: tuple[float, bool] = (float("-inf"), False)


def _hub_limit_exists() -> bool:
    """Whether the Prefect API has a global limit named ``hf-hub-api`` (one cheap read, cached)."""
    global _limit_checked
    checked_at, exists = _limit_checked
    if time.monotonic() - checked_at < _LIMIT_CHECK_TTL_S:
        return exists
    from prefect.client.orchestration import get_client

    try:
        with get_client(sync_client=True) as client:
            client.read_global_concurrency_limit_by_name(HUB_TAG)
        exists = True
    except Exception:  # noqa: BLE001 - not found, or no API reachable: nothing to take a slot from
        exists = False
    _limit_checked = (time.monotonic(), exists)
    return exists


def hub_rate_limit() -> None:
    """Take a slot of the ``hf-hub-api`` global rate limit when one exists (no-op otherwise).

    Asking first matters: Prefect's ``rate_limit(strict=False)`` on a missing limit still goes through its
    slot-acquisition service, ~2 s per call on this machine, which was most of an empty refresh.
    """
    if not _hub_limit_exists():
        return
    from prefect.concurrency.sync import rate_limit

    try:
        rate_limit(HUB_TAG, strict=False)
    except Exception:  # noqa: BLE001 - the library's own call budget still applies
        pass


@task
def write_card(out: str, encoder_version: str | None = None, metrics_markdown: str = "",
               run: dict[str, Any] | None = None) -> str:
    """Render ``OUT/README.md`` (configs per table, counts, versions, metrics)."""
    return steps.publish(out, encoder_version=encoder_version, metrics_markdown=metrics_markdown, run=run)["card"]


@task(tags=["nar-publish", HUB_TAG], retries=3, retry_delay_seconds=[10, 30, 90])
def upload(out: str, repo_id: str, endpoint: str | None = None, tag: str | None = None) -> dict[str, Any]:
    """Upload the shards the Hub repo lacks + the card in one commit, then tag it (a retry re-sends only what is missing)."""
    hub_rate_limit()
    return steps.upload(out, repo_id, endpoint=endpoint, tag=tag)


@flow(name="nar-publish", log_prints=True)
def publish_flow(out: str, repo_id: str | None = None, endpoint: str | None = None,
                 encoder_version: str | None = None, tag: str | None = None) -> dict[str, Any]:
    card = write_card(out, encoder_version)
    result: dict[str, Any] = {"card": card}
    if repo_id:
        result["upload"] = upload(out, repo_id, endpoint, tag)
    save_run_summary(out, "publish", result)
    return result
