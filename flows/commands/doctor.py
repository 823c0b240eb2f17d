"""`nar doctor`: check a dataset folder and say how to repair it (`nar_data.doctor`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from flows.commands._options import DEFAULT_DATA, DataOpt, JsonOpt, print_json

_MARK = {"ok": "ok  ", "info": "info", "warn": "warn", "error": "FAIL"}


def doctor(
    path: Annotated[Path | None, typer.Argument(help="Dataset folder (same as --data).", show_default=False)] = None,
    data: DataOpt = DEFAULT_DATA,
    fix: Annotated[bool, typer.Option("--fix", help="Move bad shards and orphan temp files into "
                                      "DATA/_quarantine/ (never deletes).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Check a dataset: shards that cannot be read, schema and tracer versions, duplicate rows, orphan temp files.

    Exits 1 while a problem that stops the readers remains (run with --fix to move it aside).

    Examples:

    \b
        nar doctor
        nar doctor --data data/nar --json
        nar doctor --data data/nar --fix
    """
    from nar_data.doctor import diagnose, repair

    root = path or data
    report = diagnose(root)
    moves = repair(report) if fix else []
    after = diagnose(root) if moves else report
    if as_json:
        print_json({**after.to_dict(), "moved": [{"from": a, "to": b} for a, b in moves]})
    else:
        for f in report.findings:
            typer.echo(f"{_MARK[f.level]}  {f.check}: {f.message}")
            if f.fix and f.level != "ok":
                typer.echo(f"      fix: {f.fix}")
        for a, b in moves:
            typer.echo(f"moved {a} -> {b}")
        typer.echo(f"{root}: " + ("healthy" if after.ok else "needs repair (see the fix lines above)"))
    if not after.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)
