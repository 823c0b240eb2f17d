"""Default-config fix-ups and config hygiene: PP-OCRv6 detectors (their stated backbones), GLM-Image (use_cache),
UnlimitedOCR (a vmapped sliding-window mask)."""

from __future__ import annotations

import pytest

pytest.importorskip("transformers")

from nar_data.sources.transformers import disable_cache  # noqa: E402


def test_disable_cache_adds_no_use_cache_field():
    """A sub-config without ``use_cache`` must not get one: ``merge_with_config_defaults`` would pass it on to
    ``GlmImageVQVAE.encode``, which takes no ``use_cache``."""
    from transformers import GlmImageConfig

    config = GlmImageConfig()
    config.text_config.use_cache = True
    disable_cache(config)
    assert config.text_config.use_cache is False
    assert not hasattr(config.vq_config, "use_cache")
    assert not hasattr(config.vision_config, "use_cache")


@pytest.mark.parametrize("name, model_type, backbone, channels", [
    # the neck brings each of the 4 backbone maps to neck_out_channels // 4 (96, 256 by default) and concatenates
    ("PPOCRV6SmallDetModel", "pp_ocrv6_small_det", "pp_lcnet_v3", 4 * (96 // 4)),
    ("PPOCRV6MediumDetModel", "pp_ocrv6_medium_det", "hgnet_v2", 4 * (256 // 4)),
])
def test_pp_ocrv6_detectors_trace_with_their_stated_backbones(traced, name, model_type, backbone, channels):
    ref, built, graph = traced(name, model_type)
    assert ref.config["backbone_config"]["model_type"] == backbone
    assert graph.capture == "dispatch"
    assert any("upsample_nearest2d" in o for o in graph.op_name)
    # the neck fuses 4 backbone maps (strides 4..32) brought to one size: [B, 4 x per-map channels, H/4, W/4]
    fused = [s for o, s, m in zip(graph.op_name, graph.shape, graph.module) if o.endswith("cat") and m == "neck"]
    assert fused and fused[-1][1] == channels
    assert fused[-1][2] * 4 == built.kwargs["pixel_values"].shape[-2]


@pytest.mark.slow
def test_unlimited_ocr_traces_its_vmapped_sliding_window_mask(traced):
    _, _, graph = traced("UnlimitedOcrModel", "unlimited_ocr")
    assert graph.capture == "dispatch"
    assert any("scaled_dot_product_attention" in o for o in graph.op_name)


@pytest.mark.slow
def test_glm_image_traces_its_vq_tokenizer(traced):
    _, _, graph = traced("GlmImageModel", "glm_image")
    assert graph.capture == "dispatch"
    ops = set(graph.op_name)
    assert any("scaled_dot_product_attention" in o for o in ops)
    assert any("argmin" in o for o in ops)  # the VQ-VAE's nearest codebook entry: the image tokens
