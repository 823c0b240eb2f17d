"""Family, coarse kind and task labels from what a source knows about a model, by ordered catalog rules.

The rules live in ``nar_data/catalog/labels.yaml`` (see its header for the rule format); this module only gathers
the *facts* about a `ModelRef` and applies the rules in order::

    >>> from nar_data.labels import labels_for
    >>> labels_for(ModelRef(source="timm", name="resnet50", meta={"module": "resnet"}))
    {'family': 'resnet', 'coarse': 'cnn', 'task': 'image-classification'}

A source can add facts through ``ref.meta`` (any key named in the rules); the Hub crawler adds card hints.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from .catalog import catalog_file
from .errors import SchemaError

if TYPE_CHECKING:  # a ref is only read here: labels sit below the sources that call them
    from .sources._base import ModelRef

__all__ = ["LABEL_FIELDS", "UNKNOWN", "LabelRules", "facts", "labels_for", "load_rules"]

LABEL_FIELDS = ("family", "coarse", "task")
UNKNOWN = "unknown"
COARSE_KINDS = ("cnn", "transformer", "hybrid", "rnn", "mlp", "ssm", "other")
#: The catalog shipped with the repo; `NAR_LABELS` points at another rules file.
DEFAULT_RULES = catalog_file("labels.yaml")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


class Rule:
    """One ``{when: {...}, value: ...}`` entry: compiled patterns and a value template."""

    def __init__(self, when: Mapping[str, Any], value: str, where: str) -> None:
        if not isinstance(value, str):
            raise SchemaError(f"{where}: `value` must be a string, got {value!r}")
        self.value = value
        self.when: dict[str, list[re.Pattern[str]]] = {}
        for fact, patterns in (when or {}).items():
            pats = patterns if isinstance(patterns, list) else [patterns]
            try:
                self.when[fact] = [re.compile(str(p), re.IGNORECASE) for p in pats]
            except re.error as e:
                raise SchemaError(f"{where}: bad pattern for {fact!r}: {e}") from None

    def apply(self, f: Mapping[str, Any]) -> str | None:
        for fact, patterns in self.when.items():
            values = _as_list(f.get(fact))
            if not any(p.fullmatch(v) for p in patterns for v in values):
                return None
        label = _PLACEHOLDER.sub(lambda m: ";".join(_as_list(f.get(m.group(1)))[:1]), self.value)
        return label.strip().lower() or None


def _as_list(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, Iterable):
        return [str(v) for v in value if v not in (None, "")]
    return [str(value)]


class LabelRules:
    """Compiled rules of one catalog file."""

    def __init__(self, data: Mapping[str, Any], path: str = "<rules>") -> None:
        if not isinstance(data, Mapping):
            raise SchemaError(f"{path}: expected a mapping with sections {LABEL_FIELDS}")
        self.version = int(data.get("version", 1))
        self.aliases: dict[str, str] = {str(k).lower(): str(v).lower() for k, v in (data.get("family_aliases") or {}).items()}
        self.rules: dict[str, list[Rule]] = {}
        for field in LABEL_FIELDS:
            entries = data.get(field) or []
            self.rules[field] = [
                Rule(e.get("when", {}), e.get("value", ""), f"{path}: {field}[{i}]") for i, e in enumerate(entries)
            ]

    def label(self, field: str, f: Mapping[str, Any]) -> str:
        for rule in self.rules[field]:
            value = rule.apply(f)
            if value:
                return self.aliases.get(value, value) if field == "family" else value
        return UNKNOWN

    def __call__(self, f: Mapping[str, Any]) -> dict[str, str]:
        f = dict(f)
        out = {"family": self.label("family", f)}
        f["family"] = out["family"]
        out["coarse"] = self.label("coarse", f)
        if out["coarse"] not in COARSE_KINDS and out["coarse"] != UNKNOWN:
            out["coarse"] = "other"
        out["task"] = self.label("task", f)
        return out


@functools.lru_cache(maxsize=8)
def load_rules(path: str | os.PathLike | None = None) -> LabelRules:
    """Rules from ``path`` (default: ``$NAR_LABELS`` or ``nar_data/catalog/labels.yaml``); cached."""
    path = Path(path or os.environ.get("NAR_LABELS") or DEFAULT_RULES)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise SchemaError(f"Label rules not found at {path}; set NAR_LABELS to a rules file") from None
    except yaml.YAMLError as e:
        raise SchemaError(f"Label rules {path} are not valid YAML: {e}") from None
    return LabelRules(data, str(path))


def facts(ref: ModelRef) -> dict[str, Any]:
    """What the rules can match on: the ref's own fields, then everything in ``ref.meta``."""
    config = ref.config or {}
    f: dict[str, Any] = {
        "source": ref.source, "name": ref.name, "library": ref.library, "task": ref.task,
        "model_type": config.get("model_type", ""), "architectures": config.get("architectures", []),
    }
    for key, value in ref.meta.items():
        if value not in (None, "", [], {}):
            f[key] = value
    return f


def labels_for(ref: ModelRef, rules: LabelRules | None = None) -> dict[str, str]:
    """``{"family", "coarse", "task"}`` of ``ref``; ``"unknown"`` where no rule applies."""
    return (rules or load_rules())(facts(ref))
