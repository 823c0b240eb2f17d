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
