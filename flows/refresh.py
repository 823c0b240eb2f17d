"""Flow `refresh`: the incremental chain, run on a schedule by `nar serve`.

crawl deltas (only repos whose sha changed are looked at) -> trace the config hashes not traced yet ->
embed the arch_ids without a vector of the current encoder -> rewrite the card -> upload only the new
shard files. Every step resumes from what the folder holds, so killing a refresh and running it again
gives the same dataset: shards are immutable and written atomically, the crawl state is committed per
page, and the upload compares file names with the repo before sending anything.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from flows import _prefect_env  # noqa: F401 - before prefect
from prefect import flow

from nar_data.config import DEFAULT_DATA_DIR, TRACE_TIMEOUT_S, TRACE_WORKERS

from flows._report import artifact_table, save_run_summary
from flows.crawl import crawl_hub
from flows.embed import embed_new
from flows.publish import upload, write_card
from flows.train import train_encoder
from flows.trace import run_trace, select_refs


@flow(name="nar-refresh", log_prints=True)
def refresh_flow(out: str = str(DEFAULT_DATA_DIR), endpoint: str | None = None, crawl_query: dict[str, Any] | None = None,
                 ckpt: str | None = None, encoder: str = "nar", workers: int = TRACE_WORKERS,
                 timeout_s: float = TRACE_TIMEOUT_S,
                 repo_id: str | None = None, quota: str | None = None,
                 preload: list[str] | None = None) -> dict[str, Any]:
    """One incremental refresh of ``out`` from the Hub at ``endpoint``; returns what each step did.

    ``ckpt`` (default ``OUT/_checkpoints/<encoder>.pt``) is trained once if missing; afterwards the same
    encoder version embeds only new arch_ids. Train a new one (`nar train`) to re-embed everything.
    """
    summary: dict[str, Any] = {"out": out}
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[stage], clock = round(now - clock, 2), now

    summary["crawl"] = crawl_hub(out, endpoint, crawl_query, quota)
    lap("crawl")
    refs = select_refs(["hf"], data=out, pending_only=True)
    lap("select")
    summary["trace"] = run_trace(refs, out, workers=workers, timeout_s=timeout_s, preload=preload)
    lap("trace")
    from nar_model.checkpoint import default_checkpoint_path

    ckpt = ckpt or str(default_checkpoint_path(out, encoder))
    if not Path(ckpt).is_file():
        summary["trained"] = train_encoder(out, ckpt, encoder)
        lap("train")
    summary["embed"] = embed_new(out, ckpt)
    lap("embed")
    summary["card"] = write_card(out, summary["embed"]["encoder_version"])
    lap("card")
    if repo_id:
        summary["upload"] = upload(out, repo_id, endpoint)
        lap("upload")
    summary["seconds"] = seconds
    artifact_table("refresh", [{"stage": k, **{kk: vv for kk, vv in v.items() if isinstance(vv, (int, float))}}
                               for k, v in summary.items() if isinstance(v, dict)], "What this refresh did")
    summary["summary_file"] = str(save_run_summary(out, "refresh", summary))
    return summary
