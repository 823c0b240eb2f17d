"""Configs of the ``transformers`` source: a model type's default config, a config dict loaded, its hash."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from ...errors import BuildError, RemoteCodeError, UnsupportedLibraryError
from ...fingerprint import config_hash
from .fixups import DEFAULT_FIXUPS, fill_none, merge

__all__ = ["default_config_dict", "disable_cache", "load_config", "transformers_config_hash", "transformers_version"]

logger = logging.getLogger("nar_data.sources.transformers")


def transformers_config_hash(class_name: str, config: dict[str, Any]) -> str:
    """The ``config_hash`` of ``class_name`` built from the *full* config dict (``config.to_dict()``).

    The Hub crawler must hash a repo the same way: load its config.json with `load_config` and hash
    ``cfg.to_dict()``, so a repo whose config equals the default shares the registry entry's hash.
    """
    return config_hash(f"transformers.{class_name}", config)


def default_config_dict(model_type: str) -> dict[str, Any] | None:
    from transformers import CONFIG_MAPPING
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # default configs warn about token ids outside a tiny default vocab
    try:
        # a JSON round trip, so the dict is exactly what a config.json of it would hold (str keys, no dtypes)
        d = json.loads(json.dumps(CONFIG_MAPPING[model_type]().to_dict(), default=str))
    except Exception as e:  # noqa: BLE001 - a broken default config becomes a build failure, not a crash
        logger.debug("default config of %s failed: %s", model_type, e)
        return None
    finally:
        hf_logging.set_verbosity(verbosity)
    fill_none(d)
    return merge(d, DEFAULT_FIXUPS.get(model_type, {}))


#: The most layers (or blocks) a config may ask for. The deepest real models have a few hundred; some config
#: classes build a per-layer list when loaded (``layer_types``), so a config asking for 10**11 layers exhausted the
#: memory of the process that loaded it (a `nar crawl`, 20 GB, killed by the OOM killer) before any other check.
MAX_LAYERS = 10_000
#: Keys that count layers or blocks: ``num_hidden_layers``, ``n_layer``, ``encoder_layers``, ``depths``, ``num_blocks``.
_LAYER_COUNT = re.compile(r"^(\w+_)?(layers?|blocks?|depths?)$")


def check_layer_counts(config: dict[str, Any], where: str = "") -> None:
    """`BuildError` if ``config`` (or a sub-config) asks for more than `MAX_LAYERS` layers or blocks."""
    for key, value in config.items():
        if isinstance(value, dict):
            check_layer_counts(value, f"{where}{key}.")
            continue
        if not _LAYER_COUNT.match(key.lower()):
            continue
        counts = value if isinstance(value, list) else [value]
        if any(isinstance(v, int) and not isinstance(v, bool) and v > MAX_LAYERS for v in counts):
            raise BuildError(f"config asks for {where}{key} = {value} (more than {MAX_LAYERS:,} layers); "
                             "no real model is that deep, so it is not loaded")


def load_config(config: dict[str, Any]) -> Any:
    """A ``PretrainedConfig`` from a config dict (a default config's ``to_dict()`` or a Hub config.json).

    Raises:
        RemoteCodeError: the model type is not in this transformers (repository code would be needed).
        BuildError: no model type, or more layers than any real model (`check_layer_counts`).
    """
    from transformers import CONFIG_MAPPING, AutoConfig

    config = dict(config)
    model_type = config.pop("model_type", None)
    if not model_type:
        raise BuildError("config has no 'model_type'; cannot pick a transformers config class")
    if model_type not in CONFIG_MAPPING:
        if config.get("auto_map"):
            raise RemoteCodeError(f"model_type {model_type!r} is defined by repository code (auto_map); "
                                  f"nar never passes trust_remote_code")
        raise UnsupportedLibraryError(f"model_type {model_type!r} is not in transformers "
                                      f"{transformers_version()}; upgrade transformers or skip this repo")
    for key in ("transformers_version", "_commit_hash", "auto_map"):
        config.pop(key, None)
    check_layer_counts(config)
    return AutoConfig.for_model(model_type, **config)


def disable_cache(config: Any) -> None:
    """``use_cache=False`` on the config and every sub-config that has the field (a cache output is no pytree to
    trace). Not on the others: ``merge_with_config_defaults`` passes any ``config.use_cache`` that is not None on to
    the method it wraps, and some take no ``use_cache`` (``GlmImageVQVAE.encode``)."""
    from ...build.inputs import sub_configs  # imports torch: only when a model is built

    for c in sub_configs(config):
        if hasattr(c, "use_cache"):
            c.use_cache = False
        if hasattr(c, "return_dict"):
            c.return_dict = True


def transformers_version() -> str:
    import transformers

    return transformers.__version__
