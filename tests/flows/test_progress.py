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


# -- the commands themselves, with piped output (not a terminal): progress lines on stderr -----------------

def _progress_lines(stderr: str, label: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith(label)]


@pytest.mark.slow  # three subprocesses that import torch (~10 s each)
def test_trace_train_embed_print_progress_lines_when_piped(tmp_path, nar_cli) -> None:
    data = str(tmp_path / "ds")
    r = nar_cli("trace", "--source", "testing", "--data", data, NAR_TEST_NAMES="mlp,cnn,residual")
    assert r.returncode == 0, r.stderr
    assert _progress_lines(r.stderr, "trace: 3/3 |")[-1].endswith("(done)"), r.stderr
    r = nar_cli("train", "--data", data, "--encoder", "gin", "--epochs", "2")  # the shipped `nar` has no epochs
    assert r.returncode == 0, r.stderr
    assert _progress_lines(r.stderr, "training ")[-1].split(": ")[1].startswith("epoch 2/2 loss "), r.stderr
    r = nar_cli("embed", "--data", data)
    assert r.returncode == 0, r.stderr
    assert _progress_lines(r.stderr, "embed: 3/3 |")[-1].endswith("(done)"), r.stderr


@pytest.mark.slow  # a subprocess build: imports prefect and torch, runs the flow against the test API
def test_build_prints_progress_of_every_stage_when_piped(tmp_path, nar_cli, prefect_api) -> None:
    from prefect.settings import PREFECT_API_URL

    data = str(tmp_path / "ds")
    r = nar_cli("build", "--source", "testing", "--preset", "library", "--data", data, "--eval", "", "--queries", "",
                "--encoder", "gin", "--epochs", "1", "--workers", "1", NAR_TEST_NAMES="mlp,cnn,residual,raise",
                PREFECT_API_URL=PREFECT_API_URL.value(), timeout=400)
    assert r.returncode == 0, r.stderr
    # the trace stage runs in a Prefect task (log_prints=True): its lines used to become log records
    last = _progress_lines(r.stderr, "trace: 4/4 |")[-1]
    assert "ok 3 failed 1 skipped 0" in last and last.endswith("(done)"), r.stderr
    assert [line for line in r.stderr.splitlines() if line.startswith("ADVANCE")], r.stderr
    assert _progress_lines(r.stderr, "training ")[-1].split(": ")[1].startswith("epoch 1/1 loss "), r.stderr
    assert _progress_lines(r.stderr, "embed: 3/3 |")[-1].endswith("(done)"), r.stderr
    assert "traced 3, reused 0, skipped 0, failed 1" in r.stdout
