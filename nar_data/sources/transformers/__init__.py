"""The ``transformers`` source: every model type with an ``AutoModel`` mapping, and its task heads.

One `ModelRef` per ``(model_type, class)``: the base class from ``MODEL_MAPPING_NAMES`` (``meta["base"]``
is True) and every head class from the other ``MODEL_FOR_<TASK>_MAPPING_NAMES`` tables. The config is
the model type's *default* config (``CONFIG_MAPPING[model_type]()``), which is what the class docs call
"the architecture of <org>/<checkpoint>"; building it never downloads anything.

``build`` makes the module under ``torch.device("meta")`` (no weights are allocated, even for a
46 B-parameter MoE) with ``use_cache=False`` on every (sub-)config, and synthesises meta inputs with
`nar_data.build.synthesis.synthesize`. `build_from_config` does the same for a Hub repo's ``config.json``.

Task names (``ModelRef.task``) follow the Hub's pipeline tags where one exists; see `TASKS`.

The package's modules: ``tasks`` (the Auto tables as tasks), ``fixups`` (default configs that need a
change to build), ``configs`` (default configs, loading, hashing), ``classes`` (which class a config
builds), ``building`` (meta build and inputs).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ...errors import BuildError
from .. import Built, ModelRef, Source, register_source
from .building import build_from_config, build_module
from .classes import class_for
from .configs import (default_config_dict, disable_cache, load_config, transformers_config_hash,
                      transformers_version)
from .tasks import TASKS, auto_class, class_owners, iter_classes

__all__ = ["TASKS", "TransformersSource", "build_from_config", "build_module", "class_for", "class_owners",
           "default_config_dict", "disable_cache", "iter_classes", "load_config", "transformers_config_hash"]


@register_source("transformers")
class TransformersSource(Source):
    """Every transformers model type with an ``AutoModel`` mapping, plus its task heads, at default config.

    Filters of ``iter_refs``: ``model_types`` (list), ``base_only`` (bool), ``tasks`` (list of `TASKS`
    values), ``names`` (list of class names).
    """

    def iter_refs(self, limit: int | None = None, model_types: list[str] | None = None, base_only: bool = False,
                  tasks: list[str] | None = None, names: list[str] | None = None, **filters: Any) -> Iterator[ModelRef]:
        version = transformers_version()
        configs: dict[str, dict[str, Any] | None] = {}
        n = 0
        classes = list(iter_classes())
        owners = class_owners(classes)
        for model_type, cls, task, is_base in classes:
            # A class shared by several model types (LlamaModel for llama, internlm3, ...) is named
            # "Class@model_type" except for the model type that owns it, so model ids stay unique.
            name = cls if owners.get(cls, model_type) == model_type else f"{cls}@{model_type}"
            if (model_types and model_type not in model_types) or (base_only and not is_base) or \
                    (tasks and task not in tasks) or (names and name not in names):
                continue
            if limit is not None and n >= limit:
                return
            if model_type not in configs:
                configs[model_type] = default_config_dict(model_type)
            cfg = configs[model_type]
            config = cfg if cfg is not None else {"model_type": model_type}
            n += 1
            yield ModelRef(source="transformers", name=name, library="transformers", revision=version, task=task,
                           config=config, config_hash=transformers_config_hash(cls, config),
                           meta={"model_type": model_type, "auto_class": auto_class(task), "base": is_base,
                                 "class": cls})

    def build(self, ref: ModelRef) -> Built:
        import transformers

        config = ref.config or {"model_type": ref.meta.get("model_type")}
        cfg = load_config(config)
        class_name = ref.meta.get("class") or ref.name.split("@")[0]
        cls = getattr(transformers, class_name, None)
        if cls is None:
            raise BuildError(f"transformers {transformers_version()} has no class {class_name!r} (missing optional dependency?)")
        return build_module(cls, cfg, ref.task)
