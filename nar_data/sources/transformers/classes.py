"""Which ``transformers`` class a config builds: the named architecture, else the Auto class of a task."""

from __future__ import annotations

from typing import Any

from ...errors import BuildError, RemoteCodeError
from .configs import transformers_version
from .tasks import TASKS, class_names

__all__ = ["class_for"]


def class_for(config: Any, architecture: str | None = None, task: str | None = None) -> type:
    """The model class: ``architecture`` if given, else the config's ``architectures``, else the Auto class
    of ``task`` (a `TASKS` value), else ``AutoModel``'s class for the model type.

    Raises:
        RemoteCodeError: the named architecture is not a transformers class.
        BuildError: no class maps the model type for the task.
    """
    import transformers
    from transformers.models.auto import modeling_auto

    names = [architecture] if architecture else list(getattr(config, "architectures", None) or [])
    for name in names:
        cls = getattr(transformers, name, None) if name else None
        if cls is not None:
            return cls
    if names and not task:
        raise RemoteCodeError(f"architecture {names[0]!r} is not a transformers {transformers_version()} class "
                              f"(repository code?); pass task= to build the Auto class instead")
    table = next((t for t, v in TASKS.items() if v == task), "MODEL_MAPPING_NAMES") if task else "MODEL_MAPPING_NAMES"
    mapping = getattr(modeling_auto, table, {})
    if config.model_type not in mapping:
        valid = sorted(v for t, v in TASKS.items() if config.model_type in getattr(modeling_auto, t, {}))
        raise BuildError(f"no {task or 'base'} class for model_type {config.model_type!r}; tasks it has: {valid}")
    return getattr(transformers, class_names(mapping[config.model_type])[0])
