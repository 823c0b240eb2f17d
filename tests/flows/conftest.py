"""One Prefect test API for the whole flows test session (each start costs 30+ s on a 2-core box)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import nar_data.testing  # noqa: F401 - registers the `testing` source for the flows run in this process
from flows import _prefect_env  # noqa: F401 - before prefect

#: Tiny models of the `testing` source, plus one that always fails (a `failures` row).
NAMES = ["mlp", "cnn", "transformer_block", "residual", "raise"]
#: Tracing workers import only what the tiny models need (torch), not timm / transformers.
PRELOAD = ["torch", "nar_data.testing"]


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


def _table_rows(out, table: str, columns: list[str]) -> list[tuple]:
    """Sorted tuples of ``columns`` of a table: what two equal datasets share, whatever the shard order."""
    from nar_data.parquet import read_table

    t = read_table(out, table, columns)
    return sorted(zip(*(t.column(c).to_pylist() for c in columns)))


@pytest.fixture
def table_rows():
    return _table_rows


@pytest.fixture
def tiny():
    """``(names, preload)`` of the tiny testing models."""
    import nar_data.testing  # noqa: F401 - registers the `testing` source

    return NAMES, PRELOAD


class NarCli:
    """`nar` as a user runs it: a subprocess with piped output (no terminal), through `cli_harness.py`."""

    harness = Path(__file__).with_name("cli_harness.py")
    root = Path(__file__).resolve().parents[2]

    def env(self, **extra: str) -> dict[str, str]:
        env = {**os.environ, "PYTHONPATH": str(self.root), "NAR_DEBUG": "0", "OMP_NUM_THREADS": "1", **extra}
        env.pop("COLUMNS", None)
        return env

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, str(self.harness), *args]

    def __call__(self, *args: str, timeout: float = 240, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run(self.argv(*args), capture_output=True, text=True, timeout=timeout, env=self.env(**env),
                              cwd=self.root)


@pytest.fixture(scope="session")
def nar_cli() -> NarCli:
    return NarCli()
