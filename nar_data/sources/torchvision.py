"""torchvision: every name in ``torchvision.models.list_models()``, from every task module.

Each entry is built with ``weights=None`` (and ``weights_backbone=None`` where the builder has a backbone)
on the meta device. The task, and so the example input, follows the builder's module:

==================  =========================  ==================================
module              task                       input
==================  =========================  ==================================
models.*            image-classification       ``(1, 3, S, S)``, S from the weights' crop size
detection           object-detection ...       a list of one ``(3, S, S)`` image, small ``min_size``
segmentation        image-segmentation         ``(1, 3, 224, 224)``
video               video-classification       ``(1, 3, T, S, S)``
optical_flow        optical-flow               two ``(1, 3, 128, 128)`` frames
quantization        image-classification       float (``quantize=False``) model, ``(1, 3, 224, 224)``
==================  =========================  ==================================
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

from ..build.meta import build_on_meta
from ..fingerprint import config_hash
from ._base import Built, ModelRef, Source
from . import register_source

__all__ = ["TorchvisionSource", "build_torchvision", "builder_module"]

TASKS = {
    "detection": "object-detection", "segmentation": "image-segmentation", "video": "video-classification",
    "optical_flow": "optical-flow", "quantization": "image-classification", "": "image-classification",
}
TASK_OVERRIDES = {"keypoint_rcnn": "keypoint-detection", "mask_rcnn": "instance-segmentation"}
#: Detection models resize every image to ``min_size``; a small one keeps the CPU rung fast, same graph shape.
DETECTION_SIZE = 320
VIDEO_FRAMES = 16


def builder_module(name: str) -> str:
    """The builder's module below ``torchvision.models`` (``resnet``, ``detection.faster_rcnn``, ...)."""
    from torchvision.models import get_model_builder

    return get_model_builder(name).__module__.removeprefix("torchvision.models.")


def _image_size(name: str) -> int:
    """Smallest crop size of the builder's weights (299 for Inception), else 224."""
    from torchvision.models import get_model_weights

    try:
        weights = list(get_model_weights(name))
    except Exception:  # noqa: BLE001 - a builder without weights enum
        return 224
    sizes = []
    for w in weights:
        try:
            crop = getattr(w.transforms(), "crop_size", None)
        except TypeError:
            crop = None
        if crop:
            sizes.append(max(int(crop[0]), int(w.meta.get("min_size", (0,))[0])))
    return min(sizes, default=224)


def build_torchvision(name: str) -> Built:
    """Build ``name`` with no weights on meta and the example input of its task."""
    import torch
    from torchvision.models import get_model, get_model_builder

    module = builder_module(name)
    package = module.split(".")[0] if "." in module else ""
    params = inspect.signature(get_model_builder(name)).parameters
    kwargs: dict[str, Any] = {"weights": None}
    if "weights_backbone" in params:
        kwargs["weights_backbone"] = None
    if package == "detection" and "ssd" not in module:  # SSDs fix their own input size
        kwargs.update(min_size=DETECTION_SIZE, max_size=DETECTION_SIZE)
    model = build_on_meta(get_model, name, **kwargs)
    meta = {"device": "meta"}
    if package == "detection":
        args: tuple[Any, ...] = ([torch.empty(3, DETECTION_SIZE, DETECTION_SIZE, **meta)],)
    elif package == "video":
        size = 112 if module == "video.resnet" else 224
        args = (torch.empty(1, 3, VIDEO_FRAMES, size, size, **meta),)
    elif package == "optical_flow":
        args = (torch.empty(1, 3, 128, 128, **meta), torch.empty(1, 3, 128, 128, **meta))
    else:
        s = getattr(model, "image_size", None) or (_image_size(name) if package == "" else 224)
        args = (torch.empty(1, 3, s, s, **meta),)
    return Built(model, args, {}, builder="torchvision.models.get_model")


@register_source("torchvision")
class TorchvisionSource(Source):
    """Every builder in ``torchvision.models.list_models()`` (classification, detection, segmentation, video,
    optical flow and quantization modules)."""

    def iter_refs(self, limit: int | None = None, names: list[str] | None = None, **_: Any) -> Iterator[ModelRef]:
        import torchvision
        from torchvision.models import list_models

        for i, name in enumerate(names if names is not None else list_models()):
            if limit is not None and i >= limit:
                return
            module = builder_module(name)
            leaf = module.split(".")[-1]
            task = TASK_OVERRIDES.get(leaf) or TASKS[module.split(".")[0] if "." in module else ""]
            config = {"builder": name, "module": module}
            yield ModelRef(source="torchvision", name=name, library="torchvision", revision=torchvision.__version__,
                           task=task, config=config, meta={"module": module},
                           config_hash=config_hash("torchvision", config))

    def build(self, ref: ModelRef) -> Built:
        return build_torchvision(ref.name)
