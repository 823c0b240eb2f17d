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


def main() -> None:
    logging.basicConfig(level=logging.INFO if debug() else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    quiet_libraries()
    sys.exit(run_with_error_mapping(app))


if __name__ == "__main__":
    main()
