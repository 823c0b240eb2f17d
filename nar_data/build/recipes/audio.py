"""Input recipes for audio models the generic rules get wrong (see the package docstring)."""

from __future__ import annotations

import math
from typing import Any

import torch

from ..inputs import (AUDIO_FRAMES, AUDIO_SAMPLES, BATCH, DEC_SEQ, SEQ, audio_features, cfg_get,
                      forward_params, ids, meta, ones_mask, override, text_inputs)


# --------------------------------------------------------------------------- shared shapes

def frame_mask(frames: int) -> torch.Tensor:
    """All frames valid: ``[B, frames]`` (a small real tensor; forwards sum it into lengths)."""
    return torch.ones(BATCH, frames, dtype=torch.long)


def mel_first(model: torch.nn.Module, mel: int, frames: int) -> dict[str, Any]:
    """Whisper-style ``[B, mel, frames]`` (``conv1`` runs over mel channels), with a frame mask if taken."""
    out: dict[str, Any] = {"input_features": meta(BATCH, mel, frames)}
    if "input_features_mask" in forward_params(model):
        out["input_features_mask"] = frame_mask(frames)
    return out


def _codec_waveform() -> torch.Tensor:
    """``[B, 1, samples]``: the DAC encoder of Perception Encoder audio convolves a mono channel axis."""
    return meta(BATCH, 1, AUDIO_SAMPLES)


# --------------------------------------------------------------------------- speech encoders

@override("glmasr_encoder")
def glmasr_encoder(model: torch.nn.Module, config: Any, task: str) -> dict[str, Any]:
    # ``self.conv1(input_features)``: mel channels first; rotary positions, so any frame count works
    return mel_first(model, config.num_mel_bins, AUDIO_FRAMES * 4)


@override("audioflamingo3_encoder")
def audioflamingo3_encoder(model: torch.nn.Module, config: Any, task: str) -> dict[str, Any]:
    # ``inputs_embeds + self.embed_positions.weight``: exactly 2 * max_source_positions frames before conv2's
    # stride 2; the "optional" mask is summed unconditionally (``input_features_mask.sum(-1)``)
    return mel_first(model, config.num_mel_bins, 2 * config.max_source_positions)


@override("qwen3_asr_encoder")
def qwen3_asr_encoder(model: torch.nn.Module, config: Any, task: str) -> dict[str, Any]:
    # attention runs over chunks of ``n_window * 2`` frames and the padded length must be a multiple of it
    return mel_first(model, config.num_mel_bins, 2 * config.n_window * 2)


@override("voxtral_realtime_encoder")
def voxtral_realtime_encoder(model: torch.nn.Module, config: Any, task: str) -> dict[str, Any]:
    # a causal Whisper-style conv front-end: ``self.conv1(input_features)`` over mel channels
    return mel_first(model, config.num_mel_bins, AUDIO_FRAMES * 4) | {"use_cache": False}


@override("fun_asr_nano_encoder")
def fun_asr_nano_encoder(model: torch.nn.Module, config: Any, task: str) -> dict[str, Any]:
    # the processor stacks ``num_stacked_frames`` mel frames (low frame rate): ``[B, T, mel * stacked]``
    frames = AUDIO_FRAMES
    return {"input_features": meta(BATCH, frames, config.num_mel_bins * config.num_stacked_frames),
            "input_features_mask": frame_mask(frames)}


@override("granite_speech5_encoder", "granite_speech5_ctc")
def granite_speech5(model: torch.nn.Module, config: Any, task: str) -> dict[str, Any]:
    # ``nn.Linear(num_mel_bins * 4, ...)``: "mel frames are delta-expanded (x2), then stacked in pairs (x2)"
    mel = cfg_get(config, "num_mel_bins", prefer="encoder_config")
    return {"input_features": meta(BATCH, AUDIO_FRAMES * 2, int(mel) * 4)}


@override("gemma4_audio")
def gemma4_audio(model: torch.nn.Module, config: Any, task: str) -> dict[str, Any]:
    # two stride-2 convs then ``nn.Linear((channels[0] // 4) * channels[1], ...)``: the mel axis must be
    # ``subsampling_conv_channels[0]`` wide (128 bins, as Gemma 4's feature extractor makes)
    return {"input_features": meta(BATCH, AUDIO_FRAMES * 4, config.subsampling_conv_channels[0])}


@override("nemotron3_5_transcribe_word_timestamp")
def nemotron_word_timestamp(model: torch.nn.Module, config: Any, task: str) -> dict[str, Any]:
    # a head over the ASR encoder's frames: ``inputs_embeds`` ``(batch_size, num_frames, hidden_size)``
    return {"inputs_embeds": meta(BATCH, AUDIO_FRAMES, config.hidden_size),
            "attention_mask": frame_mask(AUDIO_FRAMES)}


# --------------------------------------------------------------------------- speech-text models

@override("speecht5")
def speecht5(model: torch.nn.Module, config: Any, task: str) -> dict[str, Any]:
    """SpeechT5's inputs depend on which pre-nets the class wraps around the shared encoder-decoder.

    The bare ``SpeechT5Model`` has none (``SpeechT5EncoderWithoutPrenet``): both sides take hidden states
    ``[B, T, hidden_size]``. Heads put a speech (waveform) or text (ids) pre-net on the encoder and a text
    (ids) or speech (mel frames ``[B, T, num_mel_bins]``) pre-net on the decoder.
    """
    params = set(forward_params(model))
    if not hasattr(model, "speecht5"):  # the bare model
        return {"input_values": meta(BATCH, SEQ, config.hidden_size),
                "decoder_input_values": meta(BATCH, DEC_SEQ, config.hidden_size), "use_cache": False}
    out: dict[str, Any] = {"input_ids": ids(BATCH, SEQ)} if "input_ids" in params else \
        {"input_values": meta(BATCH, AUDIO_SAMPLES)}
    if "decoder_input_ids" in params:
        out["decoder_input_ids"] = ids(BATCH, DEC_SEQ)
    else:
        out["decoder_input_values"] = meta(BATCH, DEC_SEQ, config.num_mel_bins)
    return out | {"use_cache": False}


@override("voxtral_realtime")
def voxtral_realtime(model: torch.nn.Module, config: Any, task: str) -> dict[str, Any]:
    """Text and audio streams run in lockstep: ``inputs_embeds += audio_embeds``, where the audio tower's
    frames (halved by ``conv2``'s stride 2) are regrouped by ``downsample_factor``: ``SEQ * 2 * factor``."""
    frames = SEQ * 2 * config.downsample_factor
    return {"input_ids": ids(BATCH, SEQ),
            "input_features": meta(BATCH, config.audio_config.num_mel_bins, frames),
            "num_delay_tokens": config.default_num_delay_tokens, "use_cache": False}


@override("kyutai_speech_to_text")
def kyutai_speech_to_text(model: torch.nn.Module, config: Any, task: str) -> dict[str, Any]:
    # each step holds one text token and one token per audio codebook: ``input_ids +
    # self.audio_tokens_offsets`` with ``num_codebooks + 1`` offsets, then ``inputs_embeds.sum(dim=2)``
    return {"input_ids": ids(BATCH, SEQ, config.num_codebooks + 1), "use_cache": False}


@override("clap")
def clap(model: torch.nn.Module, config: Any, task: str) -> dict[str, Any]:
    """Text and/or a log-mel image ``[B, 1, frames, mel]`` (``input_features.transpose(1, 3)`` batch-norms
    the mel axis); 1001 frames is the feature extractor's ``nb_max_frames`` (10 s), resized inside."""
    params = forward_params(model)
    out: dict[str, Any] = {}
    if "input_ids" in params:
        out.update(input_ids=ids(BATCH, SEQ), attention_mask=ones_mask(BATCH, SEQ))
    if "input_features" in params:
        out["input_features"] = meta(BATCH, 1, 1001, cfg_get(config, "num_mel_bins", prefer="audio_config"))
    return out


@override("clvp")
def clvp(model: torch.nn.Module, config: Any, task: str) -> dict[str, Any]:
    # the conditioning encoder runs ``self.mel_conv(input_features)`` over ``feature_size`` mel channels
    mel = cfg_get(config, "feature_size", prefer="decoder_config")
    return {"input_ids": ids(BATCH, SEQ), "attention_mask": ones_mask(BATCH, SEQ),
            "input_features": meta(BATCH, int(mel), AUDIO_FRAMES * 4)}


# --------------------------------------------------------------------------- codecs and audio generation

@override("xcodec2", "neucodec")
def semantic_acoustic_codec(model: torch.nn.Module, config: Any, task: str) -> dict[str, Any]:
    """Waveform ``[B, 1, samples]`` + stacked w2v-BERT features, one frame per codec hop.

    ``encode`` concatenates the semantic and acoustic encoders' outputs on channels
    (``torch.cat([semantic, acoustic], dim=1)``), so both must have ``samples / hop`` frames.
    """
    hop = math.prod(int(r) for r in config.downsampling_ratios)
    feats = audio_features(config)
    return {"input_values": meta(BATCH, 1, AUDIO_SAMPLES),
            "input_features": meta(BATCH, AUDIO_SAMPLES // hop, int(feats.shape[-1]))}


@override("mimi_decoder", "pocket_tts_audio_tokenizer_decoder")
def codec_decoder(model: torch.nn.Module, config: Any, task: str) -> dict[str, Any]:
    # ``latents`` of shape ``(batch_size, hidden_size, frames)``, "as computed by MimiModel.decode"
    return {"latents": meta(BATCH, config.hidden_size, SEQ)}


@override("vibevoice_acoustic_tokenizer", "vibevoice_acoustic_tokenizer_encoder",
          "vibevoice_acoustic_tokenizer_decoder")
def vibevoice_acoustic_tokenizer(model: torch.nn.Module, config: Any, task: str) -> dict[str, Any]:
    """The codec takes ``[B, channels, samples]``; its encoder half the same waveform as ``hidden_states``,
    its decoder half latents ``[B, hidden_size, frames]`` (its stem convolves ``hidden_size`` channels)."""
    params = forward_params(model)
    if "input_values" in params:
        return {"input_values": meta(BATCH, config.channels, AUDIO_SAMPLES)}
    if "Decoder" in type(model).__name__:
        return {"hidden_states": meta(BATCH, config.hidden_size, SEQ)}
    return {"hidden_states": meta(BATCH, config.channels, AUDIO_SAMPLES)}


@override("muse_spark_audio")
def muse_spark_audio(model: torch.nn.Module, config: Any, task: str) -> dict[str, Any]:
    # the forward checks ``input_values.shape[1] % samples_per_token == 0`` (the patch sizes' product)
    return {"input_values": meta(BATCH, 8 * config.samples_per_token)}


@override("pe_audio")
def pe_audio(model: torch.nn.Module, config: Any, task: str) -> dict[str, Any]:
    return {"input_ids": ids(BATCH, SEQ), "attention_mask": ones_mask(BATCH, SEQ),
            "input_values": _codec_waveform()}


@override("pe_audio_video", "pe_audio_video_encoder")
def pe_audio_video(model: torch.nn.Module, config: Any, task: str) -> dict[str, Any]:
    """Audio + video (+ text): the model needs at least two modalities, the encoder both media."""
    # frames go through a timm ViT (``vit_pe_core_large_patch14_336``): only its timm config knows the size
    timm_sizes = (m.pretrained_cfg["input_size"][1:] for m in model.modules()
                  if "input_size" in (getattr(m, "pretrained_cfg", None) or {}))
    h, w = next(timm_sizes, (336, 336))
    frames = 8
    out: dict[str, Any] = {"input_values": _codec_waveform(),
                           "pixel_values_videos": meta(BATCH, frames, 3, h, w)}
    if "input_ids" in forward_params(model):
        out.update(input_ids=ids(BATCH, SEQ), attention_mask=ones_mask(BATCH, SEQ))
    return out


@override("musicgen", "musicgen_melody", "musicgen_decoder", "musicgen_melody_decoder")
def musicgen(model: torch.nn.Module, config: Any, task: str) -> dict[str, Any]:
    """The audio decoder reads one token stream per EnCodec codebook, flattened into the batch
    (``input_ids.reshape(-1, self.num_codebooks, seq_len)``); the full model adds a T5 text prompt."""
    codebooks = int(cfg_get(config, "num_codebooks", prefer="decoder"))
    if "decoder_input_ids" not in forward_params(model):  # the decoder alone (MusicgenModel, ...ForCausalLM)
        return {"input_ids": ids(BATCH * codebooks, SEQ), "use_cache": False}
    return {"input_ids": ids(BATCH, SEQ), "attention_mask": ones_mask(BATCH, SEQ),
            "decoder_input_ids": ids(BATCH * codebooks, DEC_SEQ), "use_cache": False}


@override("dia")
def dia(model: torch.nn.Module, config: Any, task: str) -> dict[str, Any]:
    # the decoder reads one audio token per codebook channel and step: ``(bsz, seq_len, num_channels)``
    channels = config.decoder_config.num_channels
    return {"input_ids": ids(BATCH, SEQ), "attention_mask": ones_mask(BATCH, SEQ),
            "decoder_input_ids": ids(BATCH, DEC_SEQ, channels), "use_cache": False}


# --------------------------------------------------------------------------- offline RL (sequences of steps)


# --------------------------------------------------------------------------- offline RL (trajectories)

@override("decision_transformer")
def decision_transformer(model: torch.nn.Module, config: Any, task: str) -> dict[str, Any]:
    """One trajectory: ``(return-to-go, state, action)`` per step, interleaved into 3 * T GPT-2 tokens."""
    steps = SEQ
    return {"states": meta(BATCH, steps, config.state_dim), "actions": meta(BATCH, steps, config.act_dim),
            "rewards": meta(BATCH, steps, 1), "returns_to_go": meta(BATCH, steps, 1),
            "timesteps": torch.arange(steps, dtype=torch.long).unsqueeze(0),  # rows of embed_timestep
            "attention_mask": ones_mask(BATCH, steps)}


# --------------------------------------------------------------------------- text to speech


def _one_frame_per_token(module: torch.nn.Module, args: Any, log_duration: torch.Tensor) -> None:
    """Give the predicted log-durations a shadow of 0: every token lasts ``ceil(exp(0)) = 1`` frame.

    VitsModel.forward sizes its output from them (``torch.arange(predicted_lengths.max())``), values a meta
    tensor computed from weights does not have. How long each token is spoken is data; the ops that expand
    the prior, run the flow and the HiFi-GAN decoder are the same for any length. The output is unchanged.
    """
    from ..shadow import ShadowValues

    if ShadowValues._active and log_duration.is_meta:
        ShadowValues._active[-1].set(log_duration, torch.zeros(log_duration.shape, dtype=log_duration.dtype))


@override("vits")
def vits(model: torch.nn.Module, config: Any, task: str) -> dict[str, Any]:
    """Token ids (the generic text recipe), with the duration predictor's output shadowed (see above)."""
    model.duration_predictor.register_forward_hook(_one_frame_per_token)
    return text_inputs(model, config, set(forward_params(model)), task)
