"""The transformers source: listing is complete and cheap, real entries build and trace on meta."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("transformers")

import torch  # noqa: E402

from nar_data.errors import RemoteCodeError, UnsupportedLibraryError  # noqa: E402
from nar_data.sources.transformers import (  # noqa: E402
    TASKS, build_from_config, iter_classes, load_config, transformers_config_hash)
from nar_data.tracing import trace_module  # noqa: E402


def _ref(source, name: str, model_type: str):
    refs = list(source.iter_refs(model_types=[model_type], names=[name]))
    assert len(refs) == 1, refs
    return refs[0]


def _no_real_storage(module: torch.nn.Module) -> bool:
    return all(t.device.type == "meta" for t in [*module.parameters(), *module.buffers()])


# --------------------------------------------------------------------------- listing

def test_iter_classes_covers_every_automodel_type_and_head() -> None:
    from transformers.models.auto import modeling_auto

    rows = list(iter_classes())
    pairs = [(mt, cls) for mt, cls, _, _ in rows]
    assert len(pairs) == len(set(pairs)), "a (model_type, class) pair is listed twice"
    base_types = {mt for mt, _, _, is_base in rows if is_base}
    assert base_types == set(modeling_auto.MODEL_MAPPING_NAMES)
    heads = {(mt, cls) for mt, cls, _, is_base in rows if not is_base}
    base_pairs = set(pairs) - heads
    # every head comes from some AutoModelFor table of a type with an AutoModel mapping, and vice versa
    expected = set()
    for table in dir(modeling_auto):
        if table.startswith("MODEL_FOR_") and table.endswith("_MAPPING_NAMES"):
            for mt, value in getattr(modeling_auto, table).items():
                for cls in (value if isinstance(value, (list, tuple)) else [value]):
                    if mt in modeling_auto.MODEL_MAPPING_NAMES and (mt, cls) not in base_pairs:
                        expected.add((mt, cls))
    assert heads == expected
    assert {task for _, _, task, _ in rows} <= set(TASKS.values())


def test_iter_refs_fields_and_filters(source) -> None:
    refs = list(source.iter_refs(model_types=["bert"]))
    names = {r.name for r in refs}
    assert {"BertModel", "BertForMaskedLM", "BertForSequenceClassification"} <= names
    base = [r for r in refs if r.meta["base"]]
    assert [r.name for r in base] == ["BertModel"] and base[0].task == "feature-extraction"
    mlm = next(r for r in refs if r.name == "BertForMaskedLM")
    assert mlm.task == "fill-mask" and mlm.meta["auto_class"] == "AutoModelForMaskedLM"
    assert all(r.library == "transformers" and r.source == "transformers" for r in refs)
    assert len({r.config_hash for r in refs}) == len(refs), "each class of one config must hash apart"
    json.dumps(refs[0].config)  # JSON-able
    # the hash depends on the architecture, not on labels or token ids
    cfg = dict(mlm.config, id2label={"0": "x"}, pad_token_id=7)
    assert transformers_config_hash("BertForMaskedLM", cfg) == mlm.config_hash
    cfg = dict(mlm.config, num_hidden_layers=3)
    assert transformers_config_hash("BertForMaskedLM", cfg) != mlm.config_hash
    assert len(list(source.iter_refs(limit=3))) == 3
    assert all(r.meta["base"] for r in source.iter_refs(limit=5, base_only=True))


# --------------------------------------------------------------------------- build + trace on meta

def test_bert_traces_with_sdpa_and_expected_params(traced) -> None:
    ref, built, graph = traced("BertModel", "bert")
    c = ref.config
    H, I, L, V, P, T = (c["hidden_size"], c["intermediate_size"], c["num_hidden_layers"], c["vocab_size"],
                        c["max_position_embeddings"], c["type_vocab_size"])
    per_layer = 4 * (H * H + H) + (H * I + I) + (I * H + H) + 2 * 2 * H
    expected = (V + P + T) * H + 2 * H + L * per_layer + H * H + H
    assert graph.num_params == expected
    assert _no_real_storage(built.module)
    assert graph.op_name.count("scaled_dot_product_attention") == L
    assert graph.op_name.count("layer_norm") == 2 * L + 1
    assert graph.capture == "dispatch"
    assert graph.builder == "transformers.BertModel._from_config"


def test_gpt2_lm_head_traces_causal_attention(traced) -> None:
    ref, built, graph = traced("GPT2LMHeadModel", "gpt2")
    c = ref.config
    H, L, V, P = c["n_embd"], c["n_layer"], c["vocab_size"], c["n_positions"]
    per_layer = 2 * 2 * H + (H * 3 * H + 3 * H) + (H * H + H) + (H * 4 * H + 4 * H) + (4 * H * H + H)
    assert graph.num_params == V * H + P * H + L * per_layer + 2 * H  # lm_head is tied to wte
    assert graph.op_name.count("scaled_dot_product_attention") == L
    assert built.kwargs["input_ids"].device.type == "meta" and built.kwargs.get("use_cache") is False
    # logits are the last op before the output: [batch, seq, vocab]
    assert [1, built.kwargs["input_ids"].shape[1], V] in graph.shape


def test_t5_seq2seq_gets_decoder_inputs(traced) -> None:
    ref, built, graph = traced("T5ForConditionalGeneration", "t5")
    assert "decoder_input_ids" in built.kwargs
    n_layers = ref.config["num_layers"] + ref.config["num_decoder_layers"]
    attn = graph.op_name.count("scaled_dot_product_attention") + graph.op_name.count("softmax")
    assert attn >= n_layers + ref.config["num_decoder_layers"]  # self-attn per layer + cross-attn per decoder layer
    assert _no_real_storage(built.module)


def test_vit_image_input_from_config(traced) -> None:
    ref, built, graph = traced("ViTForImageClassification", "vit")
    size, ch, patch = ref.config["image_size"], ref.config["num_channels"], ref.config["patch_size"]
    assert tuple(built.kwargs["pixel_values"].shape) == (1, ch, size, size)
    assert "conv2d" in graph.op_name  # the patch embedding
    n_tokens = (size // patch) ** 2 + 1
    assert [1, n_tokens, ref.config["hidden_size"]] in graph.shape


def test_whisper_audio_features_match_encoder(traced) -> None:
    ref, built, graph = traced("WhisperForConditionalGeneration", "whisper")
    mel, src_pos = ref.config["num_mel_bins"], ref.config["max_source_positions"]
    assert tuple(built.kwargs["input_features"].shape) == (1, mel, 2 * src_pos)
    assert "decoder_input_ids" in built.kwargs
    assert graph.op_name.count("conv1d") == 2


def test_time_series_inputs(traced) -> None:
    ref, built, graph = traced("TimeSeriesTransformerModel", "time_series_transformer")
    c = ref.config
    assert c["prediction_length"]  # None in the shipped default; filled so the model builds
    assert tuple(built.kwargs["past_values"].shape) == (1, c["context_length"] + max(c["lags_sequence"]))
    assert tuple(built.kwargs["future_values"].shape) == (1, c["prediction_length"])
    assert graph.num_params > 0 and "linear" in graph.op_name

    ref, built, graph = traced("PatchTSTForClassification", "patchtst")
    assert tuple(built.kwargs["past_values"].shape) == (1, ref.config["context_length"],
                                                       ref.config["num_input_channels"])
    assert [1, ref.config["num_targets"]] in graph.shape


def test_mixtral_moe_builds_without_weights(source) -> None:
    """A 46 B-parameter default config: nothing may be materialised."""
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    ref = _ref(source, "MixtralModel", "mixtral")
    built = source.build(ref)
    assert sum(p.numel() for p in built.module.parameters()) > 40e9
    assert _no_real_storage(built.module)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 500_000  # KiB


# --------------------------------------------------------------------------- build_from_config (Hub configs)

def test_build_from_config_uses_architectures() -> None:
    config = {"model_type": "bert", "architectures": ["BertForSequenceClassification"], "hidden_size": 64,
              "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 128, "num_labels": 3,
              "transformers_version": "4.40.0"}
    built = build_from_config(config)
    assert type(built.module).__name__ == "BertForSequenceClassification"
    assert built.module.config.num_hidden_layers == 2 and built.module.config.use_cache is False
    graph = trace_module(built.module, built.args, built.kwargs)
    assert graph.op_name.count("scaled_dot_product_attention") == 2
    assert [1, 3] in graph.shape  # the classifier's logits
    # no architectures: the task's Auto class, else AutoModel
    del config["architectures"]
    assert type(build_from_config(config, task="fill-mask").module).__name__ == "BertForMaskedLM"
    assert type(build_from_config(config).module).__name__ == "BertModel"


def test_build_from_config_refuses_remote_code() -> None:
    with pytest.raises(RemoteCodeError):
        build_from_config({"model_type": "my_custom_llm", "auto_map": {"AutoModel": "modeling.MyModel"}})
    with pytest.raises(UnsupportedLibraryError):
        build_from_config({"model_type": "not_a_real_type"})
    with pytest.raises(RemoteCodeError):
        build_from_config({"model_type": "bert", "architectures": ["MyBertFromRepoCode"]})


def test_load_config_round_trip_hash_equals_registry(source) -> None:
    ref = _ref(source, "GPT2Model", "gpt2")
    cfg = load_config(ref.config)
    assert transformers_config_hash("GPT2Model", cfg.to_dict()) == ref.config_hash
