"""The architecture taxonomy, the twin table and the relevance grades."""

from __future__ import annotations

import collections

import pytest
import yaml

from nar_data.catalog import catalog_file
from nar_data.errors import SchemaError
from nar_data.taxonomy import (KINDS, MODALITIES, OTHER, Taxonomy, arch_family, coarse_kind, load_taxonomy, modality,
                               relevance, relevance_matrix, twin_pairs, twins_of)


def test_families_across_libraries():
    # one design under many library names
    assert {arch_family(m, f) for m, f in [("timm:vit_base_patch16_224", "vision_transformer"),
                                           ("timm:deit_small_patch16_224", "deit"), ("timm:beit_base_patch16_224", "beit"),
                                           ("torchvision:vit_b_16", "vision_transformer"), ("transformers:ViTModel", "vision_transformer"),
                                           ("transformers:DeiTModel", "deit"), ("transformers:Dinov2Model", "dinov2")]} == {"vit"}
    assert {arch_family(f"transformers:{c}", f) for c, f in [("LlamaModel", "llama"), ("MistralModel", "mistral"),
                                                             ("Qwen2Model", "qwen2"), ("GemmaModel", "gemma")]} == {"llama"}
    assert {arch_family(f"transformers:{c}", f) for c, f in [("BertModel", "bert"), ("RobertaModel", "roberta"),
                                                             ("ElectraModel", "electra"), ("DistilBertModel", "distilbert")]} == {"bert"}
    # and one library module holding several designs
    assert arch_family("timm:resnet50", "resnet") == arch_family("transformers:ResNetModel", "resnet") == "resnet"
    assert arch_family("timm:resnext50_32x4d", "resnet") == arch_family("torchvision:resnext50_32x4d", "resnet") == "resnext"
    assert arch_family("timm:seresnext26d_32x4d", "resnet") == "resnext"
    assert arch_family("hf:timm/resnext50_32x4d.a1h_in1k", "resnet") == "resnext"  # a timm checkpoint on the Hub
    assert arch_family("timm:efficientnetv2_rw_s", "efficientnet") == "efficientnet_v2"
    assert arch_family("torchvision:efficientnet_v2_s", "efficientnet") == "efficientnet_v2"
    assert arch_family("timm:mobilenetv2_100", "efficientnet") == "mobilenet_v2"
    # a label the taxonomy does not list is its own family; no label is "other"
    assert arch_family("transformers:FooModel", "foo") == "foo"
    assert arch_family("hf:org/x", "unknown") == arch_family("hf:org/y", "") == OTHER


def test_kind_and_modality():
    assert coarse_kind("timm:resnet50", "resnet") == "cnn"
    assert coarse_kind("transformers:FooModel", "foo", "ssm") == "ssm"  # unlisted: the graph's own label
    assert modality("transformers:WhisperModel", "whisper") == "audio"
    assert modality("transformers:CLIPModel", "clip") == "multimodal"
    assert modality("torchvision:r3d_18", "video_resnet") == "video"
    assert modality("transformers:FooForCausalLM", "foo", "text-generation") == "text"
    assert modality("transformers:FooForImageClassification", "foo", "image-classification") == "vision"
    assert modality("hf:org/x", "foo") == "unknown"


def test_every_family_has_kind_modality_and_rule():
    tax = load_taxonomy()
    assert len(tax.families) >= 60
    for fam in tax.families.values():
        assert fam.kind in KINDS and fam.modality in MODALITIES and len(fam.rule) > 20, fam


def _class_model_types() -> dict[str, str]:
    """transformers class name -> its first model_type, from the Auto mappings (no model code imported)."""
    from transformers.models.auto import modeling_auto

    owner: dict[str, str] = {}
    for table in sorted(n for n in dir(modeling_auto) if n.startswith("MODEL_") and n.endswith("MAPPING_NAMES")):
        for model_type, classes in getattr(modeling_auto, table).items():
            for cls in classes if isinstance(classes, (list, tuple)) else [classes]:
                if model_type in modeling_auto.MODEL_MAPPING_NAMES:
                    owner.setdefault(cls, model_type)
    return owner


class _G:  # what a Graph offers relevance
    def __init__(self, model_id, family, coarse="unknown", task=""):
        self.model_id, self.family, self.coarse, self.task = model_id, family, coarse, task


@pytest.mark.parametrize("a, b, grade", [
    (("torchvision:resnet50", "resnet"), ("timm:resnet50", "resnet"), 3),              # twins
    (("timm:resnet50", "resnet"), ("torchvision:resnet50", "resnet"), 3),              # symmetric
    (("timm:resnet18", "resnet"), ("transformers:ResNetModel", "resnet"), 2),          # same design, other depth
    (("transformers:LlamaModel", "llama"), ("transformers:Qwen2Model", "qwen2"), 2),
    (("timm:resnet18", "resnet"), ("timm:resnext50_32x4d", "resnet"), 1),             # both vision CNNs
    (("transformers:BertModel", "bert"), ("transformers:GPT2Model", "gpt2"), 1),       # both text transformers
    (("transformers:BertModel", "bert"), ("timm:vit_base_patch16_224", "vision_transformer"), 0),  # other modality
    (("timm:resnet18", "resnet"), ("timm:vit_base_patch16_224", "vision_transformer"), 0),         # other kind
    (("hf:a/b", "unknown"), ("hf:c/d", "unknown"), 0),                                  # nothing known
])
def test_relevance_grades(a, b, grade):
    assert relevance(a, b) == grade
    assert relevance(_G(*a), {"model_id": b[0], "family": b[1]}) == grade


def test_relevance_matrix_matches_pairwise():
    items = [("torchvision:resnet50", "resnet"), ("timm:resnet50", "resnet"), ("timm:resnet18", "resnet"),
             ("timm:vgg11", "vgg"), ("transformers:BertModel", "bert"), ("transformers:RobertaModel", "roberta"),
             ("hf:a/b", "unknown"), _G("transformers:FooForCausalLM", "foo", "transformer", "text-generation")]
    m = relevance_matrix(items)
    assert m.dtype.kind == "i" and m.shape == (8, 8)
    assert [[relevance(a, b) for b in items] for a in items] == m.tolist()
    assert relevance_matrix(items[:2], items[2:]).tolist() == m[:2, 2:].tolist()


def test_bad_items_and_files_say_what_to_do():
    with pytest.raises(SchemaError, match="model_id and family"):
        relevance(object(), ("timm:resnet50", "resnet"))
    good = {"kind": "cnn", "modality": "vision", "rule": "a rule long enough to say something", "labels": ["x"]}
    with pytest.raises(SchemaError, match="kind 'conv' is not one of"):
        Taxonomy({"families": {"x": {**good, "kind": "conv"}}})
    with pytest.raises(SchemaError, match="in both"):
        Taxonomy({"families": {"x": good, "y": good}})
    with pytest.raises(SchemaError, match="valid: x"):
        Taxonomy({"families": {"x": good}, "overrides": [{"model_id": "timm:.*", "arch_family": "nope"}]})
    with pytest.raises(SchemaError, match="two model ids"):
        Taxonomy({"families": {"x": good}}, {"pairs": [["timm:resnet50"]]})


# -- the twin table -------------------------------------------------------------------------------------------------
def _twins_file():
    return yaml.safe_load(catalog_file("twins.yaml").read_text())


def test_twin_table_format():
    data = _twins_file()
    pairs = [tuple(p) for p in data["pairs"]]
    assert len(pairs) >= 150
    for a, b in pairs + [tuple(e["pair"]) for e in data["near"]]:
        assert a != b and a.split(":")[0] in {"timm", "torchvision", "transformers", "hf"}, (a, b)
        assert b.split(":")[0] in {"timm", "torchvision", "transformers", "hf"}, (a, b)
        assert a.split(":")[0] != b.split(":")[0] or a.startswith("hf:") or b.startswith("hf:"), (a, b)  # two libraries
    unordered = collections.Counter(frozenset(p) for p in pairs)
    assert [sorted(p) for p, n in unordered.items() if n > 1] == []
    assert not set(unordered) & {frozenset(e["pair"]) for e in data["near"]}, "a pair is both twin and near"
    assert all(e["why"] for e in data["near"])


def test_twin_lookups_are_symmetric():
    tax = load_taxonomy()
    assert tax.pairs == twin_pairs() and len(tax.pairs) >= 150
    for a, b in tax.pairs:
        assert b in twins_of(a) and a in twins_of(b)
        assert tax.are_twins(a, b) and tax.are_twins(b, a)
    group = twins_of("timm:resnet50")
    assert {"torchvision:resnet50", "transformers:ResNetModel", "hf:timm/resnet50.a1_in1k"} <= group
    assert "timm:resnet50" not in group and "timm:resnet18" not in group
    assert twins_of("timm:no_such_model") == frozenset()


def _registry_facts() -> dict[str, dict[str, str]]:
    """Label facts of every model the table names, without building any (registry listings only)."""
    import timm
    import torchvision.models
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES

    from nar_data.sources.torchvision import builder_module
    from nar_data.testing.hub_fixtures import BASE_SPECS, ST_SPECS, TIMM_SPECS

    data = _twins_file()
    ids = {m for p in data["pairs"] for m in p} | {m for e in data["near"] for m in e["pair"]}
    timm_names, tv_names = set(timm.list_models()), set(torchvision.models.list_models())
    owner = _class_model_types()
    config_type = {c: t for t, c in CONFIG_MAPPING_NAMES.items()}
    hub = {r: {"source": "hf", "library": "transformers", "model_type": config_type[c]}
           for r, c, *_ in [*BASE_SPECS, *ST_SPECS]}
    hub.update({r: {"source": "hf", "library": "timm", "timm_architecture": a} for r, a, *_ in TIMM_SPECS})
    facts, missing = {}, []
    for m in sorted(ids):
        source, name = m.split(":", 1)
        if source == "timm" and name in timm_names:
            facts[m] = {"source": source, "module": timm.models._registry._model_to_module[name]}
        elif source == "torchvision" and name in tv_names:
            facts[m] = {"source": source, "module": builder_module(name)}
        elif source == "transformers" and name in owner:  # a class of transformers' Auto mappings
            facts[m] = {"source": source, "model_type": owner[name]}
        elif source == "hf" and name in hub:
            facts[m] = hub[name]
        else:
            missing.append(m)
    assert missing == [], f"not in their registry (or the local Hub fixtures): {missing}"
    return facts


def test_twin_names_exist_and_twins_share_an_arch_family():
    from nar_data.labels import load_rules

    rules = load_rules()
    facts = _registry_facts()
    family = {m: arch_family(m, rules(f)["family"]) for m, f in facts.items()}
    data = _twins_file()
    split = [(a, family[a], b, family[b]) for a, b in [*data["pairs"], *(e["pair"] for e in data["near"])]
             if family[a] != family[b]]
    assert split == []
    assert OTHER not in family.values()


def test_every_library_family_is_in_the_taxonomy():
    import timm
    import torchvision.models

    from nar_data.labels import load_rules
    from nar_data.sources.torchvision import builder_module

    rules, tax = load_rules(), load_taxonomy()
    labels = {rules({"source": "timm", "module": m})["family"] for m in set(timm.models._registry._model_to_module.values())}
    labels |= {rules({"source": "torchvision", "module": builder_module(n)})["family"] for n in torchvision.models.list_models()}
    assert sorted(label for label in labels if not tax.is_listed("", label)) == []


def test_demo_preset_holds_twins_and_known_families():
    from nar_data.labels import load_rules
    from nar_data.presets import load_preset

    demo = load_preset("demo")
    ids = {f"{s}:{n}" for s, names in demo.items() for n in names}
    assert 200 <= len(ids) < 300
    assert {"timm:resnet50", "timm:vit_base_patch16_224", "timm:swin_tiny_patch4_window7_224",
            "timm:efficientnet_b0", "timm:convnext_tiny", "timm:mobilenetv3_large_100", "timm:densenet121",
            "transformers:BertModel", "transformers:GPT2Model", "transformers:LlamaModel", "transformers:T5Model",
            "transformers:WhisperModel", "transformers:CLIPModel"} <= ids
    assert sum(a in ids and b in ids for a, b in twin_pairs()) >= 60
    # every transformers family of the demo is named by the taxonomy (timm / torchvision: the test above)
    owner = _class_model_types()
    rules, tax = load_rules(), load_taxonomy()
    labels = {f"transformers:{n}": rules({"source": "transformers", "model_type": owner[n]})["family"]
              for n in demo["transformers"]}
    assert sorted(m for m, f in labels.items() if not tax.is_listed(m, f)) == []
    assert not tax.is_listed("transformers:FooModel", "foo")


def test_importable_without_torch():
    # the model layer grades retrieval with it: no torch, and nar_data imports limited to catalog / schema / errors
    import ast
    import inspect
    import subprocess
    import sys

    import nar_data.taxonomy

    tree = ast.parse(inspect.getsource(nar_data.taxonomy))
    local = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level > 0}
    assert local <= {"catalog", "schema", "errors"}
    code = "import sys, nar_data.taxonomy as t; t.relevance(('timm:resnet50', 'resnet'), ('timm:vgg11', 'vgg')); " \
           "print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
