"""Flow `embed`: vectors for the arch_ids that have none yet under the checkpoint's encoder version.

A new encoder version has no vectors at all, so it re-embeds everything into its own rows (the card
then publishes it as ``embeddings`` and keeps the old version as ``embeddings-<old>``).
"""

from __future__ import annotations

from typing import Any

from flows import _prefect_env  # noqa: F401 - before prefect
from prefect import flow, task

from flows import steps
from flows._progress import Reporter
from flows._report import save_run_summary


@task(retries=1)
def embed_new(out: str, ckpt: str, batch_size: int = 64, show_progress: bool = True) -> dict[str, Any]:
    """Embed the graphs of ``out`` whose arch_id has no row of this encoder version; append one shard.

    ``show_progress``: a progress line on stderr (the flows call this task in their own process).
    """
    if not show_progress:
        return steps.embed(out, ckpt, batch_size=batch_size)
    with Reporter("embed", total=None) as reporter:
        return steps.embed(out, ckpt, batch_size=batch_size, reporter=reporter)


@flow(name="nar-embed", log_prints=True)
def embed_flow(out: str, ckpt: str) -> dict[str, Any]:
    counts = embed_new(out, ckpt)
    save_run_summary(out, "embed", counts)
    return counts
