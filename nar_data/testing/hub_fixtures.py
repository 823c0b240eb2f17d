"""Fixture repos for the local Hub server, generated from real config formats.

``generate_repos(n)`` returns ``n`` `HubRepo`s that look like the Hub's model repos:

* **transformers bases** whose ``config.json`` is the real ``XConfig(**kwargs).to_dict()`` output
  (recorded once in ``nar_data/testing/data/base_configs.json`` by `regenerate_base_configs`, so that tests
  do not pay for importing transformers), under their real Hub ids;
* **timm repos** with timm's own ``config.json`` shape (``architecture``, ``num_classes``,
  ``num_features``, ``global_pool``, ``pretrained_cfg``, optional ``model_args``);
* **sentence-transformers repos** (``modules.json`` + the underlying transformer's ``config.json``);
* **fine-tune families**: many repos sharing one base config (plus label maps, names, dtypes), a card
  with ``base_model``, the ``base_model:finetune:...`` tags, and some resized or re-headed variants;
* **bad repos**: malformed JSON, no config, gated, remote code (``auto_map``), a huge config, a card
  with malformed YAML, a listed config that is missing, unsupported libraries, no top-level fields.

Everything is deterministic in ``(n, seed)``. Each repo's card is a README with YAML front matter,
from which the server derives ``cardData`` exactly as the Hub does.
"""

from __future__ import annotations

import copy
import importlib.resources
import json
import random
from pathlib import Path
from typing import Any

from .hub_repo import HubRepo

__all__ = ["BASE_SPECS", "TIMM_SPECS", "generate_repos", "load_base_configs", "regenerate_base_configs",
           "mutate_repo", "BAD_REPOS"]

#: Package data, so an installed wheel has them too (the configs need no transformers to be read back).
BASE_CONFIGS_PATH = Path(str(importlib.resources.files(__package__))) / "data" / "base_configs.json"

# (repo id, transformers config class, kwargs, architecture, pipeline tag, gated)
BASE_SPECS: list[tuple[str, str, dict[str, Any], str, str, Any]] = [
    ("google-bert/bert-base-uncased", "BertConfig", {}, "BertForMaskedLM", "fill-mask", False),
    ("google-bert/bert-large-uncased", "BertConfig", {"hidden_size": 1024, "num_hidden_layers": 24,
     "num_attention_heads": 16, "intermediate_size": 4096}, "BertForMaskedLM", "fill-mask", False),
    ("FacebookAI/roberta-base", "RobertaConfig", {"vocab_size": 50265, "max_position_embeddings": 514,
     "type_vocab_size": 1}, "RobertaForMaskedLM", "fill-mask", False),
    ("distilbert/distilbert-base-uncased", "DistilBertConfig", {}, "DistilBertForMaskedLM", "fill-mask", False),
    ("albert/albert-base-v2", "AlbertConfig", {"hidden_size": 768, "num_attention_heads": 12,
     "intermediate_size": 3072}, "AlbertForMaskedLM", "fill-mask", False),
    ("google/electra-small-discriminator", "ElectraConfig", {"embedding_size": 128, "hidden_size": 256,
     "num_attention_heads": 4, "intermediate_size": 1024}, "ElectraForPreTraining", "fill-mask", False),
    ("microsoft/deberta-v3-base", "DebertaV2Config", {"vocab_size": 128100, "relative_attention": True,
     "position_buckets": 256, "norm_rel_ebd": "layer_norm", "pos_att_type": ["p2c", "c2p"],
     "max_relative_positions": -1, "position_biased_input": False}, "DebertaV2ForMaskedLM", "fill-mask", False),
    ("FacebookAI/xlm-roberta-base", "XLMRobertaConfig", {"vocab_size": 250002, "max_position_embeddings": 514,
     "type_vocab_size": 1}, "XLMRobertaForMaskedLM", "fill-mask", False),
    ("microsoft/mpnet-base", "MPNetConfig", {}, "MPNetForMaskedLM", "fill-mask", False),
    ("google/mobilebert-uncased", "MobileBertConfig", {}, "MobileBertForMaskedLM", "fill-mask", False),
    ("answerdotai/ModernBERT-base", "ModernBertConfig", {}, "ModernBertForMaskedLM", "fill-mask", False),
    ("openai-community/gpt2", "GPT2Config", {}, "GPT2LMHeadModel", "text-generation", False),
    ("meta-llama/Llama-3.2-1B", "LlamaConfig", {"hidden_size": 2048, "intermediate_size": 8192,
     "num_hidden_layers": 16, "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 128256},
     "LlamaForCausalLM", "text-generation", "manual"),
    ("mistralai/Mistral-7B-v0.1", "MistralConfig", {}, "MistralForCausalLM", "text-generation", False),
    ("mistralai/Mixtral-8x7B-v0.1", "MixtralConfig", {}, "MixtralForCausalLM", "text-generation", False),
    ("Qwen/Qwen2.5-0.5B", "Qwen2Config", {"hidden_size": 896, "intermediate_size": 4864, "num_hidden_layers": 24,
     "num_attention_heads": 14, "num_key_value_heads": 2, "vocab_size": 151936}, "Qwen2ForCausalLM",
     "text-generation", False),
    ("Qwen/Qwen3-0.6B", "Qwen3Config", {"hidden_size": 1024, "intermediate_size": 3072, "num_hidden_layers": 28,
     "num_attention_heads": 16, "num_key_value_heads": 8, "vocab_size": 151936}, "Qwen3ForCausalLM",
     "text-generation", False),
    ("google/gemma-2b", "GemmaConfig", {"hidden_size": 2048, "intermediate_size": 16384, "num_hidden_layers": 18,
     "num_attention_heads": 8, "num_key_value_heads": 1}, "GemmaForCausalLM", "text-generation", "manual"),
    ("microsoft/phi-2", "PhiConfig", {"hidden_size": 2560, "intermediate_size": 10240, "num_hidden_layers": 32,
     "num_attention_heads": 32}, "PhiForCausalLM", "text-generation", False),
    ("facebook/opt-125m", "OPTConfig", {}, "OPTForCausalLM", "text-generation", False),
    ("EleutherAI/pythia-160m", "GPTNeoXConfig", {"hidden_size": 768, "num_hidden_layers": 12,
     "num_attention_heads": 12, "intermediate_size": 3072}, "GPTNeoXForCausalLM", "text-generation", False),
    ("bigscience/bloom-560m", "BloomConfig", {"hidden_size": 1024, "n_layer": 24, "n_head": 16},
     "BloomForCausalLM", "text-generation", False),
    ("tiiuae/falcon-7b", "FalconConfig", {}, "FalconForCausalLM", "text-generation", False),
    ("state-spaces/mamba-130m-hf", "MambaConfig", {}, "MambaForCausalLM", "text-generation", False),
    ("google-t5/t5-small", "T5Config", {"d_model": 512, "num_layers": 6, "num_heads": 8, "d_ff": 2048},
     "T5ForConditionalGeneration", "translation", False),
    ("facebook/bart-base", "BartConfig", {"d_model": 768, "encoder_layers": 6, "decoder_layers": 6,
     "encoder_attention_heads": 12, "decoder_attention_heads": 12, "encoder_ffn_dim": 3072,
     "decoder_ffn_dim": 3072}, "BartForConditionalGeneration", "summarization", False),
    ("Helsinki-NLP/opus-mt-en-de", "MarianConfig", {"vocab_size": 58101, "decoder_start_token_id": 58100},
     "MarianMTModel", "translation", False),
    ("openai/whisper-tiny", "WhisperConfig", {"d_model": 384, "encoder_layers": 4, "decoder_layers": 4,
     "encoder_attention_heads": 6, "decoder_attention_heads": 6, "encoder_ffn_dim": 1536,
     "decoder_ffn_dim": 1536}, "WhisperForConditionalGeneration", "automatic-speech-recognition", False),
    ("facebook/wav2vec2-base-960h", "Wav2Vec2Config", {}, "Wav2Vec2ForCTC", "automatic-speech-recognition", False),
    ("google/vit-base-patch16-224", "ViTConfig", {}, "ViTForImageClassification", "image-classification", False),
    ("microsoft/swin-tiny-patch4-window7-224", "SwinConfig", {}, "SwinForImageClassification",
     "image-classification", False),
    ("facebook/convnext-tiny-224", "ConvNextConfig", {}, "ConvNextForImageClassification",
     "image-classification", False),
    ("microsoft/resnet-50", "ResNetConfig", {"layer_type": "bottleneck", "depths": [3, 4, 6, 3],
     "hidden_sizes": [256, 512, 1024, 2048]}, "ResNetForImageClassification", "image-classification", False),
    ("microsoft/beit-base-patch16-224", "BeitConfig", {"use_relative_position_bias": True},
     "BeitForImageClassification", "image-classification", False),
    ("facebook/deit-small-patch16-224", "DeiTConfig", {"hidden_size": 384, "num_attention_heads": 6,
     "intermediate_size": 1536}, "DeiTForImageClassification", "image-classification", False),
    ("apple/mobilevit-small", "MobileViTConfig", {}, "MobileViTForImageClassification", "image-classification", False),
    ("google/efficientnet-b0", "EfficientNetConfig", {}, "EfficientNetForImageClassification",
     "image-classification", False),
    ("facebook/dinov2-small", "Dinov2Config", {"hidden_size": 384, "num_attention_heads": 6},
     "Dinov2Model", "image-feature-extraction", False),
    ("nvidia/segformer-b0-finetuned-ade-512-512", "SegformerConfig", {"num_labels": 150},
     "SegformerForSemanticSegmentation", "image-segmentation", False),
    ("openai/clip-vit-base-patch32", "CLIPConfig", {}, "CLIPModel", "zero-shot-image-classification", False),
]

# sentence-transformers repos: (repo id, config class, kwargs, architecture)
ST_SPECS: list[tuple[str, str, dict[str, Any], str]] = [
    ("sentence-transformers/all-MiniLM-L6-v2", "BertConfig", {"hidden_size": 384, "num_hidden_layers": 6,
     "num_attention_heads": 12, "intermediate_size": 1536}, "BertModel"),
    ("sentence-transformers/all-mpnet-base-v2", "MPNetConfig", {}, "MPNetModel"),
    ("BAAI/bge-small-en-v1.5", "BertConfig", {"hidden_size": 384, "num_hidden_layers": 12,
     "num_attention_heads": 12, "intermediate_size": 1536}, "BertModel"),
]

# timm repos: (repo id, architecture, num_classes, num_features, input size, model_args)
TIMM_SPECS: list[tuple[str, str, int, int, list[int], dict[str, Any]]] = [
    ("timm/resnet50.a1_in1k", "resnet50", 1000, 2048, [3, 224, 224], {}),
    ("timm/resnet18.a1_in1k", "resnet18", 1000, 512, [3, 224, 224], {}),
    ("timm/vit_base_patch16_224.augreg2_in21k_ft_in1k", "vit_base_patch16_224", 1000, 768, [3, 224, 224], {}),
    ("timm/convnext_tiny.in12k_ft_in1k", "convnext_tiny", 1000, 768, [3, 224, 224], {}),
    ("timm/efficientnet_b0.ra_in1k", "efficientnet_b0", 1000, 1280, [3, 224, 224], {}),
    ("timm/mobilenetv3_large_100.ra_in1k", "mobilenetv3_large_100", 1000, 1280, [3, 224, 224], {}),
    ("timm/deit_small_patch16_224.fb_in1k", "deit_small_patch16_224", 1000, 384, [3, 224, 224], {}),
    ("timm/swin_tiny_patch4_window7_224.ms_in1k", "swin_tiny_patch4_window7_224", 1000, 768, [3, 224, 224], {}),
    ("timm/regnety_040.ra3_in1k", "regnety_040", 1000, 1088, [3, 224, 224], {}),
    ("timm/densenet121.tv_in1k", "densenet121", 1000, 1024, [3, 224, 224], {}),
    ("timm/vgg16.tv_in1k", "vgg16", 1000, 4096, [3, 224, 224], {}),
    ("timm/mixer_b16_224.goog_in21k_ft_in1k", "mixer_b16_224", 1000, 768, [3, 224, 224], {}),
    ("timm/levit_128.fb_dist_in1k", "levit_128", 1000, 384, [3, 224, 224], {}),
    ("timm/inception_v3.tv_in1k", "inception_v3", 1000, 2048, [3, 299, 299], {}),
    ("timm/mobilevit_s.cvnets_in1k", "mobilevit_s", 1000, 640, [3, 256, 256], {}),
    ("timm/coatnet_0_rw_224.sw_in1k", "coatnet_0_rw_224", 1000, 768, [3, 224, 224], {}),
    ("timm/ghostnet_100.in1k", "ghostnet_100", 1000, 1280, [3, 224, 224], {}),
    ("timm/xception65.ra3_in1k", "xception65", 1000, 2048, [3, 299, 299], {}),
    ("timm/test_vit.r160_in1k", "test_vit", 1000, 64, [3, 160, 160], {}),
    ("timm/resnet50d.ra2_in1k", "resnet50d", 1000, 2048, [3, 224, 224], {"drop_rate": 0.0}),
]

#: Bad repos, by what is wrong with them (``id -> kind``); the kinds the crawler must turn into failures.
BAD_REPOS: dict[str, str] = {
    "nar-fixtures/malformed-config": "malformed_json",
    "nar-fixtures/no-config": "no_config",
    "nar-fixtures/gated-model": "gated",
    "nar-fixtures/remote-code-llm": "remote_code",
    "nar-fixtures/huge-config": "huge_config",
    "nar-fixtures/malformed-card": "malformed_yaml",
    "nar-fixtures/missing-config": "missing_file",
    "nar-fixtures/diffusion-pipeline": "diffusers",
    "nar-fixtures/llama-gguf": "gguf",
    "nar-fixtures/no-top-level-fields": "no_top_level",
    "nar-fixtures/config-not-a-dict": "config_not_dict",
    "nar-fixtures/timm-no-architecture": "timm_bad",
}

_DATASETS = ["imdb", "sst2", "glue", "squad", "conll2003", "ag_news", "cifar10", "food101", "beans",
             "common_voice", "librispeech_asr", "xsum", "cnn_dailymail", "wmt16", "alpaca", "oasst1"]


def regenerate_base_configs(path: Path = BASE_CONFIGS_PATH) -> dict[str, dict[str, Any]]:
    """Write the real ``XConfig(**kwargs).to_dict()`` of every base spec to ``path`` (imports transformers)."""
    import transformers

    out: dict[str, dict[str, Any]] = {}
    for repo_id, cls, kwargs, arch, *_ in [*BASE_SPECS, *ST_SPECS]:
        config = getattr(transformers, cls)(**kwargs)
        config.architectures = [arch]
        config._name_or_path = repo_id
        out[repo_id] = json.loads(config.to_json_string(use_diff=False))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1, sort_keys=True))
    return out


def load_base_configs(path: Path = BASE_CONFIGS_PATH) -> dict[str, dict[str, Any]]:
    """The recorded base configs; regenerated with transformers if the file is absent."""
    if path.is_file():
        return json.loads(path.read_text())
    return regenerate_base_configs(path)


def _card(meta: dict[str, Any], body: str = "", raw_yaml: str | None = None) -> bytes:
    import yaml

    header = raw_yaml if raw_yaml is not None else yaml.safe_dump({k: v for k, v in meta.items() if v not in (None, [])},
                                                                   sort_keys=False)
    return f"---\n{header}---\n\n# Model card\n\n{body}\n".encode()


def approx_params(config: dict[str, Any], num_labels: int = 0) -> int:
    """A rough parameter count from a config (what the Hub's ``safetensors.total`` reports).

    Decoder/encoder stacks use ``layers * (4 h^2 + 2 h * inner * experts) + vocab * h``; configs without
    those keys (conv nets, timm) get a stable pseudo count of their *normalised* config, so fine-tunes
    that only change names, dtypes or label maps keep their base's count, as real checkpoints do.
    """
    from ..fingerprint import normalize_config, stable_hash
    from ..hub.listing import head_width

    h = config.get("hidden_size") or config.get("d_model") or config.get("n_embd") or config.get("dim") or 0
    layers = (config.get("num_hidden_layers") or config.get("num_layers") or config.get("n_layer")
              or config.get("n_layers") or config.get("encoder_layers", 0) + config.get("decoder_layers", 0))
    if not isinstance(h, int) or not isinstance(layers, int) or not h or not layers:
        base = 1_000_000 + int(stable_hash(normalize_config(config), 4), 16) % 90_000_000
        h = h if isinstance(h, int) and h else 512
    else:
        inner = config.get("intermediate_size") or config.get("d_ff") or config.get("n_inner") \
            or config.get("hidden_dim") or 4 * h
        experts = config.get("num_local_experts") or 1
        base = layers * (4 * h * h + 2 * h * inner * experts) + (config.get("vocab_size") or 0) * h
    width = head_width(config) or h
    return int(base + num_labels * (width + 1))  # a Linear(width, num_labels) head with bias


def _head(arch: str, task: str) -> tuple[str, str] | None:
    """Fine-tune head for a base architecture: ``(new architecture, pipeline tag)``."""
    heads = {"text-classification": "ForSequenceClassification", "token-classification": "ForTokenClassification",
             "question-answering": "ForQuestionAnswering"}
    if task not in heads or arch.endswith("LMHeadModel"):
        return None
    for suffix in ("ForMaskedLM", "ForPreTraining", "Model"):
        if arch.endswith(suffix):
            return arch[: -len(suffix)] + heads[task], task
    return None


class _Builder:
    """Accumulates repos with deterministic ids, shas and times."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.repos: list[HubRepo] = []
        self.t0 = 1_600_000_000

    def add(self, repo_id: str, files: dict[str, bytes], **meta: Any) -> HubRepo:
        i = len(self.repos)
        meta.setdefault("downloads", int(self.rng.paretovariate(1.2) * 10))
        meta.setdefault("likes", int(self.rng.paretovariate(1.5)) - 1)
        stamp = self.t0 + i * 3600
        repo = HubRepo.create(repo_id, files, created_at=stamp, last_modified=stamp + 60, **meta)
        self.repos.append(repo)
        return repo


def _tags(library: str | None, pipeline: str | None, base: str | None = None, extra: list[str] | None = None,
          relation: str = "finetune") -> list[str]:
    tags = [t for t in (library, "safetensors", pipeline) if t]
    if base:
        tags += [f"base_model:{base}", f"base_model:{relation}:{base}"]
    return tags + (extra or []) + ["license:apache-2.0", "region:us"]


def generate_repos(n: int = 320, seed: int = 0) -> list[HubRepo]:
    """``n`` fixture repos (at least the bases, sentence-transformers, timm and bad repos: ~80)."""
    configs = load_base_configs()
    b = _Builder(seed)
    bases = _transformers_bases(b, configs)
    _sentence_transformers(b, configs)
    timm_bases = _timm_bases(b)
    _bad_repos(b, configs)
    # -- fine-tune families fill the rest
    k = 0
    while len(b.repos) < n:
        k += 1
        if b.rng.random() < 0.12:
            _timm_finetune(b, k, timm_bases)
        else:
            _transformers_finetune(b, k, bases)
    return b.repos[:max(n, len(b.repos))]


def _transformers_bases(b: _Builder, configs: dict[str, dict[str, Any]]) -> list[tuple[str, dict[str, Any], str, str]]:
    """The transformers base repos of `BASE_SPECS`; ``(repo_id, config, architecture, pipeline)`` of each."""
    bases: list[tuple[str, dict[str, Any], str, str]] = []
    for repo_id, _cls, _kw, arch, pipeline, gated in BASE_SPECS:
        cfg = configs[repo_id]
        card = _card({"license": "apache-2.0", "library_name": "transformers", "pipeline_tag": pipeline,
                      "tags": [cfg.get("model_type", "")]}, f"{repo_id} base model.")
        b.add(repo_id, {"config.json": json.dumps(cfg, indent=2).encode(), "README.md": card,
                        "model.safetensors": b""}, library_name="transformers", pipeline_tag=pipeline,
              tags=_tags("transformers", pipeline, extra=[cfg.get("model_type", "")]), gated=gated,
              safetensors_total=approx_params(cfg))
        bases.append((repo_id, cfg, arch, pipeline))
    return bases


def _sentence_transformers(b: _Builder, configs: dict[str, dict[str, Any]]) -> None:
    for repo_id, _cls, _kw, arch in ST_SPECS:
        cfg = configs[repo_id]
        modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                   {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]
        card = _card({"library_name": "sentence-transformers", "pipeline_tag": "sentence-similarity",
                      "tags": ["sentence-transformers", "feature-extraction"]})
        b.add(repo_id, {"config.json": json.dumps(cfg).encode(), "modules.json": json.dumps(modules).encode(),
                        "README.md": card, "model.safetensors": b""}, library_name="sentence-transformers",
              pipeline_tag="sentence-similarity", safetensors_total=approx_params(cfg),
              tags=_tags("sentence-transformers", "sentence-similarity", extra=[cfg["model_type"], "feature-extraction"]))


def _timm_bases(b: _Builder) -> list[tuple[str, dict[str, Any]]]:
    """The timm repos of `TIMM_SPECS`; ``(repo_id, config)`` of each."""
    timm_bases = []
    for repo_id, arch, classes, features, size, model_args in TIMM_SPECS:
        tag = repo_id.split(".", 1)[1]
        cfg: dict[str, Any] = {"architecture": arch, "num_classes": classes, "num_features": features,
                               "global_pool": "avg", "pretrained_cfg": {
                                   "tag": tag, "custom_load": False, "input_size": size, "fixed_input_size": False,
                                   "interpolation": "bicubic", "crop_pct": 0.95, "crop_mode": "center",
                                   "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225],
                                   "num_classes": classes, "pool_size": [7, 7], "first_conv": "conv1",
                                   "classifier": "fc"}}
        if model_args:
            cfg["model_args"] = model_args
        card = _card({"tags": ["image-classification", "timm", "transformers"], "library_name": "timm",
                      "license": "apache-2.0", "datasets": ["imagenet-1k"]})
        b.add(repo_id, {"config.json": json.dumps(cfg, indent=2).encode(), "README.md": card,
                        "model.safetensors": b""}, library_name="timm", pipeline_tag="image-classification",
              tags=_tags("timm", "image-classification"),
              safetensors_total=approx_params({"a": arch}) + classes * features)
        timm_bases.append((repo_id, cfg))
    return timm_bases


def _timm_finetune(b: _Builder, k: int, timm_bases: list[tuple[str, dict[str, Any]]]) -> None:
    """A timm fine-tune with a new label count."""
    base_id, base_cfg = b.rng.choice(timm_bases)
    cfg = copy.deepcopy(base_cfg)
    classes = b.rng.choice([2, 10, 100, 1000])
    cfg["num_classes"] = classes
    ds = b.rng.choice(["cifar10", "food101", "beans", "imagenet-1k"])
    rid = f"ft-user{k % 97}/{base_id.split('/')[1].split('.')[0]}.ft_{ds}_{k}"
    card = _card({"library_name": "timm", "base_model": base_id, "datasets": [ds], "tags": ["timm"]})
    b.add(rid, {"config.json": json.dumps(cfg).encode(), "README.md": card, "model.safetensors": b""},
          library_name="timm", pipeline_tag="image-classification",
          tags=_tags("timm", "image-classification", base_id),
          safetensors_total=approx_params({"a": cfg["architecture"]}) + classes * cfg["num_features"])


def _transformers_finetune(b: _Builder, k: int, bases: list[tuple[str, dict[str, Any], str, str]]) -> None:
    """A transformers fine-tune of a base: re-headed, re-weighted, resized or with added tokens."""
    base_id, base_cfg, arch, pipeline = b.rng.choice(bases)
    cfg = copy.deepcopy(base_cfg)
    roll = b.rng.random()
    task = pipeline
    num_labels = 0
    relation = "finetune"
    if roll < 0.5:  # re-headed classifier / tagger / QA fine-tune
        task = b.rng.choice(["text-classification", "token-classification", "question-answering"]) \
            if pipeline == "fill-mask" else pipeline
        head = _head(arch, task)
        if head:
            cfg["architectures"] = [head[0]]
        else:
            task = pipeline
        num_labels = b.rng.choice([2, 3, 5]) if task in ("text-classification", "token-classification",
                                                        "image-classification") else 0
        if num_labels:
            cfg["id2label"] = {str(i): f"LABEL_{i}" for i in range(num_labels)}
            cfg["label2id"] = {f"LABEL_{i}": i for i in range(num_labels)}
            cfg["problem_type"] = "single_label_classification"
    elif roll < 0.88:  # same architecture, new weights (instruct / domain tune), other dtype
        cfg["torch_dtype"] = b.rng.choice(["float16", "bfloat16", "float32"])
    elif roll < 0.96:  # a resized variant of the base: a new architecture config
        relation = "quantized" if roll < 0.9 else "finetune"
        for key in ("num_hidden_layers", "num_layers", "n_layer", "encoder_layers"):
            if key in cfg and isinstance(cfg[key], int):
                cfg[key] = max(1, cfg[key] // 2 + k % 3)
                break
        else:
            cfg["hidden_dropout_prob"] = 0.2  # still a (trivially) different config
    else:  # added tokens: a small vocab change
        if "vocab_size" in cfg:
            cfg["vocab_size"] = cfg["vocab_size"] + 8 * (1 + k % 4)
    cfg["_name_or_path"] = base_id
    cfg["transformers_version"] = b.rng.choice(["4.41.2", "4.46.0", "4.51.3"])
    ds = b.rng.choice(_DATASETS)
    rid = f"ft-user{k % 251}/{base_id.split('/')[1]}-finetuned-{ds}-{k}"
    card = _card({"license": "apache-2.0", "base_model": base_id, "datasets": [ds], "tags": ["generated_from_trainer"],
                  "library_name": "transformers", "pipeline_tag": task, "language": ["en"]},
                 f"This model is a fine-tuned version of [{base_id}](https://huggingface.co/{base_id}) on {ds}.")
    b.add(rid, {"config.json": json.dumps(cfg, indent=2).encode(), "README.md": card, "model.safetensors": b""},
          library_name="transformers", pipeline_tag=task, tags=_tags("transformers", task, base_id, relation=relation),
          safetensors_total=approx_params(cfg, num_labels))


# The remote-code fixture is real code (a 2-layer toy LM) so that the opt-in path can be built end to end.
_REMOTE_CONFIGURATION = b"""from transformers import PretrainedConfig


class NarConfig(PretrainedConfig):
    model_type = "nar_custom"

    def __init__(self, hidden_size=64, vocab_size=128, **kwargs):
        self.hidden_size, self.vocab_size = hidden_size, vocab_size
        super().__init__(**kwargs)
"""
_REMOTE_MODELING = b"""import torch
from torch import nn
from transformers import PreTrainedModel

from .configuration_nar import NarConfig


class NarCustomForCausalLM(PreTrainedModel):
    config_class = NarConfig

    def __init__(self, config):
        super().__init__(config)
        self.embed = nn.Embedding(config.vocab_size, config.hidden_size)
        self.mix = nn.Linear(config.hidden_size, config.hidden_size)
        self.head = nn.Linear(config.hidden_size, config.vocab_size)
        self.post_init()

    def forward(self, input_ids, attention_mask=None, **kwargs):
        return self.head(torch.relu(self.mix(self.embed(input_ids))))
"""


def _bad_repos(b: _Builder, configs: dict[str, dict[str, Any]]) -> None:
    bert = configs["google-bert/bert-base-uncased"]
    ok_card = _card({"library_name": "transformers", "pipeline_tag": "text-classification"})
    for repo_id, kind in BAD_REPOS.items():
        files: dict[str, bytes] = {"README.md": ok_card}
        meta: dict[str, Any] = {"library_name": "transformers", "pipeline_tag": "text-classification",
                                "tags": _tags("transformers", "text-classification")}
        if kind == "malformed_json":
            files["config.json"] = b'{"model_type": "bert", "hidden_size": 768,,}'
        elif kind == "no_config":
            files["pytorch_model.bin"] = b""
        elif kind == "gated":
            files["config.json"] = json.dumps(bert).encode()
            meta["gated"] = "manual"
        elif kind == "remote_code":
            cfg = {"architectures": ["NarCustomForCausalLM"], "model_type": "nar_custom", "hidden_size": 64,
                   "vocab_size": 128, "auto_map": {"AutoConfig": "configuration_nar.NarConfig",
                                "AutoModelForCausalLM": "modeling_nar.NarCustomForCausalLM"}}
            files.update({"config.json": json.dumps(cfg).encode(), "modeling_nar.py": _REMOTE_MODELING,
                          "configuration_nar.py": _REMOTE_CONFIGURATION})
            meta.update(pipeline_tag="text-generation", tags=_tags("transformers", "text-generation", extra=["custom_code"]))
        elif kind == "huge_config":
            cfg = dict(bert, padding_table=list(range(400_000)))  # ~3 MB of JSON
            files["config.json"] = json.dumps(cfg).encode()
        elif kind == "malformed_yaml":
            files["config.json"] = json.dumps(bert).encode()
            files["README.md"] = _card({}, raw_yaml="license: [apache-2.0\npipeline_tag: : fill-mask\n")
            meta.update(pipeline_tag=None, library_name=None, tags=["region:us"])
        elif kind == "missing_file":
            files["config.json"] = json.dumps(bert).encode()
            meta["missing_files"] = ["config.json"]  # listed in siblings, 404 on download
        elif kind == "diffusers":
            files = {"model_index.json": b'{"_class_name": "StableDiffusionPipeline"}', "README.md": _card(
                {"library_name": "diffusers", "pipeline_tag": "text-to-image"})}
            meta.update(library_name="diffusers", pipeline_tag="text-to-image", tags=_tags("diffusers", "text-to-image"))
        elif kind == "gguf":
            files = {"llama-2-7b.Q4_K_M.gguf": b"", "README.md": _card({"base_model": "meta-llama/Llama-2-7b-hf"})}
            meta.update(library_name="gguf", pipeline_tag="text-generation", tags=["gguf", "text-generation"])
        elif kind == "no_top_level":  # top-level fields empty: labels must come from card YAML and config.json
            files["config.json"] = json.dumps(dict(configs["google/vit-base-patch16-224"])).encode()
            files["README.md"] = _card({"tags": ["vision"], "datasets": ["imagenet-1k"]})
            meta.update(library_name=None, pipeline_tag=None, tags=[])
        elif kind == "config_not_dict":
            files["config.json"] = b'["not", "a", "config"]'
        elif kind == "timm_bad":
            files["config.json"] = b'{"num_classes": 10}'
            meta.update(library_name="timm", pipeline_tag="image-classification", tags=_tags("timm", "image-classification"))
        b.add(repo_id, files, **meta)


def mutate_repo(repo: HubRepo, note: str = "update") -> HubRepo:
    """A new commit on ``repo`` that touches the card only (new sha and lastModified, same config)."""
    readme = repo.files.get("README.md", b"") + f"\n<!-- {note} -->\n".encode()
    return repo.commit({"README.md": readme})
