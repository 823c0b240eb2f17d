"""Library exceptions -> one-line CLI messages (subclasses first); tracebacks only with NAR_DEBUG=1."""

from __future__ import annotations

from collections.abc import Callable

import typer

from nar_data.config import DEBUG
from nar_data.errors import NarDataError, SchemaError, UnknownSourceError

#: Ordered: the first matching class wins, so subclasses must come before their bases.
CLI_ERROR_MAPPINGS: list[tuple[type[BaseException], Callable[[BaseException], str]]] = [
    (UnknownSourceError, lambda e: f"{e}"),
    (SchemaError, lambda e: f"Dataset error: {e}"),
    (NarDataError, lambda e: f"{type(e).__name__}: {e}"),
    (FileNotFoundError, lambda e: f"File not found: {e.filename or e}"),
    (ValueError, lambda e: f"Invalid value: {e}"),
]


def format_error(exc: BaseException) -> str | None:
    for cls, fmt in CLI_ERROR_MAPPINGS:
        if isinstance(exc, cls):
            return fmt(exc)
    return None


def run_with_error_mapping(app: typer.Typer) -> int:
    try:
        app(standalone_mode=False)
    except SystemExit as e:
        return int(e.code or 0)
    except KeyboardInterrupt:
        typer.echo("Interrupted; everything written so far is kept (re-run to resume).", err=True)
        return 130
    except Exception as e:  # noqa: BLE001 - the CLI edge
        import click

        if isinstance(e, click.exceptions.ClickException):
            e.show()
            return e.exit_code
        if isinstance(e, click.exceptions.Abort):
            return 1
        message = format_error(e)
        if message is None or DEBUG:
            raise
        typer.echo(f"Error: {message}\n(set NAR_DEBUG=1 for the traceback)", err=True)
        return 1
    return 0
