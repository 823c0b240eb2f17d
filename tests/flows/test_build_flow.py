"""`build` end to end on the tiny testing models: trace -> train -> embed -> card -> upload -> search."""

from __future__ import annotations

import json

import pytest

from flows.build import build_flow
from nar_data.parquet import read_table
from nar_data.testing.hub_server import running_hub


def test_build_flow_traces_trains_embeds_and_writes_the_card(tmp_path, prefect_api, tiny) -> None:
    """The default-run variant: no upload and no example searches (the slow test below does both)."""
    names, preload = tiny
    out = tmp_path / "nar"
    summary = build_flow(out=str(out), sources=["testing"], preset=None, workers=1, timeout_s=60.0,
                         encoder="wl", eval_encoders=[], queries=[], preload=preload)
    assert summary["trace"]["traced"] == 4 and summary["trace"]["failed"] == 0
    assert summary["neighbours"] == {} and "upload" not in summary
    arch_ids = set(read_table(out, "graphs", ["arch_id"]).column("arch_id").to_pylist())
    emb = read_table(out, "embeddings", ["arch_id", "encoder_version"]).to_pylist()
    assert {e["arch_id"] for e in emb} == arch_ids and {e["encoder_version"] for e in emb} == {summary["encoder_version"]}
    assert (out / "README.md").is_file()


@pytest.mark.slow
def test_build_flow_end_to_end(tmp_path, prefect_api, tiny, monkeypatch) -> None:
    names, preload = tiny
    out = tmp_path / "nar"
    monkeypatch.setenv("HF_TOKEN", "hf_nar_test")
    with running_hub([]) as hub:
        summary = build_flow(out=str(out), sources=["testing"], preset=None, workers=1, timeout_s=60.0,
                             encoder="wl", eval_encoders=[], endpoint=hub.url, repo_id="nar/tiny",
                             queries=["testing:mlp", "testing:no-such-model"], preload=preload)
        remote = set(hub.repo("nar/tiny", "dataset").files)
    assert summary["trace"]["traced"] == 4 and summary["trace"]["failed"] == 0
    arch_ids = set(read_table(out, "graphs", ["arch_id"]).column("arch_id").to_pylist())
    emb = read_table(out, "embeddings", ["arch_id", "encoder_version"]).to_pylist()
    assert {e["arch_id"] for e in emb} == arch_ids and {e["encoder_version"] for e in emb} == {summary["encoder_version"]}
    assert (out / "README.md").is_file() and "README.md" in remote
    assert {p for p in remote if p.endswith(".parquet")} == {p.relative_to(out).as_posix() for p in out.glob("*/*.parquet")}
    hits = summary["neighbours"]["testing:mlp"]  # the unknown query is skipped, not fatal
    assert list(summary["neighbours"]) == ["testing:mlp"]
    assert len(hits) == 3 and all(h["arch_id"] in arch_ids for h in hits)
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    saved = json.loads(open(summary["summary_file"]).read())
    assert saved["flow"] == "build" and saved["trace"]["traced"] == 4
