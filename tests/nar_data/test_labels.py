"""Label rules: ordered, aliased across libraries, and clear about bad rule files."""

from __future__ import annotations

from pathlib import Path

import pytest

from nar_data.errors import SchemaError
from nar_data.labels import LabelRules, labels_for, load_rules
from nar_data.sources import ModelRef


def ref(source: str, name: str, **kw) -> ModelRef:  # noqa: ANN003
    return ModelRef(source=source, name=name, **kw)


@pytest.mark.parametrize("r, expected", [
    (ref("timm", "resnet50", meta={"module": "resnet"}), ("resnet", "cnn", "image-classification")),
    (ref("timm", "vit_base_patch16_224", meta={"module": "vision_transformer"}),
     ("vision_transformer", "transformer", "image-classification")),
    (ref("timm", "coatnet_0_rw_224", meta={"module": "maxxvit"}), ("maxxvit", "hybrid", "image-classification")),
    (ref("timm", "mixer_b16_224", meta={"module": "mlp_mixer"}), ("mlp_mixer", "mlp", "image-classification")),
    (ref("timm", "sequencer2d_s", meta={"module": "sequencer"}), ("sequencer", "rnn", "image-classification")),
    (ref("torchvision", "resnet18", task="image-classification", meta={"module": "resnet"}),
     ("resnet", "cnn", "image-classification")),
    (ref("torchvision", "quantized_resnet18", task="image-classification", meta={"module": "quantization.resnet"}),
     ("resnet", "cnn", "image-classification")),
    (ref("torchvision", "fcos_resnet50_fpn", task="object-detection", meta={"module": "detection.fcos"}),
     ("fcos", "cnn", "object-detection")),
    (ref("transformers", "ViTModel", config={"model_type": "vit"}, task="feature-extraction"),
     ("vision_transformer", "transformer", "feature-extraction")),
    (ref("transformers", "MambaForCausalLM", config={"model_type": "mamba"}, task="text-generation"),
     ("mamba", "ssm", "text-generation")),
    (ref("transformers", "JambaForCausalLM", config={"model_type": "jamba"}, task="text-generation"),
     ("jamba", "hybrid", "text-generation")),
    (ref("transformers", "BertModel", config={"model_type": "bert"}), ("bert", "transformer", "unknown")),
])
def test_catalog_labels(r: ModelRef, expected: tuple[str, str, str]) -> None:
    labels = labels_for(r)
    assert (labels["family"], labels["coarse"], labels["task"]) == expected


def test_the_same_architecture_gets_one_family_in_every_library() -> None:
    timm = labels_for(ref("timm", "vit_base_patch16_224", meta={"module": "vision_transformer"}))
    tv = labels_for(ref("torchvision", "vit_b_16", meta={"module": "vision_transformer"}))
    hf = labels_for(ref("transformers", "ViTModel", config={"model_type": "vit"}))
    assert timm["family"] == tv["family"] == hf["family"]


def test_rules_are_ordered_first_match_wins() -> None:
    rules = LabelRules({"family": [{"when": {"name": "res.*"}, "value": "first"},
                                   {"when": {"name": "resnet.*"}, "value": "second"}],
                        "coarse": [{"when": {"family": "first"}, "value": "cnn"}],
                        "task": [{"when": {"tags": "image-.*"}, "value": "{tags}"}]})
    assert rules({"name": "resnet50", "tags": ["x", "image-classification"]}) == {
        "family": "first", "coarse": "cnn", "task": "x"}  # placeholders take the first value of a list
    assert rules({"name": "bert"}) == {"family": "unknown", "coarse": "unknown", "task": "unknown"}


def test_a_coarse_label_outside_the_kinds_becomes_other() -> None:
    rules = LabelRules({"family": [{"value": "f"}], "coarse": [{"value": "capsnet"}]})
    assert rules({})["coarse"] == "other"


def test_every_registry_entry_of_the_catalog_gets_a_coarse_kind() -> None:
    """No timm module or torchvision builder module falls through to `unknown`."""
    pytest.importorskip("timm")
    from timm.models import _registry

    for module in sorted(set(_registry._model_to_module.values())):
        labels = labels_for(ref("timm", module, meta={"module": module}))
        assert labels["coarse"] in {"cnn", "transformer", "hybrid", "rnn", "mlp", "ssm"}, module
    from nar_data.sources.torchvision import TorchvisionSource

    for r in TorchvisionSource().iter_refs():
        assert labels_for(r)["coarse"] != "unknown", r.name


def test_bad_rule_files_get_clear_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("family: [ {when: {name: '('}, value: x} ]")
    with pytest.raises(SchemaError, match="bad pattern for 'name'"):
        load_rules(str(bad))
    bad.write_text("family: [")
    with pytest.raises(SchemaError, match="not valid YAML"):
        load_rules(str(bad))
    with pytest.raises(SchemaError, match="not found"):
        load_rules(str(tmp_path / "missing.yaml"))
