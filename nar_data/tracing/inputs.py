"""Example inputs synthesised from a model's config, per modality, as meta tensors.

A weight-free trace needs inputs of the right *shapes* only (their values are never read on the meta
device), so every input here is ``torch.empty(..., device="meta")``. What the model takes is read
from its ``forward`` signature and ``main_input_name``; how big each input is comes from its config
(image size and channels, mel bins, frames, context length, ...), looked up on the model's config
and then on its sub-configs (``vision_config``, ``audio_config``, ``text_config``, ``encoder``...).

Modalities covered (``synthesize`` picks by the parameters the forward takes):

- text: ``input_ids`` (+ ``attention_mask``), ``[batch, seq]``; multiple choice ``[batch, choices, seq]``;
  seq2seq adds ``decoder_input_ids``.
- image: ``pixel_values`` ``[batch, channels, H, W]`` from ``image_size``/``num_channels``.
- video: ``pixel_values`` / ``pixel_values_videos`` ``[batch, frames, channels, H, W]``.
- audio: ``input_values`` (waveform, long enough for any conv feature extractor) or ``input_features``
  (``[batch, mel, frames]`` for Whisper-like encoders, ``[batch, frames, features]`` otherwise).
- multimodal: image + text; the image-token count check is skipped on meta (see ``transformers``
  source), so the text length need not match the number of image features.
- time series: ``past_values``, ``past_time_features``, ``past_observed_mask``, ``future_values``, ...

Sizes are deliberately small (sequence 16, batch 1): the graph's ops do not depend on them.
Anything model-specific that the rules cannot guess lives in ``OVERRIDES`` (model_type -> function).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterator
from typing import Any

import torch

from ..errors import InputSynthesisError

__all__ = ["OVERRIDES", "Inputs", "cfg_get", "synthesize", "sub_configs"]

BATCH = 1
SEQ = 16
DEC_SEQ = 8
AUDIO_SAMPLES = 16_000  # 1 s at 16 kHz: survives every conv feature extractor's total stride
AUDIO_FRAMES = 64

Inputs = tuple[tuple[Any, ...], dict[str, Any]]
OVERRIDES: dict[str, Callable[[torch.nn.Module, Any, str], dict[str, Any]]] = {}


def override(*model_types: str) -> Callable[[Callable[..., dict[str, Any]]], Callable[..., dict[str, Any]]]:
    """Register an input recipe for model types the generic rules get wrong."""

    def deco(fn: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        for mt in model_types:
            OVERRIDES[mt] = fn
        return fn

    return deco


# --------------------------------------------------------------------------- tensors and config look-up

def meta(*shape: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.empty(tuple(int(s) for s in shape), dtype=dtype, device="meta")


def ids(*shape: int) -> torch.Tensor:
    return meta(*shape, dtype=torch.long)


def ones_mask(*shape: int) -> torch.Tensor:
    return meta(*shape, dtype=torch.long)


def sub_configs(config: Any) -> Iterator[Any]:
    """``config`` then its nested configs (``vision_config``, ``text_config``, ``encoder``...), breadth first."""
    from transformers import PretrainedConfig

    seen: set[int] = set()
    queue = [config]
    while queue:
        c = queue.pop(0)
        if id(c) in seen:
            continue
        seen.add(id(c))
        yield c
        for value in vars(c).values():
            if isinstance(value, PretrainedConfig):
                queue.append(value)
            elif isinstance(value, (list, tuple)):
                queue.extend(v for v in value if isinstance(v, PretrainedConfig))


def cfg_get(config: Any, *names: str, default: Any = None, prefer: str | None = None) -> Any:
    """First non-None attribute among ``names`` on ``config`` or its sub-configs.

    ``prefer`` names a sub-config to look in first (``"vision_config"``, ``"audio_config"``).
    """
    configs = list(sub_configs(config))
    if prefer is not None:
        first = getattr(config, prefer, None)
        if first is not None:
            configs = list(sub_configs(first)) + configs
    for c in configs:
        for n in names:
            v = getattr(c, n, None)
            if v is not None:
                return v
    return default


def _hw(size: Any) -> tuple[int, int]:
    if isinstance(size, dict):
        if "height" in size:
            return int(size["height"]), int(size["width"])
        v = size.get("shortest_edge") or next(iter(size.values()))
        return int(v), int(v)
    if isinstance(size, (list, tuple)):
        return (int(size[0]), int(size[-1])) if len(size) > 1 else (int(size[0]), int(size[0]))
    return int(size), int(size)


def image_hw(config: Any, prefer: str | None = "vision_config", default: int = 224) -> tuple[int, int]:
    size = cfg_get(config, "image_size", "img_size", "input_size", "crop_size", prefer=prefer)
    if size is None:
        return default, default
    h, w = _hw(size)
    if h <= 0 or w <= 0:
        return default, default
    return h, w


def num_channels(config: Any, prefer: str | None = "vision_config") -> int:
    c = cfg_get(config, "num_channels", "in_channels", "in_chans", "input_channels", "num_input_channels",
                prefer=prefer, default=3)
    return int(c) if isinstance(c, int) else 3


def text_len(config: Any, seq: int = SEQ) -> int:
    """``seq`` clipped to the position table (minus the padding offset some encoders keep)."""
    limit = cfg_get(config, "max_position_embeddings", "n_positions", "max_seq_len", "max_sequence_length",
                    prefer="text_config")
    if isinstance(limit, int) and limit > 0:
        return max(1, min(seq, limit - 2 if limit > seq + 2 else limit))
    return seq


# --------------------------------------------------------------------------- modality recipes

def text_inputs(model: torch.nn.Module, config: Any, params: set[str], task: str) -> dict[str, Any]:
    L = text_len(config)
    shape = (BATCH, 2, L) if task == "multiple-choice" else (BATCH, L)
    out: dict[str, Any] = {"input_ids": ids(*shape)}
    if "attention_mask" in params:
        out["attention_mask"] = ones_mask(*shape)
    return out


def image_inputs(config: Any, name: str = "pixel_values", prefer: str | None = "vision_config") -> dict[str, Any]:
    h, w = image_hw(config, prefer)
    return {name: meta(BATCH, num_channels(config, prefer), h, w)}


def video_inputs(config: Any, name: str = "pixel_values", prefer: str | None = "vision_config") -> dict[str, Any]:
    h, w = image_hw(config, prefer)
    frames = int(cfg_get(config, "num_frames", "frames_per_clip", "num_image_with_embedding", prefer=prefer,
                         default=8))
    return {name: meta(BATCH, frames, num_channels(config, prefer), h, w)}


def audio_features(config: Any) -> torch.Tensor:
    """``input_features``: Whisper-like ``[B, mel, 2 * max_source_positions]``, else ``[B, frames, features]``."""
    mel = cfg_get(config, "num_mel_bins", prefer="audio_config")
    src_pos = cfg_get(config, "max_source_positions", prefer="audio_config")
    if mel is not None and src_pos is not None:
        return meta(BATCH, int(mel), 2 * int(src_pos))
    feat = cfg_get(config, "input_feat_per_channel", prefer="audio_config")
    if feat is not None:
        ch = int(cfg_get(config, "input_channels", prefer="audio_config", default=1))
        return meta(BATCH, AUDIO_FRAMES * 4, int(feat) * ch)
    feat = cfg_get(config, "feature_size", "num_mel_bins", "n_mels", "input_dim", prefer="audio_config", default=80)
    return meta(BATCH, AUDIO_FRAMES * 4, int(feat))


def time_series_inputs(config: Any, params: set[str]) -> dict[str, Any]:
    """Past/future windows as the time-series ModelTesters build them."""
    ctx = int(cfg_get(config, "context_length", "sequence_length", default=32) or 32)
    pred = int(cfg_get(config, "prediction_length", default=8) or 8)
    lags = cfg_get(config, "lags_sequence")
    past = ctx + (max(lags) if lags else 0)
    channels = int(cfg_get(config, "num_input_channels", "input_size", "enc_in", default=1) or 1)
    shaped = "num_input_channels" in vars(config) or getattr(config, "model_type", "") in {"patchtsmixer", "patchtst"}
    n_time = int(cfg_get(config, "num_time_features", default=0) or 0) + int(
        cfg_get(config, "num_dynamic_real_features", default=0) or 0)
    out: dict[str, Any] = {}
    past_shape = (BATCH, past, channels) if (shaped or channels > 1) else (BATCH, past)
    out["past_values"] = meta(*past_shape)
    if "past_time_features" in params:
        out["past_time_features"] = meta(BATCH, past, max(n_time, 1))
    if "past_observed_mask" in params:
        out["past_observed_mask"] = meta(*past_shape, dtype=torch.bool)
    if "static_categorical_features" in params and int(cfg_get(config, "num_static_categorical_features",
                                                               default=0) or 0):
        out["static_categorical_features"] = ids(BATCH, int(config.num_static_categorical_features))
    if "static_real_features" in params and int(cfg_get(config, "num_static_real_features", default=0) or 0):
        out["static_real_features"] = meta(BATCH, int(config.num_static_real_features))
    if "future_time_features" in params:
        out["future_time_features"] = meta(BATCH, pred, max(n_time, 1))
    return out


def seq2seq_inputs(config: Any, params: set[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "decoder_input_ids" in params:
        out["decoder_input_ids"] = ids(BATCH, DEC_SEQ)
        if "decoder_attention_mask" in params:
            out["decoder_attention_mask"] = ones_mask(BATCH, DEC_SEQ)
    return out


# --------------------------------------------------------------------------- dispatcher

def forward_params(model: torch.nn.Module) -> dict[str, inspect.Parameter]:
    sig = inspect.signature(model.forward)
    return {n: p for n, p in sig.parameters.items() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}


def _is_video(model: torch.nn.Module, config: Any, task: str) -> bool:
    mt = getattr(config, "model_type", "")
    return task == "video-classification" or any(k in mt for k in ("video", "vivit", "timesformer", "tvlt"))


def synthesize(model: torch.nn.Module, config: Any, task: str = "") -> Inputs:
    """``(args, kwargs)`` of meta tensors that ``model`` (built from ``config``) can run forward on.

    Raises:
        InputSynthesisError: when no rule knows the model's main input.
    """
    sig = forward_params(model)
    params = set(sig)
    mt = getattr(config, "model_type", "")
    if mt in OVERRIDES:
        return (), OVERRIDES[mt](model, config, task)
    main = getattr(model, "main_input_name", "input_ids")
    kwargs: dict[str, Any] = {}
    if main in ("input_ids", "inputs_embeds", "inputs") and main not in params and "input_ids" in params:
        main = "input_ids"

    if main == "input_ids" or (main not in params and "input_ids" in params):
        kwargs.update(text_inputs(model, config, params, task))
        # a multimodal model: also give it an image (or audio) when its forward takes one
        if "pixel_values" in params and cfg_get(config, "vision_config") is not None:
            kwargs.update(image_inputs(config))
        kwargs.update(seq2seq_inputs(config, params) if getattr(config, "is_encoder_decoder", False) else {})
    elif main == "pixel_values":
        kwargs.update(video_inputs(config) if _is_video(model, config, task) else image_inputs(config, prefer=None))
        if "input_ids" in params and _required(sig, "input_ids"):
            kwargs.update(text_inputs(model, config, params, task))
        kwargs.update(seq2seq_inputs(config, params) if getattr(config, "is_encoder_decoder", False) else {})
    elif main == "pixel_values_videos":
        kwargs.update(video_inputs(config, "pixel_values_videos"))
    elif main == "input_values":
        kwargs["input_values"] = meta(BATCH, AUDIO_SAMPLES)
        kwargs.update(seq2seq_inputs(config, params) if getattr(config, "is_encoder_decoder", False) else {})
    elif main == "input_features":
        kwargs["input_features"] = audio_features(config)
        if "attention_mask" in params and _required(sig, "attention_mask"):
            kwargs["attention_mask"] = ones_mask(*kwargs["input_features"].shape[:2])
        kwargs.update(seq2seq_inputs(config, params) if getattr(config, "is_encoder_decoder", False) else {})
    elif main == "past_values":
        kwargs.update(time_series_inputs(config, params))
    else:
        raise InputSynthesisError(
            f"No input rule for {type(model).__name__} (model_type {mt!r}, main input {main!r}); "
            f"add one to nar_data.tracing.inputs.OVERRIDES")
    # anything else the forward *requires* that we know how to make
    for name, p in sig.items():
        if name in kwargs or p.default is not inspect.Parameter.empty:
            continue
        if name in ("input_ids", "decoder_input_ids", "labels"):
            kwargs[name] = ids(BATCH, SEQ if name == "input_ids" else DEC_SEQ)
        elif name == "pixel_values":
            kwargs.update(image_inputs(config))
        elif name == "attention_mask":
            kwargs[name] = ones_mask(BATCH, SEQ)
    kwargs = {k: v for k, v in kwargs.items() if k in params or "kwargs" in _var_kw(model)}
    if "use_cache" in params:
        kwargs["use_cache"] = False
    return (), kwargs


def _required(sig: dict[str, inspect.Parameter], name: str) -> bool:
    return name in sig and sig[name].default is inspect.Parameter.empty


def _var_kw(model: torch.nn.Module) -> set[str]:
    sig = inspect.signature(model.forward)
    return {n for n, p in sig.parameters.items() if p.kind == p.VAR_KEYWORD}


def round_up(x: int, m: int) -> int:
    return int(math.ceil(x / m) * m)
