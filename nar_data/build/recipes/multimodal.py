"""Input recipes for multimodal models the generic rules get wrong (see the package docstring)."""

from __future__ import annotations

from typing import Any

import torch

from ..inputs import (BATCH, DEC_SEQ, cfg_get, complete_inputs, forward_params, grid_inputs, ids, image_hw, meta,
                      multimodal_image, num_channels, override, text_inputs)
from ..shadow import SHADOW_LIST_INDICES


def _patch_images(out: dict[str, Any], config: Any) -> dict[str, Any]:
    """Reshape `grid_inputs`' flattened patches ``[n, C*p*p]`` to ``[n, C, p, p]`` (single-frame patches)."""
    p = int(cfg_get(config, "patch_size", prefer="vision_config", default=14))
    name = "pixel_values" if "pixel_values" in out else "hidden_states"
    out[name] = out[name].reshape(-1, num_channels(config), p, p)
    return out


@override("kimi_k25", "kimi_k25_vision")
def kimi_k25(model: torch.nn.Module, config: Any, task: str) -> dict[str, Any]:
    # Kimi_K25VisionPatchEmbed: ``self.proj(pixel_values)`` is an nn.Conv2d(3, hidden, patch, patch) over
    # one image patch per row, then ``.view(pixel_values.size(0), -1)``
    return _patch_images(grid_inputs(config, set(forward_params(model))), config)


@override("paddleocr_vl")
def paddleocr_vl(model: torch.nn.Module, config: Any, task: str) -> dict[str, Any]:
    # get_image_features: ``pixel_values.unsqueeze(0)`` then the embeddings unpack
    # ``batch_size, sequence_len, channel, height, width = pixel_values.shape`` and run a Conv2d per patch
    return _patch_images(grid_inputs(config, set(forward_params(model))), config)


@override("hunyuan_vl")
def hunyuan_vl(model: torch.nn.Module, config: Any, task: str) -> dict[str, Any]:
    """The merged ``h' x w'`` patch grid becomes ``h' * (w' + 1) + 2`` tokens (HunYuanVLVisionPatchMerger appends
    ``image_newline`` to every row and wraps the image in ``image_begin`` / ``image_end``), so the prompt holds
    that many image tokens."""
    out = grid_inputs(config, set(forward_params(model)))
    if "input_ids" not in out:
        return out
    m = int(cfg_get(config, "spatial_merge_size", prefer="vision_config", default=2) or 1)
    _, h, w = (int(v) for v in out["image_grid_thw"][0])
    n = (h // m) * (w // m + 1) + 2
    image = int(config.image_token_id)
    ids = out["input_ids"][0].tolist()
    first = ids.index(image)
    ids = ids[:first] + [image] * n + [t for t in ids[first:] if t != image]
    out["input_ids"] = torch.tensor([ids], dtype=torch.long)
    if "attention_mask" in out:
        out["attention_mask"] = torch.ones_like(out["input_ids"])
    if "mm_token_type_ids" in out:
        out["mm_token_type_ids"] = (out["input_ids"] == image).long()
    return out


@override("gemma4_vision")
def gemma4_vision(model: torch.nn.Module, config: Any, task: str) -> dict[str, Any]:
    """Patches ``[B, n, C*p*p]`` (``input_proj`` is a Linear) with their ``(x, y)`` grid positions ``[B, n, 2]``;
    the pooler averages ``pooling_kernel_size``-square blocks, so the grid is two blocks per side."""
    k = int(config.pooling_kernel_size)
    side = 2 * k
    y, x = torch.meshgrid(torch.arange(side), torch.arange(side), indexing="ij")
    positions = torch.stack([x.flatten(), y.flatten()], dim=-1).expand(BATCH, -1, -1).clone()
    return {"pixel_values": meta(BATCH, side * side, num_channels(config, prefer=None) * config.patch_size ** 2),
            "pixel_position_ids": positions}


@override("granite_docling")
def granite_docling(model: torch.nn.Module, config: Any, task: str) -> dict[str, Any]:
    """Text + one tile ``[B, tiles, C, S, S]`` whose ``pixel_attention_mask`` is per *tile* (``[B, tiles]``, real
    tiles true): get_image_features sums it into ``tiles_per_sample`` and keeps ``pixel_values[mask]``."""
    params = set(forward_params(model))
    out = text_inputs(model, config, params, task)
    n = next(int(m.image_seq_len) for m in model.modules() if hasattr(m, "image_seq_len"))
    out["input_ids"] = torch.cat([out["input_ids"][:, :4], torch.full((BATCH, n), int(config.image_token_id)),
                                  out["input_ids"][:, 4:]], dim=1)  # one tile = image_seq_len image tokens
    out["attention_mask"] = torch.ones_like(out["input_ids"])
    h, w = image_hw(config)
    out["pixel_values"] = meta(BATCH, 1, num_channels(config), h, w)
    out["pixel_attention_mask"] = torch.ones(BATCH, 1, dtype=torch.bool)
    return {k: v for k, v in out.items() if k in params}


@override("fuyu")
def fuyu(model: torch.nn.Module, config: Any, task: str) -> dict[str, Any]:
    # no vision tower: ``self.vision_embed_tokens(pixel_values)`` is a Linear(patch_size**2 * C, hidden) over
    # the image's flattened patches ``[B, n, C*p*p]`` (what FuyuImageProcessor's patchify returns)
    params = set(forward_params(model))
    out = text_inputs(model, config, params, task)
    h, w = image_hw(config, prefer=None)
    p = int(config.patch_size)
    out["pixel_values"] = meta(BATCH, (h // p) * (w // p), num_channels(config, prefer=None) * p * p)
    return {k: v for k, v in out.items() if k in params}


@override("mllama", "mllama_vision_model")
def mllama(model: torch.nn.Module, config: Any, task: str) -> dict[str, Any]:
    """Text + one image of ``max_num_tiles`` tiles ``[B, images, tiles, C, H, W]``: the vision model needs the
    image's ``aspect_ratio_ids`` (one supported ratio, ids start at 1) and tile mask, and the text's
    cross-attention layers a ``cross_attention_mask`` ``[B, seq, images, tiles]`` (all tokens see all tiles)."""
    params = set(forward_params(model))
    out = text_inputs(model, config, params, task) if "input_ids" in params else {}
    vision = getattr(config, "vision_config", config)  # MllamaVisionModel is built from the vision config
    tiles = int(vision.max_num_tiles)
    h, w = image_hw(config)
    ratio = next(i for i, (a, b) in enumerate(vision.supported_aspect_ratios, 1) if a * b == tiles)
    L = out["input_ids"].shape[-1] if out else 1
    out.update(pixel_values=meta(BATCH, 1, tiles, num_channels(config), h, w),
               aspect_ratio_ids=torch.full((BATCH, 1), ratio, dtype=torch.long),
               aspect_ratio_mask=torch.ones(BATCH, 1, tiles, dtype=torch.long),
               cross_attention_mask=torch.ones(BATCH, L, 1, tiles, dtype=torch.long))
    return {k: v for k, v in out.items() if k in params}


@override("kosmos-2")
def kosmos2(model: torch.nn.Module, config: Any, task: str) -> dict[str, Any]:
    """Text + image: the resampler's ``latent_query_num`` image embeddings replace the prompt positions that
    ``image_embeds_position_mask`` marks (``inputs_embeds[img_input_mask] = image_embeds``), after ``<s><image>``."""
    params = set(forward_params(model))
    n = int(config.latent_query_num)
    L = n + 2 + 8  # <s> <image> [n image slots] </image> + text
    out = text_inputs(model, config, params, task)
    out["input_ids"] = torch.full((BATCH, L), int(out["input_ids"].flatten()[0]), dtype=torch.long)
    out["attention_mask"] = torch.ones(BATCH, L, dtype=torch.long)
    mask = torch.zeros(BATCH, L, dtype=torch.long)
    mask[:, 2:2 + n] = 1
    h, w = image_hw(config)
    out.update(image_embeds_position_mask=mask, pixel_values=meta(BATCH, num_channels(config), h, w))
    return {k: v for k, v in out.items() if k in params}


@override("deepseek_vl_hybrid")
def deepseek_vl_hybrid(model: torch.nn.Module, config: Any, task: str) -> dict[str, Any]:
    # the forward refuses one resolution without the other: the SigLIP image and the SAM high-res image
    params = set(forward_params(model))
    out = text_inputs(model, config, params, task)
    h, w = image_hw(config)
    hh, hw = image_hw(config, prefer="high_res_vision_config")
    out.update(pixel_values=meta(BATCH, num_channels(config), h, w),
               high_res_pixel_values=meta(BATCH, num_channels(config, prefer="high_res_vision_config"), hh, hw))
    return {k: v for k, v in out.items() if k in params}


@override("minicpm_ocr_vision", "minicpmv4_7_vision")
def minicpm_vision(model: torch.nn.Module, config: Any, task: str) -> dict[str, Any]:
    # the embeddings look up positions from ``target_sizes`` (each image's patch grid ``(h, w)``), required in
    # practice: ``get_vision_nearest_position_ids(target_sizes, ...)`` reads ``target_sizes.device``
    h, w = image_hw(config, prefer=None)
    p = int(config.patch_size)
    return {"pixel_values": meta(BATCH, num_channels(config, prefer=None), h, w),
            "target_sizes": torch.tensor([[h // p, w // p]] * BATCH, dtype=torch.int32)}


@override("inkling2", "inkling2_vision")
def inkling2(model: torch.nn.Module, config: Any, task: str) -> dict[str, Any]:
    """One pixel block ``[p*m, p*m, C]`` (channels last) per image token, with ``image_grid_thw`` counted in
    *merged* tokens (``patch_grid_thw = image_grid_thw * [1, m, m]``): the grid of `grid_inputs` divided by m."""
    out = grid_inputs(config, set(forward_params(model)))
    p = int(cfg_get(config, "patch_size", prefer="vision_config"))
    m = int(cfg_get(config, "spatial_merge_size", prefer="vision_config", default=2))
    grid_key = next(k for k in ("image_grid_thw", "grid_thw") if k in out)
    grid = out[grid_key] // torch.tensor([1, m, m])
    out[grid_key] = grid
    pixels_key = "pixel_values" if "pixel_values" in out else "hidden_states"
    out[pixels_key] = meta(int(grid.prod()), p * m, p * m, num_channels(config))
    return out


@override("inkling_mm_model")
def inkling(model: torch.nn.Module, config: Any, task: str) -> dict[str, Any]:
    """Text with 4 image tokens and one channels-last patch ``[temporal_patch_size, p, p, C]`` per token: the
    vision tower folds each patch to depth (``fold_timespace_to_depth``) down to a single text-width vector."""
    params = set(forward_params(model))
    out = text_inputs(model, config, params, task)
    vision = config.vision_config
    n = 4
    out["input_ids"][:, 4:4 + n] = int(config.image_token_id)
    out["pixel_values"] = meta(n, int(vision.temporal_patch_size), int(vision.patch_size), int(vision.patch_size),
                               int(vision.num_channels))
    return {k: v for k, v in out.items() if k in params}


@override("muse_glimmer_assistant")
def muse_glimmer_assistant(model: torch.nn.Module, config: Any, task: str) -> dict[str, Any]:
    """A block-diffusion drafter: ``noise_embeds`` ``[B, block_size, hidden]`` to denoise, conditioned on the
    target model's ``context_hidden_states`` (its ``target_layer_ids`` layers concatenated on the last dim)."""
    hidden, context, block = int(config.hidden_size), 8, int(config.block_size)
    # the keys are context + block long, and so must be the mask ("attention_mask ... has length
    # number_of_previous_accepted_tokens + config.block_size")
    return {"noise_embeds": meta(BATCH, block, hidden),
            "context_hidden_states": meta(BATCH, context, hidden * len(config.target_layer_ids)),
            "attention_mask": torch.ones(BATCH, context + block, dtype=torch.long)}


@override("glm_image")
def glm_image(model: torch.nn.Module, config: Any, task: str) -> dict[str, Any]:
    """Image-to-image: ``image_grid_thw`` lists the source images' grids *and then the target's*
    (``get_image_grids_for_generation`` keeps ``image_grid_thw[:-1]`` as sources), so the one source grid of
    `grid_inputs` is followed by a target grid of the same size."""
    out = grid_inputs(config, set(forward_params(model)))
    if "image_grid_thw" in out and "input_ids" in out:
        out["image_grid_thw"] = torch.cat([out["image_grid_thw"]] * 2)
    return out


@override("perception_lm")
def perception_lm(model: torch.nn.Module, config: Any, task: str) -> dict[str, Any]:
    # tiles ``[B, tiles, C, H, W]`` (``pixel_values.flatten(0, 1)``) at the timm tower's ``img_size``
    params = set(forward_params(model))
    out = text_inputs(model, config, params, task)
    h, w = (config.vision_config.model_args or {}).get("img_size", (448, 448))
    out["pixel_values"] = meta(BATCH, 1, 3, int(h), int(w))
    return {k: v for k, v in out.items() if k in params}


@override("t5gemma2", "t5gemma2_encoder")
def t5gemma2(model: torch.nn.Module, config: Any, task: str) -> dict[str, Any]:
    """Text + one 896 px image (+ decoder ids), *without* the all-ones ``attention_mask``.

    The encoder's sliding-window ``and_mask_function`` makes transformers build the mask under ``torch.vmap``; a
    padding mask indexed there (``padding_mask[batch_idx, kv_idx]``) carries a shadow value, and the shadow
    mode inside vmap trips the recorder ("Current active mode ... not registered"). No mask = no padding, the
    same attention.
    """
    params = set(forward_params(model))
    out = text_inputs(model, config, params, task)
    out.pop("attention_mask", None)
    h, w = image_hw(config)
    out["pixel_values"] = meta(BATCH, num_channels(config), h, w)
    if "decoder_input_ids" in params and task not in ("text-classification", "question-answering"):
        out["decoder_input_ids"] = ids(BATCH, DEC_SEQ)
    return {k: v for k, v in out.items() if k in params}


@override("molmo2")
def molmo2(model: torch.nn.Module, config: Any, task: str) -> dict[str, Any]:
    """One crop of flattened patches ``[crops, (S/p)**2, C*p*p]``, pooled into a 2x2 grid of image tokens.

    The adapter attention-pools, for each image token, the patches that ``image_token_pooling`` indexes in the
    flattened patch sequence (a 2x2 block here); ``image_grids`` rows ``(h1, w1, h2, w2)`` give the token count
    ``h1 * w1 + h2 * w2``, and the prompt holds that many image tokens.
    """
    params = set(forward_params(model))
    out = text_inputs(model, config, params, task)
    h, _ = image_hw(config)
    p = int(cfg_get(config, "patch_size", prefer="vision_config"))
    side = h // p
    blocks = [(i, j) for i in range(2) for j in range(2)]
    pooling = [[(2 * i + di) * side + 2 * j + dj for di in range(2) for dj in range(2)] for i, j in blocks]
    out["input_ids"][:, 4:4 + len(blocks)] = int(cfg_get(config, "image_token_id", "image_patch_id"))
    out.update(pixel_values=meta(1, side * side, num_channels(config) * p * p),
               image_token_pooling=torch.tensor(pooling, dtype=torch.long),
               image_grids=torch.tensor([[2, 2, 0, 0]], dtype=torch.long))
    return {k: v for k, v in out.items() if k in params}


@override("idefics")
def idefics(model: torch.nn.Module, config: Any, task: str) -> dict[str, Any]:
    """IDEFICS (v1): images ``[B, num_images, C, H, W]`` (``batch_size, num_images = pixel_values.shape[:2]``) and
    the gated cross-attention's ``image_attention_mask`` ``[B, text_len, num_images]``."""
    out = text_inputs(model, config, set(forward_params(model)), task)
    h, w = image_hw(config)
    length = int(out["input_ids"].shape[-1])
    return out | {"pixel_values": meta(BATCH, 1, num_channels(config), h, w),
                  "image_attention_mask": torch.ones(BATCH, length, 1, dtype=torch.long)}


@override("neomme")
def neomme(model: torch.nn.Module, config: Any, task: str) -> dict[str, Any]:
    """NeoMME embeds flattened patches ``[n, 3 * patch_size ** 2]`` (``get_image_features`` checks
    ``patch_dim``) and scatters them onto exactly ``n`` ``image_token_id`` placeholders of the prompt."""
    out = text_inputs(model, config, set(forward_params(model)), task)
    n = 4
    seq = out["input_ids"][0].tolist()
    seq[1:1 + n] = [int(config.image_token_id)] * n
    out["input_ids"] = torch.tensor([seq], dtype=torch.long)
    return out | {"pixel_values": meta(n, int(config.patch_dim))}


@override("chameleon", "emu3")
def vq_image_tokens(model: torch.nn.Module, config: Any, task: str) -> dict[str, Any]:
    """Text + an image (the generic image-text recipe), with the VQ-code -> text-token table already built.

    ``convert_img2bpe`` looks each VQ code up in ``img2bpe_mapping_tensor``, a ``cached_property`` that the first
    forward fills with one ``mapping[k] = v`` per codebook entry (8192 for Chameleon, 32768 for Emu3): traced cold,
    that Python loop would be 2 ops per entry, dwarfing the architecture. Built here, it is a constant table, as in
    every later forward; its values come from the config's vocabulary_map (see ``DEFAULT_FIXUPS``)."""
    for m in model.modules():
        if (mapping := getattr(m, "vocabulary_mapping", None)) is not None:
            _ = mapping.img2bpe_mapping_tensor
    params = set(forward_params(model))
    out = text_inputs(model, config, params, task)
    if "pixel_values" in params:
        out.update(multimodal_image(config, params))
    return {k: v for k, v in out.items() if k in params}


@override("muse_spark", "muse_spark_vision")
def muse_spark(model: torch.nn.Module, config: Any, task: str) -> dict[str, Any]:
    """The generic patch-grid recipe; the vision tower reorders the grid with a Python list
    (``grid_thw[:, [0, 2, 1]]``, then ``repeat_interleave``s by it), so list indices keep their shadows here
    (`ListIndexShadows`)."""
    setattr(model, SHADOW_LIST_INDICES, True)
    sig = forward_params(model)
    return complete_inputs(model, config, sig, grid_inputs(config, set(sig)))
