"""One listed repo, parsed defensively from a ``/api/models`` item, and what can be known without a download.

The listing (with ``expand``) already says a lot: the commit sha, the library, the pipeline tag and
tags, the card's YAML (``cardData``), an excerpt of ``config.json`` (``architectures``,
``model_type``, ``auto_map``), the file names, gating, and the safetensors parameter count. From that
the crawler decides, per repo and without any further call, whether it is unchanged, unsupported,
remote code, gated, missing its config, or an architecture it has already seen (the *fingerprint*).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..fingerprint import stable_hash
from .card import base_model_of, card_hints

__all__ = ["ListedRepo", "SUPPORTED_LIBRARIES", "TASK_SUFFIXES", "task_from_architecture"]

#: Libraries whose repos can be built from config.json alone.
SUPPORTED_LIBRARIES = ("transformers", "timm", "sentence-transformers")

#: transformers class-name suffix -> pipeline task (when neither the Hub nor the card gives one).
TASK_SUFFIXES = (
    ("ForSequenceClassification", "text-classification"), ("ForTokenClassification", "token-classification"),
    ("ForQuestionAnswering", "question-answering"), ("ForMaskedLM", "fill-mask"), ("ForCausalLM", "text-generation"),
    ("LMHeadModel", "text-generation"), ("ForConditionalGeneration", "text2text-generation"),
    ("MTModel", "translation"), ("ForImageClassification", "image-classification"),
    ("ForSemanticSegmentation", "image-segmentation"), ("ForObjectDetection", "object-detection"),
    ("ForCTC", "automatic-speech-recognition"), ("ForAudioClassification", "audio-classification"),
    ("ForMultipleChoice", "multiple-choice"), ("ForPreTraining", "fill-mask"), ("Model", "feature-extraction"),
)


#: Heads whose size is ``num_labels x (width + 1)``: fine-tunes that only differ in label count differ
#: in parameter count by a multiple of ``width + 1``, and share a config hash (label maps are not architecture).
LABEL_HEADS = ("ForSequenceClassification", "ForTokenClassification", "ForImageClassification",
               "ForAudioClassification")


def head_width(config: dict[str, Any]) -> int:
    """Input width of a transformers classification head (0 when the config does not say)."""
    for key in ("hidden_size", "d_model", "n_embd", "dim", "hidden_dim"):
        if isinstance(config.get(key), int) and config[key] > 0:
            return int(config[key])
    sizes = config.get("hidden_sizes")
    if isinstance(sizes, list) and sizes and isinstance(sizes[-1], int):
        return int(sizes[-1])
    depths, embed = config.get("depths"), config.get("embed_dim")
    if isinstance(embed, int) and isinstance(depths, list) and depths:
        return embed * 2 ** (len(depths) - 1)
    return 0


def task_from_architecture(arch: str) -> str:
    for suffix, task in TASK_SUFFIXES:
        if arch.endswith(suffix):
            return task
    return ""


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _str_list(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


@dataclass
class ListedRepo:
    """The crawler's view of one listing item (every field tolerant of absence or wrong types)."""

    repo_id: str
    sha: str = ""
    last_modified: str = ""
    library: str = ""  # top-level library_name, else the card's, else inferred from config.json
    pipeline_tag: str = ""  # top-level, else the card's, else from the architecture class name
    tags: list[str] = field(default_factory=list)
    downloads: int = 0
    likes: int = 0
    gated: bool = False
    card: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)  # the listing's excerpt of config.json
    siblings: list[str] | None = None  # file names; None when the listing did not say
    params_total: int = 0  # safetensors parameter count, 0 when unknown
    base_model: str = ""
    base_relation: str = ""

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> "ListedRepo":
        """Parse a listing item; `ValueError` only if it has no usable ``id``."""
        repo_id = item.get("id") or item.get("modelId")
        if not isinstance(repo_id, str) or not repo_id:
            raise ValueError(f"listing item without an id: {str(item)[:200]}")
        card = item.get("cardData") if isinstance(item.get("cardData"), dict) else {}
        config = item.get("config") if isinstance(item.get("config"), dict) else {}
        siblings = item.get("siblings")
        names = [s.get("rfilename") for s in siblings if isinstance(s, dict)] if isinstance(siblings, list) else None
        st = item.get("safetensors") if isinstance(item.get("safetensors"), dict) else {}
        tags = _str_list(item.get("tags"))
        base, relation = base_model_of(tags, card)
        repo = cls(
            repo_id=repo_id, sha=_str(item.get("sha")), last_modified=_str(item.get("lastModified")),
            library=_str(item.get("library_name")), pipeline_tag=_str(item.get("pipeline_tag")),
            tags=tags, downloads=int(item.get("downloads") or 0) if str(item.get("downloads") or 0).isdigit() else 0,
            likes=int(item.get("likes") or 0) if str(item.get("likes") or 0).lstrip("-").isdigit() else 0,
            gated=bool(item.get("gated")), card=card, config=config,
            siblings=[n for n in names if isinstance(n, str)] if names is not None else None,
            params_total=int(st.get("total") or 0) if isinstance(st.get("total"), int) else 0,
            base_model=base, base_relation=relation,
        )
        repo.apply_card(card)
        return repo

    def apply_card(self, card: dict[str, Any]) -> None:
        """Fill what the Hub's top-level fields left empty: the card's YAML first, then config.json."""
        self.card = card
        hints = card_hints(card)
        self.library = self.library or hints.get("library_name", "") or self.infer_library()
        self.pipeline_tag = self.pipeline_tag or hints.get("pipeline_tag", "") or (
            task_from_architecture(self.architectures[0]) if self.architectures else "")
        if not self.base_model:
            self.base_model, self.base_relation = base_model_of(self.tags, card)

    @property
    def architectures(self) -> list[str]:
        return _str_list(self.config.get("architectures"))

    @property
    def model_type(self) -> str:
        return _str(self.config.get("model_type"))

    @property
    def remote_code(self) -> bool:
        return bool(self.config.get("auto_map")) or "custom_code" in self.tags

    def infer_library(self) -> str:
        """Where the Hub and the card say nothing: tags, then the shape of config.json."""
        for lib in SUPPORTED_LIBRARIES:
            if lib in self.tags:
                return lib
        if isinstance(self.config.get("architecture"), str):
            return "timm"
        if self.model_type or self.architectures:
            return "transformers"
        return ""

    def fingerprint(self) -> tuple[str, int]:
        """``(key, parameter count)``: "same architecture as a repo already fetched", from listing fields only.

        The key hashes library, architecture class, model type and lineage root (the base model, or the
        repo itself); two repos match when their keys are equal and their safetensors parameter counts are
        equal, or, for a label head (`LABEL_HEADS`), differ by a multiple of ``head width + 1`` (another
        label count). A resized variant or an added token changes the count otherwise and is fetched.
        ``("", 0)`` when the listing gives no parameter count: the config is always fetched.
        """
        if self.params_total <= 0 or self.remote_code:
            return "", 0
        key = stable_hash([self.library, self.architectures, self.model_type, self.config.get("architecture", ""),
                           self.base_model or self.repo_id], 12)
        return key, self.params_total

    def meta(self) -> dict[str, Any]:
        """Label facts for `nar_data.labels` (``ref.meta``): Hub fields, then card and config fallbacks."""
        hints = card_hints(self.card)
        name = self.repo_id.split("/")[-1]
        meta: dict[str, Any] = {
            "repo_id": self.repo_id, "pipeline_tag": self.pipeline_tag, "tags": self.tags,
            "base_model": self.base_model, "base_relation": self.base_relation,
            "model_type": self.model_type, "architectures": self.architectures,
            "timm_architecture": _str(self.config.get("architecture")),
            "name_tokens": [t for t in _tokens(name) if t],
            # tags, then the base model's name, then the repo's name: what names a family when the Hub's
            # config excerpt has no model_type (GGUF, adapters, diffusers, timm)
            "hint_tokens": [t for t in [*(x.lower() for x in self.tags if ":" not in x),
                                        *_tokens(self.base_model.split("/")[-1]), *_tokens(name)] if t],
            "author": self.repo_id.split("/")[0] if "/" in self.repo_id else "",
        }
        for key, value in hints.items():
            meta.setdefault(key, value)
        return {k: v for k, v in meta.items() if v not in ("", [], None)}


def _tokens(name: str) -> list[str]:
    import re

    return [t.lower() for t in re.split(r"[-_.\s/]+", name)] if name else []
