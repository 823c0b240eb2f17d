"""From a downloaded ``config.json`` to what is built: the *kind* (class / architecture), the build config
and its ``config_hash``.

``config_hash(kind, config)`` (`nar_data.fingerprint`) drops names, paths, dtypes, label maps and
versions, so the thousands of fine-tunes of one base that only differ there share one hash and are
traced once. timm repos hash exactly like `nar_data.sources.timm.timm_ref`, so ``timm/resnet50.a1_in1k``
and the registry's ``resnet50`` are one architecture.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..errors import MalformedConfigError
from ..fingerprint import config_hash
from .listing import ListedRepo, task_from_architecture

__all__ = ["ConfigIdentity", "parse_config", "config_identity"]


@dataclass(frozen=True)
class ConfigIdentity:
    kind: str  # "transformers:BertForSequenceClassification", "timm:resnet50", "remote:NarCustomForCausalLM"
    config_hash: str
    task: str
    config: dict[str, Any]  # what the builder gets (for timm: architecture / model_args / input_size)


def parse_config(raw: bytes) -> dict[str, Any]:
    """JSON object from bytes; `MalformedConfigError` for anything else."""
    try:
        config = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise MalformedConfigError(f"config.json is not valid JSON: {e}") from None
    if not isinstance(config, dict):
        raise MalformedConfigError(f"config.json is a JSON {type(config).__name__}, expected an object")
    return config


def _timm_identity(config: dict[str, Any]) -> ConfigIdentity:
    arch = config.get("architecture")
    if not isinstance(arch, str) or not arch:
        raise MalformedConfigError("timm config.json has no 'architecture' (timm writes one for every model)")
    pretrained = config.get("pretrained_cfg") if isinstance(config.get("pretrained_cfg"), dict) else {}
    model_args = dict(config.get("model_args") or {}) if isinstance(config.get("model_args") or {}, dict) else {}
    classes = config.get("num_classes")
    if isinstance(classes, int) and classes != pretrained.get("num_classes", classes):
        model_args.setdefault("num_classes", classes)  # a re-headed fine-tune: a different architecture
    size = pretrained.get("input_size")
    if not (isinstance(size, list) and len(size) == 3 and all(isinstance(x, int) for x in size)):
        from ..sources.timm import default_input_size  # imports timm: only for configs without an input size

        size = list(default_input_size(arch, None))
    build = {"architecture": arch, "model_args": model_args, "input_size": list(size)}
    return ConfigIdentity(f"timm:{arch}", config_hash("timm", build), "image-classification", build)


def config_identity(repo: ListedRepo, config: dict[str, Any], trust_remote_code: bool = False,
                    canonical: bool = True) -> ConfigIdentity:
    """The identity of ``config`` for the repo's library (transformers, sentence-transformers, timm).

    With ``canonical`` (the default), a transformers config is loaded with transformers and its full
    ``to_dict()`` hashed with `nar_data.sources.transformers.transformers_config_hash`, exactly as the
    registry source does, so a repo whose config equals a default config shares the registry's hash.
    Without it the raw config.json is hashed (no transformers import: fast, but hashes differ from the
    registry's; fine for crawl-only runs and the benches).

    Raises:
        MalformedConfigError: the config lacks what its library needs to build it.
        RemoteCodeError / UnsupportedLibraryError: transformers does not know the model type.
    """
    if repo.library == "timm":
        return _timm_identity(config)
    archs = config.get("architectures")
    arch = archs[0] if isinstance(archs, list) and archs and isinstance(archs[0], str) else ""
    if not isinstance(config.get("model_type"), str) or not config.get("model_type"):
        raise MalformedConfigError("config.json has no 'model_type', so AutoConfig cannot read it")
    task = repo.pipeline_tag or task_from_architecture(arch)
    if repo.library == "sentence-transformers":
        task = "sentence-similarity"
    if trust_remote_code and config.get("auto_map"):
        kind = f"remote.{arch or 'auto'}"
        return ConfigIdentity(kind, config_hash(kind, config), task, config)
    if not canonical:
        kind = f"transformers.{arch or 'auto:' + (task or 'feature-extraction')}"
        return ConfigIdentity(kind, config_hash(kind, config), task, config)
    from ..sources.transformers import class_for, load_config, transformers_config_hash

    try:
        cfg = load_config(config)
        cls = class_for(cfg, arch or None, None if arch else _auto_task(task))
    except Exception as e:  # noqa: BLE001 - untrusted config: any error of transformers' validation is "malformed"
        raise MalformedConfigError(f"transformers cannot read config.json: {type(e).__name__}: {e}") from None
    full = json.loads(json.dumps(cfg.to_dict(), default=str))
    return ConfigIdentity(f"transformers.{cls.__name__}", transformers_config_hash(cls.__name__, full), task, full)


def _auto_task(task: str) -> str | None:
    """A pipeline tag the transformers source has an Auto table for (else the base AutoModel)."""
    from ..sources.transformers import TASKS

    return task if task in TASKS.values() else None
