"""Input recipes for special models the generic rules get wrong (see the package docstring).

Vision models whose input is not one image (image pairs, visual features, videos at a size only the
timm backbone knows), models with extra required inputs (robot actions, task prompts), and text models
whose forward reads token *values* (question / separator tokens).
"""

from __future__ import annotations

from typing import Any

import torch

from ..inputs import (BATCH, SEQ, cfg_get, forward_params, ids, image_hw, image_inputs, meta, num_channels,
                      ones_mask, override, text_inputs, video_inputs)


@override("splinter")
def splinter(model: torch.nn.Module, config: Any, task: str) -> dict[str, Any]:
    """Text with one question token: ``_prepare_question_positions`` reads ``(input_ids == question_token_id)``
    and takes ``num_questions.max()`` of it, which has no value when no token is a question."""
    out = text_inputs(model, config, set(forward_params(model)), task)
    out["input_ids"][..., 1] = config.question_token_id
    return out


@override("longformer")
def longformer(model: torch.nn.Module, config: Any, task: str) -> dict[str, Any]:
    """Text with three separator tokens: the QA and multiple-choice heads put global attention on the question
    found from them (``_get_question_end_index`` asserts exactly three ``sep_token_id`` per sample)."""
    out = text_inputs(model, config, set(forward_params(model)), task)
    out["input_ids"][..., -3:] = config.sep_token_id
    return out


@override("depth_pro")
def depth_pro(model: torch.nn.Module, config: Any, task: str) -> dict[str, Any]:
    """One image at the size whose smallest scaled copy is one patch: ``patch_size / min(scaled_images_ratios)``
    (384 / 0.25 = 1536, Depth Pro's native resolution); the patch encoder refuses smaller images."""
    side = int(round(config.patch_size / min(config.scaled_images_ratios)))
    return {"pixel_values": meta(BATCH, num_channels(config, None), side, side)}


@override("lightglue", "efficientloftr")
def image_pair(model: torch.nn.Module, config: Any, task: str) -> dict[str, Any]:
    """Keypoint matchers take a pair of images ``[B, 2, C, H, W]`` (they keep one channel themselves)."""
    h, w = image_hw(config, None)
    return {"pixel_values": meta(BATCH, 2, 3, h, w)}


@override("lxmert")
def lxmert(model: torch.nn.Module, config: Any, task: str) -> dict[str, Any]:
    """Text + detector region features: ``visual_feats`` ``[B, boxes, visual_feat_dim]`` and their boxes
    ``visual_pos`` ``[B, boxes, visual_pos_dim]`` (36 regions, as the Faster R-CNN features it was trained on)."""
    out = text_inputs(model, config, set(forward_params(model)), task)
    return out | {"visual_feats": meta(BATCH, 36, config.visual_feat_dim),
                  "visual_pos": meta(BATCH, 36, config.visual_pos_dim)}


@override("blip_2_qformer")
def qformer(model: torch.nn.Module, config: Any, task: str) -> dict[str, Any]:
    """The Q-Former alone: its learned queries cross-attend image features of the vision tower
    (``[B, 257, encoder_hidden_size]``: 16x16 patches + CLS of BLIP-2's EVA ViT-g at 224 px)."""
    n = int(cfg_get(config, "num_query_tokens", default=32))
    return {"query_embeds": meta(BATCH, n, config.hidden_size),
            "encoder_hidden_states": meta(BATCH, 257, config.encoder_hidden_size)}


@override("pi0")
def pi0(model: torch.nn.Module, config: Any, task: str) -> dict[str, Any]:
    """One camera image, a prompt that starts with its image tokens, and the action expert's input.

    ``embed_prefix`` scatters each camera's features onto the ``image_token_id`` positions (one camera:
    ``pixel_values`` ``[B, 1, C, H, W]``, ``pixel_attention_mask`` ``[B, 1]``). ``PI0Model`` takes the action
    expert's embeddings (state + ``chunk_size`` actions); the head embeds robot ``state``, ``noise`` and
    ``timestep`` itself.
    """
    vlm = config.vlm_config
    h, w = image_hw(vlm)
    patch = int(cfg_get(vlm, "patch_size", prefer="vision_config", default=14))
    n_img = (h // patch) * (w // patch)
    input_ids = ids(BATCH, n_img + 8)
    input_ids[:, :n_img] = vlm.image_token_id
    out: dict[str, Any] = {"input_ids": input_ids, "attention_mask": ones_mask(*input_ids.shape),
                           "pixel_values": meta(BATCH, 1, num_channels(vlm), h, w),
                           "pixel_attention_mask": torch.ones(BATCH, 1, dtype=torch.bool)}
    if "action_embeds" in forward_params(model):
        return out | {"action_embeds": meta(BATCH, config.chunk_size + 1, config.dit_config.hidden_size)}
    return out | {"state": meta(BATCH, config.max_state_dim),
                  "noise": meta(BATCH, config.chunk_size, config.max_action_dim), "timestep": meta(BATCH)}


@override("xclip")
def xclip(model: torch.nn.Module, config: Any, task: str) -> dict[str, Any]:
    """Text + a video ``[B, frames, C, H, W]`` (X-CLIP's vision side is a video encoder)."""
    out = text_inputs(model, config, set(forward_params(model)), task)
    frames = int(cfg_get(config, "num_frames", default=8))
    h, w = image_hw(config)
    return out | {"pixel_values": meta(BATCH, frames, num_channels(config), h, w)}


@override("tvp")
def tvp(model: torch.nn.Module, config: Any, task: str) -> dict[str, Any]:
    """Text + video frames at ``max_img_size``: the visual prompter adds its padding prompt to a
    ``[max_img_size, max_img_size]`` frame (``pixel_values *= visual_prompt_mask``)."""
    out = text_inputs(model, config, set(forward_params(model)), task)
    side = int(config.max_img_size)
    return out | {"pixel_values": meta(BATCH, int(config.num_frames), num_channels(config), side, side)}


def _timm_hw(model: torch.nn.Module) -> tuple[int, int] | None:
    """Input size a timm backbone inside ``model`` was defined for (its ``pretrained_cfg["input_size"]``)."""
    for m in model.modules():
        size = (getattr(m, "pretrained_cfg", None) or {}).get("input_size")
        if size:
            return int(size[-2]), int(size[-1])
    return None


@override("pe_video", "pe_video_encoder")
def pe_video(model: torch.nn.Module, config: Any, task: str) -> dict[str, Any]:
    """A video at the size of the timm ViT it wraps (``vit_pe_core_large_patch14_336`` asserts 336 px; the
    wrapper config holds only the architecture name), plus text for the two-tower model."""
    params = set(forward_params(model))
    name = "pixel_values_videos" if "pixel_values_videos" in params else "pixel_values"
    video = video_inputs(config, name)[name]
    h, w = _timm_hw(model) or tuple(video.shape[-2:])
    out: dict[str, Any] = {name: meta(*video.shape[:-2], h, w)}
    if "input_ids" in params:
        out |= text_inputs(model, config, params, task)
    return out


@override("perceiver")
def perceiver(model: torch.nn.Module, config: Any, task: str) -> dict[str, Any]:
    """Perceiver's ``inputs`` are whatever its input preprocessor takes: token ids (text heads), an image
    (image heads), or, for the bare model (no preprocessor), an array ``[B, M, d_model]``."""
    pre = getattr(getattr(model, "perceiver", model), "input_preprocessor", None)
    if pre is None:
        return {"inputs": meta(BATCH, SEQ, config.d_model)}
    if type(pre).__name__ == "PerceiverTextPreprocessor":
        return {"inputs": ids(BATCH, SEQ), "attention_mask": ones_mask(BATCH, SEQ)}
    return {"inputs": image_inputs(config, prefer=None)["pixel_values"]}


@override("omdet-turbo")
def omdet_turbo(model: torch.nn.Module, config: Any, task: str) -> dict[str, Any]:
    """An image, a task prompt per image and the class prompts it detects (``classes_structure[b]`` classes
    for image b, stacked in ``classes_input_ids``); the processor pads every prompt to 77 CLIP tokens."""
    n_classes, length = 4, 77
    return {"pixel_values": image_inputs(config, prefer=None)["pixel_values"],
            "classes_input_ids": ids(BATCH * n_classes, length),
            "classes_attention_mask": ones_mask(BATCH * n_classes, length),
            "tasks_input_ids": ids(BATCH, length), "tasks_attention_mask": ones_mask(BATCH, length),
            "classes_structure": torch.full((BATCH,), n_classes, dtype=torch.long)}


@override("pp_ocrv5_server_rec", "pp_ocrv6_small_rec", "pp_ocrv6_tiny_rec")
def text_line(model: torch.nn.Module, config: Any, task: str) -> dict[str, Any]:
    """A text-line crop at the image processor's 48 x 320: the recognition head squeezes the feature map's
    height, which must pool down to 1 (``hidden_states.squeeze(2)``)."""
    return {"pixel_values": meta(BATCH, num_channels(config, None), 48, 320)}


@override("rf_detr")
def rf_detr(model: torch.nn.Module, config: Any, task: str) -> dict[str, Any]:
    """An image whose patch grid splits into ``num_windows`` x ``num_windows`` windows (``window_partition``
    views the grid as ``[B, windows, w/windows, ...]``): DINOv2's 518 px rounded up to a multiple of
    ``patch_size * num_windows`` (560, RF-DETR-Base's resolution)."""
    backbone = config.backbone_config
    step = int(backbone.patch_size) * int(backbone.num_windows)
    side = -(-int(backbone.image_size) // step) * step
    return {"pixel_values": meta(BATCH, int(backbone.num_channels), side, side)}


@override("oneformer")
def oneformer(model: torch.nn.Module, config: Any, task: str) -> dict[str, Any]:
    """An image and its task prompt (``"the task is semantic"`` tokenised to ``task_seq_len`` ids): OneFormer
    conditions its queries on the task (``main_input_name`` is the pair)."""
    return {"pixel_values": image_inputs(config, prefer=None)["pixel_values"],
            "task_inputs": ids(BATCH, int(config.task_seq_len))}
