"""Exceptions -> one-line CLI messages and honest exit codes; tracebacks only with ``NAR_DEBUG=1``.

Exit codes: 0 done, 1 a library error (the line says what to do), 2 a usage error (bad option or
value), 130 Ctrl-C, 143 SIGTERM. An interrupted step keeps what it wrote and says how many rows.

Typer 0.29 raises the exceptions of its bundled click copy (``typer._click``, rooted at
``typer.TyperException``); older typer releases raised those of the ``click`` package. Both are
recognised, so the mapping does not depend on which one a given typer ships.
"""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

import typer

from nar_data.config import debug
from nar_data.errors import NarDataError, RemoteCodeError, SchemaError, UnknownSourceError

EXIT_ERROR, EXIT_USAGE = 1, 2
#: 128 + the signal number, as shells report a process a signal stopped.
EXIT_SIGINT, EXIT_SIGTERM = 128 + signal.SIGINT, 128 + signal.SIGTERM


class Interrupted(BaseException):
    """Ctrl-C or SIGTERM reached the CLI. Not a `KeyboardInterrupt`, so typer cannot turn it into exit 0.

    ``rows_kept`` is set by the progress reporter of a running trace or crawl (what the dataset kept).
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.rows_kept: int | None = None

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _missing_module(e: BaseException) -> str:
    name = getattr(e, "name", None) or str(e)
    return f"the Python package {name!r} is not installed; install it (`pip install {name}`) or the nar extra that needs it"


#: Ordered: the first matching class wins, so subclasses come before their bases.
CLI_ERROR_MAPPINGS: list[tuple[type[BaseException], Callable[[Any], str]]] = [
    (UnknownSourceError, str),
    (RemoteCodeError, lambda e: f"{e} (pass --trust-remote-code to build it in an isolated worker)"),
    (SchemaError, lambda e: f"dataset error: {e}"),
    (NarDataError, lambda e: f"{type(e).__name__}: {e}"),
    (json.JSONDecodeError, lambda e: f"invalid JSON ({e.msg}, line {e.lineno} column {e.colno}); fix the file"),
    (FileNotFoundError, lambda e: f"not found: {e.filename}" if e.filename else str(e)),
    (PermissionError, lambda e: f"permission denied: {e.filename or e}"),
    (IsADirectoryError, lambda e: f"expected a file, got the folder {e.filename or e}"),
    (ModuleNotFoundError, _missing_module),
    (ValueError, str),  # library ValueErrors name the bad value and the choices
    (TimeoutError, lambda e: f"timed out: {e}; try again, or raise the timeout"),
    (ConnectionError, lambda e: f"connection failed: {e}; check the endpoint (--endpoint / HF_ENDPOINT)"),
    (OSError, lambda e: f"{type(e).__name__}: {e}"),
]


#: Errors of HTTP clients, recognised by module so that none of them is imported to check.
_NETWORK_MODULES = ("httpx", "httpcore", "requests", "urllib3", "huggingface_hub")


def format_error(exc: BaseException) -> str:
    """The one-line message of ``exc``: its mapping, else its class and text with a pointer to NAR_DEBUG."""
    for cls, fmt in CLI_ERROR_MAPPINGS:
        if isinstance(exc, cls):
            return _one_line(fmt(exc))
    if type(exc).__module__.split(".")[0] in _NETWORK_MODULES:
        return _one_line(f"network error ({type(exc).__name__}: {exc}); check the Hub URL (--endpoint / "
                         "HF_ENDPOINT), the connection and HF_TOKEN")
    return _one_line(f"unexpected {type(exc).__name__}: {exc} (re-run with NAR_DEBUG=1 for the traceback)")


def _cli_classes() -> tuple[tuple[type[BaseException], ...], tuple[type[BaseException], ...],
                            tuple[type[BaseException], ...]]:
    """``(click exceptions, aborts, exits)`` of typer's bundled click and, when installed, of ``click``."""
    shown: list[type[BaseException]] = [typer.TyperException]
    aborts: list[type[BaseException]] = [typer.Abort]
    exits: list[type[BaseException]] = [typer.Exit]
    try:
        import click
    except ModuleNotFoundError:
        pass
    else:
        shown.append(click.ClickException)
        aborts.append(click.exceptions.Abort)
        exits.append(click.exceptions.Exit)
    return tuple(shown), tuple(aborts), tuple(exits)


def usage_line(e: BaseException) -> str:
    """One line for a usage error: the problem, and the help command of the command it belongs to."""
    ctx = getattr(e, "ctx", None)
    where = getattr(ctx, "command_path", None) or "nar"
    message = e.format_message() if hasattr(e, "format_message") else str(e)
    return _one_line(f"{where}: {message} (see `{where} --help`)")


def _raise_interrupted(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signum)


def interrupted_line(e: Interrupted) -> str:
    kept = "" if e.rows_kept is None else f"; {e.rows_kept} rows kept, re-run to resume"
    return f"interrupted ({e.args[0]}){kept}" if kept else f"interrupted ({e.args[0]}); re-run to resume"


def run_with_error_mapping(app: typer.Typer, args: list[str] | None = None) -> int:
    """Run ``app`` and return its exit code, every error printed as one line on stderr."""
    shown, aborts, exits = _cli_classes()
    previous = {s: signal.signal(s, _raise_interrupted) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        rv = app(args=args, prog_name="nar", standalone_mode=False)
    except Interrupted as e:
        typer.echo(interrupted_line(e), err=True)
        return e.exit_code
    except KeyboardInterrupt:  # raised by a library with the default handler
        typer.echo("interrupted; re-run to resume", err=True)
        return EXIT_SIGINT
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else (0 if e.code is None else EXIT_ERROR)
    except Exception as e:  # noqa: BLE001 - the CLI edge
        if isinstance(e, exits):
            return int(getattr(e, "exit_code", 0))
        if isinstance(e, aborts):
            typer.echo("aborted", err=True)
            return EXIT_ERROR
        if isinstance(e, shown):
            code = int(getattr(e, "exit_code", EXIT_ERROR))
            if type(e).__name__ == "NoArgsIsHelpError":  # `nar` alone: the help text is the answer
                e.show()  # type: ignore[attr-defined]
                return 0
            typer.echo(usage_line(e) if code == EXIT_USAGE else f"error: {_one_line(e.format_message())}", err=True)  # type: ignore[attr-defined]
            return code
        if debug():
            raise
        typer.echo(f"error: {format_error(e)}", err=True)
        return EXIT_ERROR
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    # typer turns a KeyboardInterrupt it sees into Exit(130) and, outside standalone mode, returns the code
    return rv if isinstance(rv, int) and not isinstance(rv, bool) else 0
