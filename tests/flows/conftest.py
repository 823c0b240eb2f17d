"""One Prefect test API for the whole flows test session (each start costs 30+ s on a 2-core box)."""

from __future__ import annotations

from collections.abc import Iterator

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
