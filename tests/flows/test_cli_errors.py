"""Every way `nar` can fail, run as a user runs it (a subprocess): exit code, one line, no traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

def _one_line_error(r: subprocess.CompletedProcess, code: int) -> str:
    assert r.returncode == code, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stdout + r.stderr, r.stderr
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, r.stderr
    return lines[0]


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory) -> Path:
    from nar_data.parquet import write_shard
    from nar_data.testing import make_graph

    root = tmp_path_factory.mktemp("tiny")
    write_shard(root, "graphs", [make_graph(name) for name in ("mlp", "cnn", "residual")])
    return root


@pytest.mark.parametrize("args, says", [
    (["bogus"], "No such command 'bogus'"),
    (["trace", "--bogus"], "No such option: --bogus"),
    (["trace", "--workers", "0"], "--workers"),
    (["coverage", "--data", "/nonexistent/nar"], None),
])
def test_usage_errors_exit_2_with_one_line(args, says, nar_cli) -> None:
    r = nar_cli(*args)
    if args[0] == "coverage":  # a folder that is not there is a library error, not a usage error
        assert "no dataset at /nonexistent/nar" in _one_line_error(r, 1)
        return
    line = _one_line_error(r, 2)
    assert says in line and "--help" in line


def test_not_a_dataset_is_an_error_not_an_empty_table(tmp_path, nar_cli) -> None:
    (tmp_path / "notes.txt").write_text("x")
    assert "is not a nar dataset" in _one_line_error(nar_cli("coverage", "--data", str(tmp_path)), 1)
    assert "is not a nar dataset" in _one_line_error(nar_cli("doctor", str(tmp_path)), 1)


def test_library_errors_exit_1_with_what_to_do(tiny_data, tmp_path, nar_cli) -> None:
    line = _one_line_error(nar_cli("trace", "--source", "nosuch", "--data", str(tmp_path / "d")), 1)
    assert "nosuch" in line and "timm" in line  # names the valid sources
    line = _one_line_error(nar_cli("embed", "--data", str(tiny_data)), 1)
    assert "nar train --data" in line  # no checkpoint recorded yet: says which command writes one


@pytest.mark.slow  # three processes that import torch
def test_bad_query_files_and_names_are_one_line(tiny_data, tmp_path, nar_cli) -> None:
    from flows import steps

    ckpt = tmp_path / "wl.pt"
    steps.train(tiny_data, ckpt, "wl")
    steps.embed(tiny_data, ckpt)
    bad = tmp_path / "config.json"
    bad.write_text("{not json")
    for query in (str(bad), "timm:not_a_model"):
        r = nar_cli("search", query, "--data", str(tiny_data), "--ckpt", str(ckpt), "--no-server")
        assert r.returncode in (1, 2), r.stderr
        assert "Traceback" not in r.stdout + r.stderr, r.stderr
        assert len([line for line in r.stderr.splitlines() if line.strip()]) == 1, r.stderr


def test_debug_shows_the_traceback_and_zero_means_off(tmp_path, nar_cli) -> None:
    args = ("trace", "--source", "nosuch", "--data", str(tmp_path / "d"))
    assert "Traceback" in nar_cli(*args, NAR_DEBUG="1").stderr
    assert "Traceback" not in nar_cli(*args, NAR_DEBUG="0").stderr


def _wait_for(proc: subprocess.Popen, marker: str, timeout: float) -> list[str]:
    """Read ``proc``'s stderr until a line contains ``marker``; returns the lines read."""
    lines: list[str] = []
    found = threading.Event()

    def reader() -> None:
        for line in proc.stderr:  # type: ignore[union-attr]
            lines.append(line)
            if marker in line:
                found.set()
        found.set()

    threading.Thread(target=reader, daemon=True).start()
    assert found.wait(timeout), lines
    return lines


#: What `nar build` needs beyond `nar trace`'s options to run on the testing models alone, quickly.
BUILD_ARGS = ("--preset", "library", "--eval", "", "--queries", "", "--encoder", "wl")


def _interrupt(nar_cli, data: Path, sig: signal.Signals, group: bool, command: str = "trace",  # noqa: ANN001
               **env: str) -> tuple[int, str]:
    args = [command, "--source", "testing", "--data", str(data), "--timeout", "600", "--workers", "1"]
    proc = subprocess.Popen(nar_cli.argv(*args, *(BUILD_ARGS if command == "build" else ())),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=nar_cli.env(NAR_TEST_NAMES="mlp,cnn,sleep", **env), cwd=nar_cli.root,
                            start_new_session=True)
    try:
        lines = _wait_for(proc, "ADVANCE 2", timeout=240)
        time.sleep(1.0)  # the `sleep` model is being traced now
        os.killpg(proc.pid, sig) if group else os.kill(proc.pid, sig)  # Ctrl-C reaches the whole group
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    time.sleep(0.2)
    return proc.returncode, "".join(lines)


@pytest.mark.slow  # two traces with tracing workers
def test_ctrl_c_and_sigterm_keep_the_rows_and_say_so(tmp_path, nar_cli) -> None:
    from nar_data.parquet import read_table

    data = tmp_path / "ds"
    code, err = _interrupt(nar_cli, data, signal.SIGINT, group=True)
    assert code == 130, err
    assert "interrupted (SIGINT); 2 rows kept, re-run to resume" in err and "Traceback" not in err
    assert sorted(read_table(data, "models", ["model_id"]).column("model_id").to_pylist()) == ["testing:cnn",
                                                                                               "testing:mlp"]
    assert read_table(data, "failures").num_rows == 0  # the interrupted model is not recorded as failed
    assert list((data / "_runs").glob("trace-*.json"))  # the run summary is still written
    code, err = _interrupt(nar_cli, data, signal.SIGTERM, group=False)  # `kill PID`; mlp and cnn are skipped now
    assert code == 143, err
    assert "interrupted (SIGTERM); 2 rows kept" in err or "interrupted (SIGTERM); 0 rows kept" in err


@pytest.mark.slow  # a build subprocess against the test Prefect API
def test_ctrl_c_of_a_build_stops_its_trace_keeps_the_rows_and_saves_the_summary(tmp_path, nar_cli,
                                                                                prefect_api) -> None:
    import json

    from prefect.settings import PREFECT_API_URL

    from nar_data.parquet import read_table

    data = tmp_path / "ds"
    code, err = _interrupt(nar_cli, data, signal.SIGINT, group=True, command="build",
                           PREFECT_API_URL=PREFECT_API_URL.value())
    assert code == 130, err  # and it returned within the wait: the trace stopped, no thread went on tracing
    assert "interrupted (SIGINT); 2 rows kept, re-run to resume" in err and "Traceback" not in err
    assert sorted(read_table(data, "models", ["model_id"]).column("model_id").to_pylist()) == ["testing:cnn",
                                                                                               "testing:mlp"]
    assert read_table(data, "failures").num_rows == 0
    assert list((data / "_runs").glob("trace-*.json"))
    (build,) = [json.loads(p.read_text()) for p in (data / "_runs").glob("flow-build-*.json")]
    assert build["stopped"].startswith("Interrupted")


def test_an_interrupt_in_a_step_exits_128_plus_signal_with_the_rows_kept() -> None:
    """In process: the reporter of a running step puts its row count on the interrupt."""
    import typer

    from flows._progress import Reporter
    from flows.commands._errors import Interrupted, run_with_error_mapping

    app = typer.Typer()

    @app.command()
    def work(sig: int = 2) -> None:
        with Reporter("trace", total=10, bar=False) as reporter:
            reporter.advance(rows=1)
            reporter.advance(rows=1)
            raise Interrupted(sig)

    @app.command()
    def other() -> None:
        raise KeyboardInterrupt

    assert run_with_error_mapping(app, ["work"]) == 130
    assert run_with_error_mapping(app, ["work", "--sig", "15"]) == 143
    assert run_with_error_mapping(app, ["other"]) == 130  # typer's own Exit(130) is passed on, not 0
