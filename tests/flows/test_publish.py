"""Publishing: the card makes the folder a `datasets` repo; uploads send only new shards; the Hub copy reads back."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from nar_data.parquet import read_table, write_shard
from nar_data.publish import card_configs, publish_to_hub, write_card
from nar_data.hand import hand_graph
from nar_data.testing.hub_server import running_hub


def _dataset(root, n: int = 4, start: int = 0) -> list[str]:
    """``n`` hand graphs (+ models rows and wl-like vectors) appended as new shards; returns their arch_ids."""
    from nar_data.schema import empty_row

    graphs = [hand_graph(["linear"] + ["relu", "linear"] * (i + 1), [(j, j + 1) for j in range(2 * i + 2)],
                         model_id=f"hand:g{i}", family=f"f{i % 2}") for i in range(start, start + n)]
    write_shard(root, "graphs", graphs)
    models = []
    for g in graphs:
        row = empty_row("models")
        row.update(model_id=g.model_id, source="hand", config_hash=g.config_hash, arch_id=g.arch_id, status="ok")
        models.append(row)
    write_shard(root, "models", models)
    write_shard(root, "embeddings", [{"arch_id": g.arch_id, "encoder_version": "wl-1", "vector":
                                      np.full(3, i, np.float32)} for i, g in enumerate(graphs, start)])
    return [g.arch_id for g in graphs]


def _load(path: str, config: str, **kwargs):
    import datasets

    return datasets.load_dataset(path, config, split="train", **kwargs)


def test_card_declares_tables_and_loads_locally(tmp_path) -> None:
    ids = _dataset(tmp_path)
    write_shard(tmp_path, "embeddings", [{"arch_id": a, "encoder_version": "nar-2", "vector": np.ones(3, np.float32)}
                                         for a in ids])
    text = write_card(tmp_path, current_encoder="nar-2", metrics_markdown="| m | 1 |").read_text()
    meta = yaml.safe_load(text.split("---")[1])
    names = [c["config_name"] for c in meta["configs"]]
    assert names == ["models", "graphs", "embeddings", "embeddings-wl-1"]  # no failures shards: no config
    for c in meta["configs"]:
        for f in c["data_files"]:
            paths = f["path"] if isinstance(f["path"], list) else [f["path"]]
            assert all(not p.startswith(("/", ".")) and "://" not in p for p in paths)
    assert "| m | 1 |" in text and "nar-2" in text
    graphs = _load(str(tmp_path), "graphs")
    assert sorted(graphs["arch_id"]) == sorted(ids)
    current = _load(str(tmp_path), "embeddings")
    assert set(current["encoder_version"]) == {"nar-2"} and len(current) == len(ids)
    assert set(_load(str(tmp_path), "embeddings-wl-1")["encoder_version"]) == {"wl-1"}
    assert card_configs(tmp_path)[2]["config_name"] == "embeddings"


def test_upload_sends_only_new_shards_and_reads_back(tmp_path, monkeypatch) -> None:
    from huggingface_hub import HfApi

    first = _dataset(tmp_path)
    with running_hub([]) as hub:
        api = HfApi(endpoint=hub.url, token="hf_nar_test")
        r1 = publish_to_hub(tmp_path, "nar/arch", api=api, tag="v1")
        assert len(r1.uploaded) == 3 and r1.commit and r1.tag == "v1"
        assert hub.calls["commit"] == 1
        again = publish_to_hub(tmp_path, "nar/arch", api=api, tag="v1b")
        assert again.uploaded == [] and again.commit is None and hub.calls["commit"] == 1
        second = _dataset(tmp_path, 2, start=10)
        write_card(tmp_path)
        hub.reset_counters()
        r2 = publish_to_hub(tmp_path, "nar/arch", api=api, tag="v2")
        assert len(r2.uploaded) == 3 and r2.skipped == 3
        assert hub.calls["lfs_upload"] == 3 and hub.calls["commit"] == 1  # one commit, only the new shards
        assert [t.name for t in api.list_repo_refs("nar/arch", repo_type="dataset").tags] == ["v1", "v2"]
        # `datasets` reads the Hub copy: the same rows as the local folder.
        import datasets.config
        import huggingface_hub.constants

        monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", hub.url)
        monkeypatch.setattr(huggingface_hub.constants, "HUGGINGFACE_CO_URL_TEMPLATE",
                            hub.url + "/{repo_id}/resolve/{revision}/{filename}")
        monkeypatch.setattr(datasets.config, "HF_ENDPOINT", hub.url)
        remote = _load("nar/arch", "graphs", token="hf_nar_test")
        assert sorted(remote["arch_id"]) == sorted(first + second)
        local = read_table(tmp_path, "embeddings", ["arch_id", "vector"]).to_pylist()
        emb = _load("nar/arch", "embeddings", token="hf_nar_test")
        assert sorted((r["arch_id"], tuple(r["vector"])) for r in emb) == \
            sorted((r["arch_id"], tuple(np.float32(v) for v in r["vector"])) for r in local)


def test_publish_cli_writes_the_card(tmp_path) -> None:
    from typer.testing import CliRunner

    from flows.cli import app

    _dataset(tmp_path)
    result = CliRunner().invoke(app, ["publish", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "README.md").is_file() and "graphs/*.parquet" in (tmp_path / "README.md").read_text()


def test_ray_runner_says_how_to_install() -> None:
    pytest.importorskip("prefect")
    from flows.runners import make_task_runner

    try:
        import prefect_ray  # noqa: F401
    except ModuleNotFoundError:
        with pytest.raises(ValueError, match=r"nar\[ray\]"):
            make_task_runner("ray")
    with pytest.raises(ValueError):
        make_task_runner("spark")


def test_upload_killed_before_its_commit_is_redone_once(tmp_path) -> None:
    """A publish that dies mid-way (files sent, commit never made) re-runs into one copy of every shard."""
    from huggingface_hub import HfApi

    ids = _dataset(tmp_path)
    with running_hub([]) as hub:
        api = HfApi(endpoint=hub.url, token="hf_nar_test")

        class Killed(Exception):
            pass

        real = api.create_commit

        def dying_commit(*a, **k):
            api.create_commit = real
            raise Killed()

        api.create_commit = dying_commit
        with pytest.raises(Killed):
            publish_to_hub(tmp_path, "nar/arch", api=api, tag="")
        assert hub.repo("nar/arch", "dataset").files.keys() == {".gitattributes"}  # nothing half-published
        r = publish_to_hub(tmp_path, "nar/arch", api=api, tag="")
        files = hub.repo("nar/arch", "dataset").files
    assert sorted(r.uploaded) == sorted(p for p in files if p.endswith(".parquet"))
    assert len([p for p in files if p.startswith("graphs/")]) == 1
    import io

    import pyarrow.parquet as pq

    [graphs] = [v for p, v in files.items() if p.startswith("graphs/")]
    assert sorted(pq.read_table(io.BytesIO(graphs)).column("arch_id").to_pylist()) == sorted(ids)


def test_hub_rate_limit_asks_once_and_takes_slots_only_from_a_real_limit(monkeypatch) -> None:
    import flows.publish as pub

    calls = {"read": 0, "slot": 0}
    exists = {"value": False}

    class FakeClient:
        def __enter__(self):  # noqa: ANN204
            return self

        def __exit__(self, *exc) -> bool:  # noqa: ANN002
            return False

        def read_global_concurrency_limit_by_name(self, name: str) -> object:
            calls["read"] += 1
            if not exists["value"]:
                raise LookupError(name)
            return object()

    monkeypatch.setattr("prefect.client.orchestration.get_client", lambda sync_client=True: FakeClient())
    monkeypatch.setattr("prefect.concurrency.sync.rate_limit", lambda *a, **k: calls.__setitem__("slot", calls["slot"] + 1))
    monkeypatch.setattr(pub, "_limit_checked", (float("-inf"), False))
    pub.hub_rate_limit()
    pub.hub_rate_limit()
    assert calls == {"read": 1, "slot": 0}  # missing limit: asked once (cached), no slot taken
    exists["value"] = True
    monkeypatch.setattr(pub, "_limit_checked", (float("-inf"), False))  # the cache expired
    pub.hub_rate_limit()
    pub.hub_rate_limit()
    assert calls == {"read": 2, "slot": 2}
