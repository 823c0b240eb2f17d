"""`nar build` keeps the Makefile's command line and hands the flow the right parameters (flow faked)."""

from __future__ import annotations

from typer.testing import CliRunner

import flows.build
from flows.cli import app


class _FakeFlow:
    def __init__(self) -> None:
        self.options: dict = {}
        self.params: dict = {}

    def with_options(self, **options):
        self.options = options
        return self

    def __call__(self, **params):
        self.params = params
        return {"trace": {"traced": 3}, "embed": {"embedded": 3}, "encoder_version": "wl-x", "metrics": "| m |",
                "neighbours": {"q": [{"score": 0.9, "model": "timm:a", "family": "f", "also": 0}]},
                "seconds": {}, "total_s": 1.0, "summary_file": "s.json"}


def test_make_run_command_line(tmp_path, monkeypatch) -> None:
    fake = _FakeFlow()
    monkeypatch.setattr(flows.build, "build_flow", fake)
    # The Makefile's `run` target: $(BIN)/nar build --preset $(PRESET) --workers $(WORKERS) --out $(OUT)
    result = CliRunner().invoke(app, ["build", "--preset", "demo", "--workers", "2", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert fake.params["preset"] == "demo" and fake.params["workers"] == 2 and fake.params["out"] == str(tmp_path)
    assert fake.params["sources"] == ["all"] and fake.params["eval_encoders"] == ["wl", "nar"]
    assert fake.params["batches"] == 1  # locally, one pool of 2 isolated tracing processes
    assert "timm:a" in result.output and "| m |" in result.output
    assert type(fake.options["task_runner"]).__name__ == "ThreadPoolTaskRunner"


def test_hub_source_drops_the_registry_preset(tmp_path, monkeypatch) -> None:
    fake = _FakeFlow()
    monkeypatch.setattr(flows.build, "build_flow", fake)
    result = CliRunner().invoke(app, ["build", "--source", "hf", "--endpoint", "http://127.0.0.1:1", "--data",
                                      str(tmp_path), "--runner", "dask", "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert fake.params["sources"] == ["hf"] and fake.params["preset"] is None
    assert fake.params["batches"] == 2  # one tracing batch per cluster worker
    assert type(fake.options["task_runner"]).__name__ == "DaskTaskRunner"
