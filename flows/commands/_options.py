"""CLI options defined once, as `Annotated` aliases shared by every command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nar_data.config import DEFAULT_DATA_DIR

OutOpt = Annotated[Path, typer.Option("--out", "-o", help="Dataset folder (created if absent; appended to if present).")]
DataOpt = Annotated[Path, typer.Option("--data", "-d", help="Dataset folder written by `nar trace` / `nar build`.")]
LimitOpt = Annotated[int | None, typer.Option("--limit", "-n", help="Stop after this many models per source.")]
WorkersOpt = Annotated[int, typer.Option("--workers", "-j", min=1, help="Tracing worker processes.")]
PresetOpt = Annotated[str | None, typer.Option("--preset", help="A model list from nar_data/catalog/presets/ (e.g. `demo`).")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed (same seed, same result).")]
DEFAULT_OUT = DEFAULT_DATA_DIR
