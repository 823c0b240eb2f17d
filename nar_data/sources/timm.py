"""timm: every architecture in ``timm.list_models()``, and timm repos' ``config.json`` on the Hub.

A timm model is fully described by ``architecture`` + ``model_args`` (+ the input size of its
``pretrained_cfg``), which is what timm writes to a Hub repo's ``config.json``; `timm_ref` turns that
triple into a `ModelRef` whose ``config_hash`` is shared by every repo with the same architecture.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..build.meta import build_on_meta
from ..fingerprint import config_hash
from ._base import Built, ModelRef, Source
from . import register_source

__all__ = ["TimmSource", "build_timm", "timm_ref"]

DEFAULT_INPUT_SIZE = (3, 224, 224)


def _timm() -> Any:
    import timm

    return timm


def default_input_size(architecture: str, pretrained_cfg: dict[str, Any] | None = None) -> tuple[int, int, int]:
    """``(C, H, W)`` from the repo's pretrained_cfg, else timm's default cfg for the architecture."""
    if pretrained_cfg and pretrained_cfg.get("input_size"):
        return tuple(int(x) for x in pretrained_cfg["input_size"])  # type: ignore[return-value]
    timm = _timm()
    try:
        cfg = timm.models.get_pretrained_cfg(architecture)
    except Exception:  # noqa: BLE001 - unknown tag etc.: fall back to the common size
        cfg = None
    size = getattr(cfg, "input_size", None) if cfg is not None else None
    return tuple(int(x) for x in size) if size else DEFAULT_INPUT_SIZE  # type: ignore[return-value]


def _model_module(architecture: str) -> str:
    """timm's model module of an architecture (``resnet50`` -> ``resnet``): its family."""
    from timm.models import _registry

    return _registry._model_to_module.get(architecture, "")


def timm_ref(architecture: str, model_args: dict[str, Any] | None = None,
             pretrained_cfg: dict[str, Any] | None = None, *, source: str = "timm", name: str | None = None,
             **fields: Any) -> ModelRef:
    """A `ModelRef` for a timm architecture; ``config_hash`` covers architecture, model_args and input size."""
    timm = _timm()
    module = _model_module(timm.models.get_arch_name(architecture))
    config = {"architecture": architecture, "model_args": dict(model_args or {}),
              "input_size": list(default_input_size(architecture, pretrained_cfg))}
    meta = {"module": module, **fields.pop("meta", {})}
    return ModelRef(source=source, name=name or architecture, library="timm", revision=fields.pop("revision", timm.__version__),
                    task=fields.pop("task", "image-classification"), config=config, meta=meta,
                    config_hash=config_hash("timm", {k: config[k] for k in ("architecture", "model_args", "input_size")}),
                    **fields)


def build_timm(architecture: str, model_args: dict[str, Any] | None = None,
               pretrained_cfg: dict[str, Any] | None = None) -> Built:
    """Build a timm model on the meta device (``pretrained=False``: no weights) with a matching image input."""
    import torch

    timm = _timm()
    model = build_on_meta(timm.create_model, architecture, pretrained=False, **(model_args or {}))
    c, h, w = default_input_size(architecture, pretrained_cfg)
    x = torch.empty(1, c, h, w, device="meta")
    return Built(model, (x,), {}, builder="timm.create_model")


@register_source("timm")
class TimmSource(Source):
    """Every name in ``timm.list_models()`` (optionally a glob ``filter``), built from its default config."""

    def iter_refs(self, limit: int | None = None, filter: str = "", names: list[str] | None = None,
                  **_: Any) -> Iterator[ModelRef]:
        timm = _timm()
        listed = names if names is not None else timm.list_models(filter or "")
        for i, name in enumerate(listed):
            if limit is not None and i >= limit:
                return
            yield timm_ref(name)

    def build(self, ref: ModelRef) -> Built:
        config = ref.config or {"architecture": ref.name}
        size = config.get("input_size")
        return build_timm(config["architecture"], config.get("model_args"),
                          {"input_size": size} if size else None)
