"""Build a ``transformers`` class on the meta device, with shadowed example inputs."""

from __future__ import annotations

import os
from typing import Any

from ...errors import BuildError
from .. import Built
from .classes import class_for
from .configs import disable_cache, load_config

__all__ = ["build_from_config", "build_module"]


def build_module(cls: type, config: Any, task: str = "") -> Built:
    """Build ``cls`` from ``config`` on the meta device and synthesise its example inputs."""
    import torch

    from ...build.meta import skip_meta_init
    from ...build.shadow import BuildConstants, with_shadow_values
    from ...build.synthesis import synthesize

    # transformers checks "image tokens == image features" etc. with data-dependent asserts that meta
    # tensors cannot answer; under tracing they are hints only. This switches them off in the worker.
    os.environ["TRANSFORMERS_DISABLE_TORCH_CHECK"] = "1"
    disable_cache(config)
    config = _config_for_class(cls, config)
    try:
        with torch.device("meta"), BuildConstants() as constants, skip_meta_init():
            module = cls._from_config(config, dtype=torch.float32)
    except Exception as e:  # noqa: BLE001
        raise BuildError(f"{cls.__name__}._from_config failed: {type(e).__name__}: {e}") from e
    module.eval()
    args, kwargs, values = synthesize(module, config, task)
    # always: even without integer inputs, models compute paddings from torch.tensor(<python int>) scalars
    with_shadow_values(module, kwargs, values, constants.seeds)
    return Built(module, args, kwargs, builder=f"transformers.{cls.__name__}._from_config")


def _config_for_class(cls: type, config: Any) -> Any:
    """The (sub-)config ``cls`` is built from: a text-only head of a composite model type (``Emu3ForCausalLM``
    of ``emu3``) takes the ``text_config``."""
    from ...build.inputs import sub_configs

    wanted = getattr(cls, "config_class", None)
    if wanted is None or isinstance(config, wanted):
        return config
    return next((c for c in sub_configs(config) if isinstance(c, wanted)), config)


def build_from_config(config: dict[str, Any], architecture: str | None = None, task: str | None = None) -> Built:
    """Build a Hub repo's ``config.json`` (as a dict) on meta, with example inputs; never remote code.

    The class is ``architecture``, else the first of ``config["architectures"]`` that transformers has,
    else the Auto class of ``task`` (a `TASKS` value such as ``"text-generation"``), else ``AutoModel``'s.
    """
    cfg = load_config(config)
    return build_module(class_for(cfg, architecture, task), cfg, task or "")
