"""vision-language model types whose default configs or inputs needed a fix build and trace on meta."""

from __future__ import annotations

import pytest

pytest.importorskip("transformers")

from nar_data.sources.transformers import default_config_dict  # noqa: E402


def test_glm4v_fixup_matches_mrope_sections():
    # recomposition_frequencies splits the rotary frequencies by mrope_section [8, 12, 12] (32 of them)
    for mt, text in (("glm4v", "text_config"), ("glm4v_moe", "text_config"), ("glm4v_text", None)):
        cfg = default_config_dict(mt)
        cfg = cfg[text] if text else cfg
        head_dim = cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]
        assert int(head_dim * cfg["rope_parameters"]["partial_rotary_factor"]) // 2 == 8 + 12 + 12, mt


@pytest.mark.parametrize("name, model_type", [
    ("VideoLlama3VisionModel", "video_llama_3_vision"),  # merge_sizes beside the grid
    ("Gemma4VisionModel", "gemma4_vision"),  # patches + (x, y) positions, pooled in 3x3 blocks
    ("Kimi_K25VisionModel", "kimi_k25_vision"),  # Conv2d per [C, p, p] patch
])
def test_vision_towers_trace(traced, name, model_type):
    ref, built, graph = traced(name, model_type)
    assert graph.capture == "dispatch"
    layers = ref.config.get("num_hidden_layers") or ref.config.get("depth")
    attn = graph.op_name.count("scaled_dot_product_attention") + graph.op_name.count("softmax")
    assert attn >= layers, (attn, layers)


@pytest.mark.slow
@pytest.mark.parametrize("name, model_type", [
    ("Idefics3Model", "idefics3"), ("ModernVBertModel", "modernvbert"), ("Glm4vTextModel", "glm4v_text"),
    ("PaddleOCRVLModel", "paddleocr_vl"), ("Glm4vMoeTextModel", "glm4v_moe_text"),
])
def test_vlms_trace(traced, name, model_type):
    _, built, graph = traced(name, model_type)
    assert graph.capture == "dispatch"
    assert "scaled_dot_product_attention" in graph.op_name
