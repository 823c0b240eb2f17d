"""The `nar` command: only assembles the app from one module per command group (`flows/commands/`)."""

from __future__ import annotations

import importlib
import logging
import os
import sys
import warnings

import typer

from flows.commands._errors import run_with_error_mapping
from nar_data.config import debug

app = typer.Typer(
    name="nar",
    help="Neural Architecture Retrieval: trace models into graphs, train encoders, and find the existing "
    "architectures most like any network.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help text is shown as written: `pip install 'nar[ray]'` keeps its brackets
    context_settings={"help_option_names": ["-h", "--help"]},
)

#: Command groups, in the order `nar --help` lists them. Each module has `register(app)`; a new group is
#: one more name here.
COMMAND_MODULES = (
    "trace",
    "crawl",
    "train",
    "search",
    "generate",
    "ui",
    "pipeline",
    "doctor",
)

for _name in COMMAND_MODULES:
    try:
        _module = importlib.import_module(f"flows.commands.{_name}")
    except ModuleNotFoundError as e:  # a group not written yet in this checkout
        if e.name != f"flows.commands.{_name}":
            raise
        continue
    _module.register(app)


def quiet_libraries() -> None:
    """Hide third-party warnings (torch, transformers, prefect) unless ``NAR_DEBUG=1``; nar's own log lines stay."""
    if debug():
        return
    warnings.simplefilter("ignore")
    # read by child interpreters (tracing workers, the fork server) and by transformers at import
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    # build / refresh run Prefect flows; their task-failure logs would repeat the one-line error
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "CRITICAL")


#: Commands that leave nothing to do at exit (they write no files; a pool they start is closed before they
#: return). They skip the interpreter's teardown, which costs ~0.9 s once torch and a model library are
#: imported (`bench/search_bench.py`: an unseen model's query paid it after its answer was printed), except
#: with ``NAR_DEBUG=1`` (profilers and coverage write their files at exit).
FAST_EXIT_COMMANDS = frozenset({"search"})


def _command(argv: list[str]) -> str | None:
    """The subcommand named in ``argv`` (the first word that is not an option)."""
    return next((a for a in argv if not a.startswith("-")), None)


def main() -> None:
    logging.basicConfig(level=logging.INFO if debug() else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    quiet_libraries()
    code = run_with_error_mapping(app)
    if _command(sys.argv[1:]) in FAST_EXIT_COMMANDS and not debug():
        sys.stdout.flush()
        sys.stderr.flush()
        logging.shutdown()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    main()
