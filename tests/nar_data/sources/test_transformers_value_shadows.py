"""Model types whose traces needed shadow values for list indices, VQ codes or predicted durations."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("transformers")

from nar_data.build.shadow import ListIndexShadows, ShadowValues  # noqa: E402


def test_shadow_survives_list_index_and_vq_argmin():
    grid = torch.tensor([[1, 4, 6]])
    meta_grid = grid.to("meta")
    distances = torch.empty(12, 8192, device="meta")  # activations: no values
    with ShadowValues({id(meta_grid): (meta_grid, grid)}) as shadow:
        plain = meta_grid[:, [0, 2, 1]]
        with ListIndexShadows():
            reordered = meta_grid[:, [0, 2, 1]]  # MuseSpark's grid_thw[:, [0, 2, 1]]
        codes = torch.argmin(distances, dim=1)  # a VQ tokenizer's nearest codebook entries
        table = torch.arange(8192) + 4
        looked_up = table[codes.to("cpu")]  # Chameleon's img2bpe_mapping_tensor[img_batch.to("cpu")]
    assert shadow.get(plain) is None  # opt-in: by default a list index drops the shadow, as it always did
    assert shadow.get(reordered).tolist() == [[1, 6, 4]]
    assert shadow.get(codes).tolist() == [0] * 12
    assert shadow.get(looked_up).tolist() == [4] * 12
    # no class-level patch: a Python __getitem__ on torch.Tensor made 0-d tensors look like sequences (UDOP failed)
    assert "__getitem__" not in torch.Tensor.__dict__


@pytest.mark.parametrize("name, model_type, ops", [
    # durations shadowed: the output length is known, so the flow and the HiFi-GAN decoder run
    ("VitsModel", "vits", ("conv_transpose1d", "softmax")),
    # the reordered grid keeps its values: cu_seqlens and position interpolation are computed
    ("MuseSparkVisionModel", "muse_spark_vision", ("repeat_interleave", "scaled_dot_product_attention")),
])
def test_models_reading_shadowed_values_trace(traced, name, model_type, ops):
    _, _, graph = traced(name, model_type)
    assert graph.capture == "dispatch"
    for op in ops:
        assert any(op in o for o in graph.op_name), (op, sorted(set(graph.op_name)))


@pytest.mark.slow
@pytest.mark.parametrize("name, model_type", [
    ("MuseSparkModel", "muse_spark"), ("ChameleonModel", "chameleon"), ("Emu3Model", "emu3"),
])
def test_vq_and_grid_multimodal_models_trace(traced, name, model_type):
    _, _, graph = traced(name, model_type)
    assert graph.capture == "dispatch"
    assert any("embedding" in o for o in graph.op_name)
    assert any("scaled_dot_product_attention" in o for o in graph.op_name)
