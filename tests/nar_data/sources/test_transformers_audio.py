"""audio / speech / sequential-decision model types whose inputs or default configs needed a fix."""

from __future__ import annotations

import pytest

pytest.importorskip("transformers")

from nar_data.sources.transformers import default_config_dict, load_config  # noqa: E402
from nar_data.build.inputs import OVERRIDES, SEQ, audio_features  # noqa: E402


def test_audio_input_shapes_follow_the_modeling_code():
    # w2v-BERT's feature projection is LayerNorm(feature_projection_input_dim): two stacked 80-bin mel frames
    assert audio_features(load_config(default_config_dict("wav2vec2-bert"))).shape[-1] == 160
    # Voxtral Realtime adds audio embeddings to text embeddings position by position (conv stride 2, then
    # downsample_factor frames per token), so the mel frames are tied to the text length
    cfg = load_config(default_config_dict("voxtral_realtime"))
    kw = OVERRIDES["voxtral_realtime"](None, cfg, "")
    frames = kw["input_features"].shape[-1]
    assert frames == kw["input_ids"].shape[-1] * 2 * cfg.downsample_factor == SEQ * 2 * 4


@pytest.mark.parametrize("name, model_type, op", [
    ("MuseSparkAudioModel", "muse_spark_audio", "linear"),  # samples a multiple of samples_per_token
    # inputs_embeds [B, frames, hidden] upsampled by a transposed conv
    ("Nemotron3_5TranscribeWordTimestampModel", "nemotron3_5_transcribe_word_timestamp", "conv_transpose1d"),
    # latents [B, hidden_size, frames] -> waveform
    ("VibeVoiceAcousticTokenizerDecoderModel", "vibevoice_acoustic_tokenizer_decoder", "conv1d"),
])
def test_audio_models_trace(traced, name, model_type, op):
    _, built, graph = traced(name, model_type)
    assert graph.capture == "dispatch"
    assert any(op in o for o in graph.op_name), sorted(set(graph.op_name))


@pytest.mark.slow
@pytest.mark.parametrize("name, model_type", [
    ("Xcodec2Model", "xcodec2"), ("SpeechT5Model", "speecht5"), ("SpeechT5ForTextToSpeech", "speecht5"),
    ("MusicgenModel", "musicgen"), ("KyutaiSpeechToTextModel", "kyutai_speech_to_text"),
    ("Qwen3ASREncoder", "qwen3_asr_encoder"), ("DiaModel", "dia"),
    ("MoonshineStreamingModel", "moonshine_streaming"),
])
def test_speech_models_trace(traced, name, model_type):
    _, built, graph = traced(name, model_type)
    assert graph.capture == "dispatch"
    assert any("scaled_dot_product_attention" in o or "softmax" in o for o in graph.op_name), name
