"""config.json -> (kind, config_hash): fine-tunes collapse, registries and the Hub agree."""

from __future__ import annotations

import copy

import pytest

from nar_data.errors import MalformedConfigError
from nar_data.hub.configs import config_identity, parse_config
from nar_data.hub.listing import ListedRepo
from nar_data.testing.hub_fixtures import load_base_configs


def listed(repo_id: str, library: str = "transformers", **config: object) -> ListedRepo:
    return ListedRepo.from_item({"id": repo_id, "library_name": library, "config": config})


def test_parse_config_refuses_non_objects() -> None:
    assert parse_config(b'{"a": 1}') == {"a": 1}
    for raw in (b"{oops", b"[1, 2]", b"\xff\xfe"):
        with pytest.raises(MalformedConfigError):
            parse_config(raw)


def test_raw_hash_ignores_names_dtypes_labels_versions() -> None:
    base = load_base_configs()["google-bert/bert-base-uncased"]
    tuned = copy.deepcopy(base)
    tuned.update(_name_or_path="me/tuned", torch_dtype="bfloat16", transformers_version="4.51.3",
                 id2label={"0": "NEG", "1": "POS"}, label2id={"NEG": 0, "POS": 1})
    repo = listed("me/tuned", model_type="bert")
    a, b = config_identity(repo, base, canonical=False), config_identity(repo, tuned, canonical=False)
    assert a.config_hash == b.config_hash and a.kind == "transformers.BertForMaskedLM"
    resized = dict(base, num_hidden_layers=6)
    assert config_identity(repo, resized, canonical=False).config_hash != a.config_hash


def test_missing_keys_are_malformed() -> None:
    with pytest.raises(MalformedConfigError, match="model_type"):
        config_identity(listed("a/b"), {"hidden_size": 8}, canonical=False)
    with pytest.raises(MalformedConfigError, match="architecture"):
        config_identity(listed("timm/x", "timm"), {"num_classes": 3})


def test_timm_hash_keeps_the_head_only_when_it_changed() -> None:
    cfg = {"architecture": "resnet50", "num_classes": 1000, "pretrained_cfg": {"num_classes": 1000,
                                                                               "input_size": [3, 224, 224]}}
    same = config_identity(listed("timm/resnet50.a1_in1k", "timm"), cfg)
    tuned = config_identity(listed("u/resnet50.ft", "timm"), dict(cfg, num_classes=10))
    assert same.config == {"architecture": "resnet50", "model_args": {}, "input_size": [3, 224, 224]}
    assert tuned.config["model_args"] == {"num_classes": 10} and tuned.config_hash != same.config_hash


@pytest.mark.slow
def test_hub_and_registry_hashes_agree() -> None:
    """A Hub repo whose config is the default one is the registry's architecture (imports timm, transformers)."""
    from nar_data.sources.timm import timm_ref
    from nar_data.sources.transformers import TransformersSource

    cfgs = load_base_configs()
    for repo_id, cls, model_type in [("google-bert/bert-base-uncased", "BertForMaskedLM", "bert"),
                                     ("openai-community/gpt2", "GPT2LMHeadModel", "gpt2")]:
        ident = config_identity(listed(repo_id, model_type=model_type, architectures=[cls]), cfgs[repo_id])
        registry = next(TransformersSource().iter_refs(names=[cls], model_types=[model_type]))
        assert ident.config_hash == registry.config_hash
    cfg = {"architecture": "resnet50", "num_classes": 1000, "pretrained_cfg": {"num_classes": 1000,
                                                                               "input_size": [3, 224, 224]}}
    assert config_identity(listed("timm/resnet50.a1_in1k", "timm"), cfg).config_hash == timm_ref("resnet50").config_hash


def test_a_config_transformers_rejects_on_validation_is_a_malformed_config() -> None:
    """transformers 5 validates configs strictly (e.g. `layer_types` must have one entry per layer); such a
    Hub config must become a `MalformedConfigError` row, never an exception that ends the crawl."""
    config = {"model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"], "num_hidden_layers": 2,
              "layer_types": ["full_attention"] * 5}
    with pytest.raises(MalformedConfigError, match="cannot read config.json"):
        config_identity(ListedRepo("org/resized-qwen", library="transformers"), config)


@pytest.mark.parametrize("config", [
    {"model_type": "beit", "num_hidden_layers": 10**11},  # beit builds per-layer lists when loaded: 20+ GB
    {"model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"], "n_layer": 10**9},
    {"model_type": "llava", "text_config": {"model_type": "llama", "num_hidden_layers": 10**12}},
])
def test_a_config_asking_for_absurdly_many_layers_is_refused_before_it_is_loaded(config) -> None:
    """The fault suite's mutated configs: 10**11 layers once exhausted the memory of the crawl that loaded it."""
    with pytest.raises(MalformedConfigError, match="more than 10,000 layers"):
        config_identity(ListedRepo("mutants/deep", library="transformers"), config)


def test_every_default_config_of_transformers_passes_the_layer_check() -> None:
    """No real architecture is refused: the deepest default config has 128 layers."""
    from transformers import CONFIG_MAPPING

    from nar_data.sources.transformers.configs import check_layer_counts, default_config_dict

    checked = 0
    for model_type in CONFIG_MAPPING:
        try:
            config = default_config_dict(model_type)
        except Exception:  # noqa: BLE001 - a config class that cannot build its default is not this test's concern
            continue
        if config is not None:
            check_layer_counts(config)
            checked += 1
    assert checked > 500
