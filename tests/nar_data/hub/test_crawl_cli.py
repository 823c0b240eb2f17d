"""`nar crawl` end to end against the local Hub (in-process Typer runner)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from flows.cli import app
from nar_data.parquet import read_table
from nar_data.testing.hub_server import HubServer


def test_nar_crawl_writes_rows_and_summary(tmp_path: Path, hub: HubServer, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.delenv("HF_TOKEN", raising=False)
    args = ["crawl", "--endpoint", hub.url, "--data", str(tmp_path), "--author", "timm", "--raw-config-hash",
            "--quota", "api=500/300,resolvers=3000/300"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    n = sum(1 for r in hub.repos.values() if r.repo_id.startswith("timm/"))
    assert len(read_table(tmp_path, "models")) == n
    assert "new architecture configs" in result.output and "finished" in result.output
    progress = [line for line in result.output.splitlines() if line.startswith("crawl: ")]
    assert progress and f"new {n}" in progress[-1]  # off a terminal: whole plain lines, not a cut bar
    assert list((tmp_path / "_runs").glob("flow-crawl-*.json"))  # the run summary
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0 and len(read_table(tmp_path, "models")) == n  # incremental: nothing new


def test_nar_crawl_torch_hub_lists_the_allow_list(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["crawl", "--source", "torch_hub", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "--out is deprecated" in result.output  # the old name still works
    rows = read_table(tmp_path, "models").to_pylist()
    assert rows and all(r["source"] == "torch_hub" and r["status"] == "pending" for r in rows)
