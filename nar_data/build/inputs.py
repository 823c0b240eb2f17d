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
Anything model-specific that the rules cannot guess is a recipe in ``OVERRIDES`` (model_type -> function,
registered with ``@override`` by the modules of `nar_data.build.recipes`); `nar_data.build.synthesis`
picks the rule or recipe for a model.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterator
from typing import Any

import torch

from .shadow.values import SHADOW_LIMIT

__all__ = ["OVERRIDES", "Inputs", "cfg_get", "complete_inputs", "override", "sub_configs"]

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


#: A token id that is no special token of any model (set per model by `synthesize`).
_PLAIN_TOKEN = [5]


def ids(*shape: int) -> torch.Tensor:
    """Token ids as a small *real* tensor: `synthesize` moves it to meta and shadows its values."""
    return torch.full(tuple(int(s) for s in shape), _PLAIN_TOKEN[0], dtype=torch.long)


def ones_mask(*shape: int) -> torch.Tensor:
    return torch.ones(tuple(int(s) for s in shape), dtype=torch.long)


def special_token_ids(config: Any) -> set[int]:
    out: set[int] = set()
    for c in sub_configs(config):
        for k, v in vars(c).items():
            if (k.endswith("_token_id") or k.endswith("_token_index") or k.endswith("_id")) and isinstance(v, int):
                out.add(v)
            elif k.endswith("_token_ids") and isinstance(v, (list, tuple)):
                out.update(x for x in v if isinstance(x, int))
    return out


def plain_token(config: Any) -> int:
    vocab = cfg_get(config, "vocab_size", prefer="text_config", default=1000)
    vocab = vocab if isinstance(vocab, int) and vocab > 1 else 1000
    special = special_token_ids(config)
    return next((t for t in range(min(100, vocab - 1), 0, -1) if t not in special), 1)


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
    input_ids = ids(*shape)
    eos = cfg_get(config, "eos_token_id", prefer="text_config")
    eos = eos[0] if isinstance(eos, (list, tuple)) and eos else eos
    if isinstance(eos, int) and 0 <= eos:
        input_ids[..., -1] = eos  # heads that pool "the EOS token" (T5/BART classification) need exactly one
    out: dict[str, Any] = {"input_ids": input_ids}
    if "attention_mask" in params:
        out["attention_mask"] = ones_mask(*shape)
    return out


def image_inputs(config: Any, name: str = "pixel_values", prefer: str | None = "vision_config") -> dict[str, Any]:
    h, w = image_hw(config, prefer)
    return {name: meta(BATCH, num_channels(config, prefer), h, w)}


def naflex_inputs(config: Any) -> dict[str, Any]:
    """SigLIP2-style native-resolution patches: ``[B, n, C*p*p]`` + mask + ``spatial_shapes`` ``[[h, w]]``."""
    p = int(cfg_get(config, "patch_size", prefer="vision_config", default=16))
    n = int(cfg_get(config, "num_patches", prefer="vision_config", default=256))
    side = max(1, int(math.isqrt(n)))
    return {"pixel_values": meta(BATCH, side * side, num_channels(config) * p * p),
            "pixel_attention_mask": torch.ones(BATCH, side * side, dtype=torch.long),
            "spatial_shapes": torch.tensor([[side, side]] * BATCH, dtype=torch.long)}


def multimodal_image(config: Any, params: set[str]) -> dict[str, Any]:
    """The image half of an image+text model: 4-D pixels, or 5-D ``[B, n, C, H, W]`` for tiling models."""
    out = image_inputs(config)
    h, w = image_hw(config)
    pix = out["pixel_values"]
    pinpoints = cfg_get(config, "image_grid_pinpoints")
    if pinpoints:  # LLaVA-NeXT "anyres": the base image plus the tiles of the best grid
        try:
            from transformers.models.llava_next.modeling_llava_next import image_size_to_num_patches

            n = image_size_to_num_patches((h, w), pinpoints, h)
        except Exception:  # noqa: BLE001
            n = 5
        out["pixel_values"] = meta(BATCH, int(n), *pix.shape[1:])
    elif "pixel_attention_mask" in params:  # Idefics2/3, SmolVLM: images x sub-images
        out.update(_tile_inputs(config))
    # image_sizes drives the anyres tiling, a Pixtral tower's variable size and Emu3's VQ grid; LLaVA with a
    # fixed-size tower divides it by ``self.vision_tower.patch_size``, which only Pixtral has
    vision = getattr(config, "vision_config", None)
    if "image_sizes" in params and (pinpoints or vision is None or getattr(vision, "model_type", "") == "pixtral"):
        out["image_sizes"] = torch.tensor([[h, w]] * BATCH, dtype=torch.long)
    return out


def _tile_inputs(config: Any) -> dict[str, Any]:
    """One Idefics2/3-style tile ``[B, 1, C, s, s]`` and its pixel mask ``[B, 1, s, s]``, as *real* tensors.

    ``get_image_features`` drops padding tiles by their values (``(pixel_values == 0.0).sum(...)``) and splits
    the features by ``num_real_images_per_batch.tolist()``, so the pixels must carry shadow values (at most
    ``SHADOW_LIMIT`` elements). These towers bucketize patch positions (any tile up to ``image_size`` is
    valid): the tile is the largest multiple of ``patch_size * scale_factor`` (the connector's pixel shuffle)
    that fits.
    """
    h, _ = image_hw(config)
    c = num_channels(config)
    p = int(cfg_get(config, "patch_size", prefer="vision_config", default=14))
    step = p * int(cfg_get(config, "scale_factor", "pixel_shuffle_factor", default=1) or 1)
    side = max(step, min(h, math.isqrt(SHADOW_LIMIT // c)) // step * step)
    return {"pixel_values": torch.ones(BATCH, 1, c, side, side),
            "pixel_attention_mask": torch.ones(BATCH, 1, side, side, dtype=torch.bool)}


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
    stacked = cfg_get(config, "feature_projection_input_dim", prefer="audio_config")
    if stacked is not None:  # w2v-BERT / SeamlessM4T: the processor stacks 2 mel frames (LayerNorm(160))
        return meta(BATCH, AUDIO_FRAMES * 4, int(stacked))
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
        out["past_time_features"] = meta(BATCH, past, n_time)
    if "past_observed_mask" in params:
        out["past_observed_mask"] = meta(*past_shape, dtype=torch.bool)
    if "static_categorical_features" in params and int(cfg_get(config, "num_static_categorical_features",
                                                               default=0) or 0):
        out["static_categorical_features"] = torch.zeros(BATCH, int(config.num_static_categorical_features), dtype=torch.long)
    if "static_real_features" in params and int(cfg_get(config, "num_static_real_features", default=0) or 0):
        out["static_real_features"] = meta(BATCH, int(config.num_static_real_features))
    if "future_time_features" in params:
        out["future_time_features"] = meta(BATCH, pred, n_time)
    if "future_values" in params and "future_time_features" in params:  # teacher-forced decoder, as in training
        out["future_values"] = meta(BATCH, pred, channels) if len(past_shape) == 3 else meta(BATCH, pred)
    if "past_values_padding" in params:  # TimesFM: 0 = observed
        out["past_values_padding"] = torch.zeros(past_shape[:2], dtype=torch.long)
    if "freq" in params:
        out["freq"] = torch.zeros(BATCH, 1, dtype=torch.long)
    return out


def grid_vision(config: Any) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Qwen2-VL-style flattened patches ``[t*h*w, C*tp*p*p]``, their ``grid_thw`` and the merged token count."""
    p = int(cfg_get(config, "patch_size", prefer="vision_config", default=14))
    p = p if isinstance(p, int) else 14
    tp = int(cfg_get(config, "temporal_patch_size", "patch_temporal", prefer="vision_config", default=1) or 1)
    m = int(cfg_get(config, "spatial_merge_size", "merge_size", prefer="vision_config", default=2) or 1)
    c = num_channels(config)
    h = w = 2 * m
    grid = torch.tensor([[1, h, w]], dtype=torch.long)
    return meta(h * w, c * tp * p * p), grid, (h * w) // (m * m)


def _token(config: Any, *names: str) -> int | None:
    v = cfg_get(config, *names)
    return v if isinstance(v, int) else None


def grid_inputs(config: Any, params: set[str]) -> dict[str, Any]:
    """A Qwen2-VL-family model: one small image as patches + grid, and a prompt holding its tokens."""
    pixels, grid, n_img = grid_vision(config)
    # VideoLLaMA3 takes each image's merge size beside its grid (``merge_sizes`` / ``image_merge_sizes``)
    merge = {k: torch.tensor([int(cfg_get(config, "spatial_merge_size", "merge_size", prefer="vision_config",
                                           default=2) or 1)] * len(grid), dtype=torch.long)
             for k in ("merge_sizes", "image_merge_sizes") if k in params}
    if "input_ids" not in params:  # the vision tower alone: forward(hidden_states, grid_thw)
        first = "pixel_values" if "pixel_values" in params else "hidden_states"
        return {first: pixels, "grid_thw" if "grid_thw" in params else "image_grid_thw": grid} | merge
    image = _token(config, "image_token_id", "image_token_index", "image_pad_token_id")
    start = _token(config, "vision_start_token_id", "image_start_token_id")
    end = _token(config, "vision_end_token_id", "image_end_token_id")
    tok = _PLAIN_TOKEN[0]
    seq = [tok] * 4 + ([start] if start is not None else []) + [image if image is not None else tok] * n_img + \
        ([end] if end is not None else []) + [tok] * 4
    input_ids = torch.tensor([seq], dtype=torch.long)
    out = {"input_ids": input_ids, "pixel_values": pixels, "image_grid_thw": grid} | merge
    if "mm_token_type_ids" in params:  # 0 text, 1 image (what the processor returns beside input_ids)
        out["mm_token_type_ids"] = (input_ids == image).long() if image is not None else torch.zeros_like(input_ids)
    if "attention_mask" in params:
        out["attention_mask"] = torch.ones_like(input_ids)
    return out


def seq2seq_inputs(config: Any, params: set[str], task: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if task in ("text-classification", "question-answering"):
        return out  # these heads pool the EOS token of the decoder run on the shifted input_ids
    if "decoder_input_ids" in params:
        out["decoder_input_ids"] = ids(BATCH, DEC_SEQ)
        if "decoder_attention_mask" in params:
            out["decoder_attention_mask"] = ones_mask(BATCH, DEC_SEQ)
    return out


# --------------------------------------------------------------------------- dispatcher

def forward_params(model: torch.nn.Module) -> dict[str, inspect.Parameter]:
    sig = inspect.signature(model.forward)
    return {n: p for n, p in sig.parameters.items() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}


def complete_inputs(model: torch.nn.Module, config: Any, sig: dict[str, inspect.Parameter],
                    kwargs: dict[str, Any]) -> dict[str, Any]:
    """Add what the forward *requires* and we know how to make; drop what it does not take."""
    params = set(sig)
    L = next((int(v.shape[-1]) for k, v in kwargs.items() if k == "input_ids"), SEQ)
    for name, p in sig.items():
        if name in kwargs or p.default is not inspect.Parameter.empty:
            continue
        if name in ("input_ids", "decoder_input_ids", "labels"):
            kwargs[name] = ids(BATCH, SEQ if name == "input_ids" else DEC_SEQ)
        elif name == "pixel_values":
            kwargs.update(image_inputs(config))
        elif name == "attention_mask":
            kwargs[name] = ones_mask(BATCH, L)
        elif name in ("qformer_input_ids", "qformer_attention_mask"):
            kwargs[name] = ids(BATCH, 8) if name == "qformer_input_ids" else ones_mask(BATCH, 8)
        elif name in ("prompt_pixel_values", "prompt_masks") and "pixel_values" in kwargs:
            b, c, h, w = kwargs["pixel_values"].shape  # SegGPT stacks prompt over input: each half the height
            if "prompt_pixel_values" not in kwargs and "prompt_masks" not in kwargs:
                h //= 2
                kwargs["pixel_values"] = meta(b, c, h, w)
            kwargs[name] = meta(b, c, h, w)
        elif name == "input_values":
            kwargs[name] = meta(BATCH, AUDIO_SAMPLES)
        elif name == "input_features":
            kwargs[name] = audio_features(config)
        elif name == "pixel_values_videos":
            kwargs.update(video_inputs(config, name))
        elif name in ("input_features_mask", "audio_mel_mask", "feature_attention_mask"):
            feats = kwargs.get("input_features", kwargs.get("audio_mel"))
            if feats is not None:
                kwargs[name] = torch.ones(tuple(feats.shape[:2]), dtype=torch.bool)
        elif name == "bbox":
            kwargs[name] = _boxes(L)
        elif name == "query_embeds":
            n = int(cfg_get(config, "num_query_tokens", default=32))
            kwargs[name] = meta(BATCH, n, int(cfg_get(config, "hidden_size", prefer="qformer_config", default=768)))
            kwargs.pop("attention_mask", None)  # it would have to cover the queries too
        elif name in ("hidden_states", "inputs_embeds"):
            kwargs[name] = meta(BATCH, L, int(cfg_get(config, "hidden_size", "d_model", default=768)))
        elif name == "bool_masked_pos" and "pixel_values" in kwargs:
            kwargs[name] = _patch_mask(config, kwargs["pixel_values"])
    if "bbox" in params and "bbox" not in kwargs and "input_ids" in kwargs:
        kwargs["bbox"] = _boxes(L)
    kwargs = {k: v for k, v in kwargs.items() if k in params or _var_kw(model)}
    if "use_cache" in params:
        kwargs["use_cache"] = False
    if "return_loss" in params:  # FLAVA's pre-training head defaults to computing its losses (needs labels)
        kwargs["return_loss"] = False
    return kwargs


def _patch_mask(config: Any, pixel_values: torch.Tensor) -> torch.Tensor:
    """A masked-autoencoder mask over the patches of ``pixel_values`` (``[B, C, H, W]`` or a video
    ``[B, T, C, H, W]`` cut in ``tubelet_size`` frames), as real values: the model gathers the visible patches
    with it (VideoMAE: ``x[~bool_masked_pos]``). The first ``mask_ratio`` of the patches are masked."""
    p = cfg_get(config, "patch_size", default=16)
    p = p if isinstance(p, int) else int(p[0])
    h, w = pixel_values.shape[-2:]
    n = (int(h) // p) * (int(w) // p)
    if pixel_values.dim() == 5:
        n *= int(pixel_values.shape[1]) // int(cfg_get(config, "tubelet_size", default=1) or 1)
    mask = torch.zeros(BATCH, n, dtype=torch.bool)
    mask[:, : int(n * float(cfg_get(config, "mask_ratio", default=0.5) or 0.5))] = True
    return mask


def _boxes(length: int) -> torch.Tensor:
    """Valid ``[x0, y0, x1, y1]`` boxes on the 0-1000 grid LayoutLM-style models expect."""
    return torch.tensor([[[10, 20, 110, 220]] * length], dtype=torch.long)


def is_required(sig: dict[str, inspect.Parameter], name: str) -> bool:
    return name in sig and sig[name].default is inspect.Parameter.empty


def _var_kw(model: torch.nn.Module) -> set[str]:
    sig = inspect.signature(model.forward)
    return {n for n, p in sig.parameters.items() if p.kind == p.VAR_KEYWORD}

