"""The progress reporter off a terminal: whole lines, a heartbeat while nothing finishes, rows kept on a stop."""

from __future__ import annotations

import io
import time

import pytest

from flows._progress import Reporter


def test_lines_every_n_items_and_at_the_end() -> None:
    out = io.StringIO()
    with Reporter("crawl", total=None, every=2, seconds=60, stream=out, bar=False) as r:
        for i in range(5):
            r.advance(rows=1, new=i + 1, api_left=499 - i)
    lines = out.getvalue().splitlines()
    assert [line.split(" | ")[0] for line in lines] == ["crawl: 2", "crawl: 4", "crawl: 5"]
    assert lines[-1].endswith("new 5 api_left 495 (done)")  # the fields in full, never cut to a width


def test_a_heartbeat_while_nothing_finishes() -> None:
    out = io.StringIO()
    with Reporter("trace", total=3, seconds=0.2, stream=out, bar=False):
        time.sleep(0.7)
    assert out.getvalue().count("trace: 0/3") >= 2


def test_an_interrupt_carries_the_rows_written() -> None:
    class Stop(BaseException):
        rows_kept = None

    with pytest.raises(Stop) as info:
        with Reporter("trace", total=10, stream=io.StringIO(), bar=False) as r:
            r.advance(rows=2)
            r.advance(rows=0)  # a skipped model writes nothing
            raise Stop
    assert info.value.rows_kept == 2
