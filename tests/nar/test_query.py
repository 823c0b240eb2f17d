"""Every query form of `nar.query`, resolved against the tiny dataset and the local Hub (no model is built
here: resolution decides without torch; the builds are in test_search.py and the slow tests)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from nar.dataset import DatasetView
from nar.errors import AmbiguousQueryError, QueryError, RemoteCodeRefusedError, UnknownModelError
from nar.query import QueryContext, list_forms, resolve
from nar_data.testing.hub_fixtures import generate_repos
from nar_data.testing.hub_server import HubServer, running_hub


@pytest.fixture
def ctx(tiny_data: Path) -> QueryContext:
    return QueryContext(DatasetView(tiny_data))


@pytest.fixture(scope="module")
def hub() -> Iterator[HubServer]:
    with running_hub(generate_repos(80)) as server:
        yield server


def test_forms_are_one_table_in_order() -> None:
    names = [f.name for f in list_forms()]
    assert names == ["module", "dataset", "path", "registry", "source", "hf", "name"]
    assert all(f.example for f in list_forms())


def test_dataset_ids_resolve_without_a_build(ctx: QueryContext) -> None:
    view = ctx.view
    r = resolve("timm:resnet101", ctx)
    assert (r.form, r.build, r.arch_id) == ("dataset", None, view.arch_of["timm:resnet101"])
    by_arch = resolve(r.arch_id, ctx)
    assert by_arch.title == "timm:resnet101" and by_arch.arch_id == r.arch_id
    assert resolve("hf:org/bert-finetune", ctx).arch_id == view.arch_of["transformers:BertModel"]


def test_registry_names_are_checked_before_any_build(ctx: QueryContext) -> None:
    r = resolve("timm:resnet18", ctx)
    assert (r.form, r.title, r.arch_id) == ("registry", "timm:resnet18", "") and r.build is not None
    assert "not in the dataset" in r.what
    # a model type of transformers names its base class, which the dataset has
    bert = resolve("transformers:bert", ctx)
    assert bert.model_id == "transformers:BertModel" and bert.build is None
    with pytest.raises(UnknownModelError, match=r"timm 1\.\d+\.\d+ has no model 'resnet5'; did you mean resnet50"):
        resolve("timm:resnet5", ctx)
    with pytest.raises(UnknownModelError, match="has no model 'not_a_model'"):
        resolve("timm:not_a_model", ctx)


def test_bare_names_resolve_when_unambiguous(ctx: QueryContext) -> None:
    r = resolve("resnet50", ctx)  # timm:resnet50 and torchvision:resnet50 share one graph: one answer
    assert r.form == "name" and r.arch_id == ctx.view.arch_of["timm:resnet50"]
    assert resolve("BertModel", ctx).model_id == "transformers:BertModel"
    with pytest.raises(AmbiguousQueryError, match="names 2 models: timm:efficientnet_b0, torchvision:efficientnet_b0") as e:
        resolve("efficientnet_b0", ctx)  # two graphs in the dataset
    assert e.value.candidates == ["timm:efficientnet_b0", "torchvision:efficientnet_b0"]
    with pytest.raises(AmbiguousQueryError, match="timm:resnet18, torchvision:resnet18"):
        resolve("resnet18", ctx)  # not in the dataset; two registries have it
    assert resolve("ViTModel", ctx).title == "transformers:ViTModel"
    with pytest.raises(UnknownModelError, match="names no timm, torchvision or transformers model; did you mean"):
        resolve("resnet5O", ctx)
    with pytest.raises(UnknownModelError, match="unknown prefix 'foo:'.*valid prefixes: timm:, torchvision:"):
        resolve("foo:bar", ctx)


def _write(folder: Path, files: dict[str, object]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(json.dumps(content))
    return folder


BERT = {"model_type": "bert", "architectures": ["BertForMaskedLM"], "hidden_size": 32, "num_hidden_layers": 2,
        "num_attention_heads": 2, "intermediate_size": 64, "vocab_size": 100}


def test_local_config_files_and_folders(ctx: QueryContext, tmp_path: Path) -> None:
    tf = _write(tmp_path / "tiny-bert", {"config.json": BERT})
    r = resolve(str(tf / "config.json"), ctx)
    assert r.form == "path" and r.title.startswith("BertForMaskedLM (") and r.build is not None
    assert "local:" not in r.title and "transformers" in r.what
    named = _write(tmp_path / "x", {"config.json": {**BERT, "_name_or_path": "google-bert/bert-base-uncased"}})
    assert resolve(str(named / "config.json"), ctx).title.startswith("google-bert/bert-base-uncased (")
    timm_cfg = _write(tmp_path / "timm-repo", {"config.json": {"architecture": "resnet18", "num_classes": 10,
                                                                "pretrained_cfg": {"input_size": [3, 224, 224]}}})
    r = resolve(str(timm_cfg), ctx)
    assert r.title.startswith("timm-repo (") and "timm" in r.what  # no "config has no 'model_type'"
    st = _write(tmp_path / "st", {"modules.json": [{"idx": 0, "name": "0", "path": "",
                                                   "type": "sentence_transformers.models.Transformer"}],
                                 "config.json": BERT})
    assert "sentence-transformers" in resolve(str(st), ctx).what
    with pytest.raises(UnknownModelError, match="no such file or folder"):
        resolve(str(tmp_path / "missing" / "config.json"), ctx)
    odd = _write(tmp_path / "odd", {"config.json": {"hidden": 3}})
    with pytest.raises(QueryError, match="neither 'model_type' \\(transformers\\) nor 'architecture' \\(timm\\)"):
        resolve(str(odd), ctx)
    remote = _write(tmp_path / "remote", {"config.json": {**BERT, "auto_map": {"AutoModel": "m.M"}}})
    with pytest.raises(RemoteCodeRefusedError, match="--trust-remote-code"):
        resolve(str(remote), ctx)


def test_hub_repos_of_every_kind(hub: HubServer, tiny_data: Path) -> None:
    ctx = QueryContext(DatasetView(tiny_data), endpoint=hub.url)
    qwen = resolve("hf:Qwen/Qwen2.5-0.5B", ctx)  # the query that crashed with CrawlQuery(names=...)
    assert (qwen.form, qwen.title, qwen.model_id) == ("hf", "hf:Qwen/Qwen2.5-0.5B", "hf:Qwen/Qwen2.5-0.5B")
    assert "Qwen2ForCausalLM" in qwen.what and qwen.build is not None
    timm_repo = resolve("hf:timm/resnet50.a1_in1k", ctx)  # timm's config.json: architecture, no model_type
    assert "timm" in timm_repo.what and timm_repo.build is not None
    st = resolve("hf:sentence-transformers/all-MiniLM-L6-v2@main", ctx)
    assert st.title == "hf:sentence-transformers/all-MiniLM-L6-v2@main" and "sentence-transformers" in st.what
    assert resolve("Qwen/Qwen3-0.6B", ctx).form == "hf"  # a bare org/name is a Hub id
    with pytest.raises(RemoteCodeRefusedError, match="needs its own modeling code.*--trust-remote-code"):
        resolve("hf:nar-fixtures/remote-code-llm", ctx)
    trusted = QueryContext(ctx.view, trust_remote_code=True, endpoint=hub.url)
    assert "isolated worker" in resolve("hf:nar-fixtures/remote-code-llm", trusted).what
    with pytest.raises(UnknownModelError, match="no Hub repo 'nobody/nothing'"):
        resolve("hf:nobody/nothing", ctx)
    with pytest.raises(QueryError, match="has no config.json"):
        resolve("hf:nar-fixtures/no-config", ctx)
    with pytest.raises(QueryError, match="org/name"):
        resolve("hf:a/b/c", ctx)
