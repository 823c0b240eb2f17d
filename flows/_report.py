"""What a flow run leaves behind: a run summary file next to the data and Prefect artifacts."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from flows import _prefect_env  # noqa: F401 - before prefect
from nar_data.schema import sortable_stamp


def save_run_summary(out: str | os.PathLike, flow: str, summary: dict[str, Any]) -> Path:
    """Write ``OUT/_runs/flow-<flow>-<UTC stamp>.json`` atomically (the trace pool writes ``trace-*.json`` there)."""
    runs = Path(out) / "_runs"
    runs.mkdir(parents=True, exist_ok=True)
    stamp = sortable_stamp() + "Z"
    path = runs / f"flow-{flow}-{stamp}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"flow": flow, "finished_at": stamp, **summary}, indent=1, default=str))
    os.replace(tmp, path)
    return path


def artifact_table(key: str, rows: list[dict[str, Any]], description: str) -> None:
    """A Prefect table artifact (shown in the UI of a server run); a no-op outside a flow run."""
    from prefect.artifacts import create_table_artifact
    from prefect.context import FlowRunContext

    if FlowRunContext.get() is not None and rows:
        create_table_artifact(key=key, table=rows, description=description)


def artifact_markdown(key: str, markdown: str, description: str) -> None:
    from prefect.artifacts import create_markdown_artifact
    from prefect.context import FlowRunContext

    if FlowRunContext.get() is not None and markdown:
        create_markdown_artifact(key=key, markdown=markdown, description=description)


def dataset_id(out: str | os.PathLike) -> str:
    """A random id given to a dataset folder on first use (``OUT/_runs/dataset-id``).

    Cache keys include it, so a deleted and re-created folder never reuses cached task results.
    """
    import uuid

    path = Path(out) / "_runs" / "dataset-id"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(uuid.uuid4().hex)
        os.replace(tmp, path)
    return path.read_text().strip()
