"""The `nar` command: only assembles the app from one module per command group (`flows/commands/`)."""

from __future__ import annotations

import importlib
import logging
import sys

import typer

from flows.commands._errors import run_with_error_mapping

app = typer.Typer(
    name="nar",
    help="Neural Architecture Retrieval: trace models into graphs, train encoders, and find the existing "
    "architectures most like any network.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

#: Command groups, in the order `nar --help` lists them. Each module has `register(app)`.
COMMAND_MODULES = ("trace", "crawl", "model", "pipeline", "generate")

for _name in COMMAND_MODULES:
    try:
        _module = importlib.import_module(f"flows.commands.{_name}")
    except ModuleNotFoundError as e:  # a group not written yet in this checkout
        if e.name != f"flows.commands.{_name}":
            raise
        continue
    _module.register(app)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    sys.exit(run_with_error_mapping(app))


if __name__ == "__main__":
    main()
