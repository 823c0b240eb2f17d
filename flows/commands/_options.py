"""CLI options defined once, as `Annotated` aliases shared by every command, and the helpers they need."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from nar_data.config import DEFAULT_DATA_DIR, TRACE_TIMEOUT_S, TRACE_WORKERS

DataOpt = Annotated[Path, typer.Option(
    "--data", "-d", help="Dataset folder (default: $NAR_DATA_DIR, else data/nar).", show_default=False)]
#: The name the dataset folder had in trace/crawl/build/refresh/publish/serve; still accepted.
OldOutOpt = Annotated[Path | None, typer.Option("--out", "-o", hidden=True, help="Deprecated: use --data.")]
CkptOpt = Annotated[Path | None, typer.Option(
    "--ckpt", "-c", help="Encoder checkpoint (default: the one the dataset records, written by `nar train`).",
    show_default=False)]
TopKOpt = Annotated[int, typer.Option("--top-k", "-k", min=1, help="Results to show.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout instead of tables.")]
LimitOpt = Annotated[int | None, typer.Option("--limit", "-n", min=0, help="Stop after this many models per source.")]
WorkersOpt = Annotated[int, typer.Option("--workers", "-j", min=1,
                                         help="Tracing worker processes (default: $NAR_TRACE_WORKERS, else 1).")]
TimeoutOpt = Annotated[float, typer.Option("--timeout", min=0.1,
                                           help="Seconds before one model's trace is stopped ($NAR_TRACE_TIMEOUT).")]
PresetOpt = Annotated[str | None, typer.Option("--preset", help="A model list from nar_data/catalog/presets/ (e.g. `demo`).")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed (same seed, same result).")]
EndpointOpt = Annotated[str | None, typer.Option("--endpoint", help="Hub URL (default: $HF_ENDPOINT or huggingface.co).")]

DEFAULT_DATA = DEFAULT_DATA_DIR
DEFAULT_WORKERS = TRACE_WORKERS
DEFAULT_TIMEOUT = TRACE_TIMEOUT_S


def data_dir(data: Path, out: Path | None = None) -> Path:
    """The dataset folder: ``--data``, or the deprecated ``--out`` (with a note on stderr)."""
    if out is None:
        return data
    typer.echo("note: --out is deprecated here; use --data (same meaning)", err=True)
    return out


def existing_dataset(data: Path) -> Path:
    """``data`` if it is a nar dataset folder; otherwise a `FileNotFoundError` that says what to run."""
    from nar_data.parquet import is_dataset

    if not Path(data).is_dir():
        raise FileNotFoundError(f"no dataset at {data}; build one with `nar build --data {data}` or "
                                f"`nar trace --data {data}`, or pass --data")
    if not is_dataset(data):
        raise FileNotFoundError(f"{data} is not a nar dataset (no models/graphs/embeddings shards); "
                                "pass the folder `nar trace` or `nar build` wrote")
    return data


def print_json(value: Any) -> None:
    """One JSON document on stdout (NaN as null, paths as strings)."""
    def clean(v: Any) -> Any:
        if isinstance(v, float) and v != v:
            return None
        if isinstance(v, dict):
            return {str(k): clean(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        return v

    json.dump(clean(value), sys.stdout, indent=1, default=str)
    sys.stdout.write("\n")
