"""Pick the inputs of a built model: its model type's recipe, else the generic rules of `nar_data.build.inputs`.

``synthesize`` is what a source calls after building a module on meta; it returns the meta inputs and the
real values the shadows of `nar_data.build.shadow` give the integer ones.
"""

from __future__ import annotations

from typing import Any

import torch

from ..errors import InputSynthesisError
from . import recipes  # noqa: F401  (registers the model-specific recipes into OVERRIDES)
from .inputs import (AUDIO_FRAMES, AUDIO_SAMPLES, BATCH, OVERRIDES, Inputs, _PLAIN_TOKEN, audio_features, cfg_get,
                     complete_inputs, forward_params, grid_inputs, image_inputs, is_required, meta, multimodal_image,
                     naflex_inputs, ones_mask, plain_token, seq2seq_inputs, text_inputs, time_series_inputs,
                     video_inputs)
from .shadow.values import SHADOW_LIMIT

__all__ = ["synthesize"]


def _is_video(model: torch.nn.Module, config: Any, task: str) -> bool:
    mt = getattr(config, "model_type", "")
    if task == "mask-generation":  # a video tracker's per-frame image model (Sam2Model of sam2_video) takes images
        return False
    return task == "video-classification" or any(k in mt for k in ("video", "vivit", "timesformer", "tvlt"))


def synthesize(model: torch.nn.Module, config: Any, task: str = "") -> tuple[tuple[Any, ...], dict[str, Any],
                                                                             dict[str, torch.Tensor]]:
    """``(args, kwargs, values)``: meta inputs ``model`` (built from ``config``) can run forward on.

    Integer inputs (token ids, masks, image grids) are meta tensors too, and ``values`` maps their
    names to real CPU values for `with_shadow_values`.

    Raises:
        InputSynthesisError: when no rule knows the model's main input.
    """
    _PLAIN_TOKEN[0] = plain_token(config)
    args, kwargs = _synthesize(model, config, task)
    values = {k: v for k, v in kwargs.items() if isinstance(v, torch.Tensor) and not v.is_meta}
    for k, v in values.items():
        kwargs[k] = v.to("meta") if v.numel() <= SHADOW_LIMIT else meta(*v.shape, dtype=v.dtype)
    return args, kwargs, {k: v for k, v in values.items() if v.numel() <= SHADOW_LIMIT}


def _synthesize(model: torch.nn.Module, config: Any, task: str = "") -> Inputs:
    sig = forward_params(model)
    params = set(sig)
    mt = getattr(config, "model_type", "")
    if mt in OVERRIDES:
        return (), OVERRIDES[mt](model, config, task)
    main = getattr(model, "main_input_name", "input_ids")
    kwargs: dict[str, Any] = {}
    if "image_grid_thw" in params or "grid_thw" in params:
        kwargs.update(grid_inputs(config, params))
        return (), complete_inputs(model, config, sig, kwargs)
    if main in ("input_ids", "inputs_embeds", "inputs") and main not in params and "input_ids" in params:
        main = "input_ids"

    if main == "input_ids" or (main not in params and "input_ids" in params):
        kwargs.update(text_inputs(model, config, params, task))
        # a multimodal model: also give it an image (or audio) when its forward takes one
        if "pixel_values" in params and "spatial_shapes" in params:
            kwargs.update(naflex_inputs(config))
        elif "pixel_values" in params and getattr(config, "vision_config", True) is None:
            pass  # the config says "no vision tower" (Gemma 4 and EmbeddingGemma 2 defaults): text only
        elif "pixel_values" in params:  # a text model that also takes an image is multimodal
            kwargs.update(multimodal_image(config, params))
        kwargs.update(seq2seq_inputs(config, params, task) if getattr(config, "is_encoder_decoder", False) else {})
    elif main == "pixel_values" and "spatial_shapes" in params:
        kwargs.update(naflex_inputs(config))
        if "input_ids" in params and cfg_get(config, "text_config") is not None:
            kwargs.update(text_inputs(model, config, params, task))
    elif main == "pixel_values":
        kwargs.update(video_inputs(config) if _is_video(model, config, task) else image_inputs(config, prefer=None))
        if "input_ids" in params and (is_required(sig, "input_ids") or cfg_get(config, "text_config") is not None):
            kwargs.update(text_inputs(model, config, params, task))
        kwargs.update(seq2seq_inputs(config, params, task) if getattr(config, "is_encoder_decoder", False) else {})
    elif main == "pixel_values_videos":
        kwargs.update(video_inputs(config, "pixel_values_videos"))
    elif main == "input_values":
        if cfg_get(config, "num_mel_bins") is not None and cfg_get(config, "max_length") is not None:
            # a spectrogram transformer (AST): [batch, frames, mel]
            kwargs["input_values"] = meta(BATCH, int(config.max_length), int(config.num_mel_bins))
        elif any(cfg_get(config, k) is not None for k in ("audio_channels", "codebook_size", "upsampling_ratios",
                                                            "codebook_dim", "num_quantizers")):
            # a neural audio codec: [batch, channels, samples]
            kwargs["input_values"] = meta(BATCH, int(cfg_get(config, "audio_channels", default=1) or 1),
                                          AUDIO_SAMPLES)
        else:
            kwargs["input_values"] = meta(BATCH, AUDIO_SAMPLES)
        kwargs.update(seq2seq_inputs(config, params, task) if getattr(config, "is_encoder_decoder", False) else {})
    elif main == "input_features":
        kwargs["input_features"] = audio_features(config)
        if "attention_mask" in params and is_required(sig, "attention_mask"):
            kwargs["attention_mask"] = ones_mask(*kwargs["input_features"].shape[:2])
        kwargs.update(seq2seq_inputs(config, params, task) if getattr(config, "is_encoder_decoder", False) else {})
    elif main == "audio_mel":  # Gemma3n audio: [batch, frames, mel]
        kwargs["audio_mel"] = meta(BATCH, AUDIO_FRAMES * 4, int(cfg_get(config, "input_feat_size", default=128)))
    elif main == "past_values":
        kwargs.update(time_series_inputs(config, params))
    else:
        raise InputSynthesisError(
            f"No input rule for {type(model).__name__} (model_type {mt!r}, main input {main!r}); "
            f"add a recipe with @override in nar_data.build.recipes")
    return (), complete_inputs(model, config, sig, kwargs)
