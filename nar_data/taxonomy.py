"""Architecture families across libraries, the cross-library twin table, and graded relevance.

A graph's ``family`` label is a library's name for its code (timm module, torchvision builder module,
transformers model_type). `arch_family` maps it, with the model id, to the *design*: ViT from timm, DeiT
and transformers ``ViTModel`` are all ``vit``; Llama, Mistral and Qwen2 are all ``llama``. The rules live in
``nar_data/catalog/taxonomy.yaml`` and the twins (one architecture built by two libraries, or a registry model
and its Hub checkpoint) in ``nar_data/catalog/twins.yaml``::

    >>> from nar_data.taxonomy import arch_family, relevance
    >>> arch_family("transformers:DeiTModel", "deit"), arch_family("timm:resnext50_32x4d", "resnet")
    ('vit', 'resnext')
    >>> relevance(("torchvision:resnet50", "resnet"), ("timm:resnet50", "resnet"))
    3

Grades: 3 = twins, 2 = same arch_family, 1 = same coarse kind and modality, 0 = anything else. An item is
whatever is cheap to pass: a `Graph` (or any object / mapping with ``model_id`` and ``family``, optionally
``coarse`` and ``task``) or a tuple ``(model_id, family[, coarse[, task]])``.
This module needs no torch (only PyYAML and NumPy), so the model layer may import it.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from .catalog import catalog_file
from .errors import SchemaError

__all__ = ["GRADES", "KINDS", "MODALITIES", "OTHER", "ArchLabel", "Family", "Taxonomy", "arch_family",
           "coarse_kind", "describe", "load_taxonomy", "modality", "relevance", "relevance_matrix", "twin_pairs",
           "twins_of"]

TAXONOMY_FILE = catalog_file("taxonomy.yaml")
TWINS_FILE = catalog_file("twins.yaml")
KINDS = ("cnn", "transformer", "hybrid", "rnn", "mlp", "ssm", "other")
MODALITIES = ("vision", "video", "text", "audio", "multimodal", "other")
OTHER = "other"
UNKNOWN = "unknown"
#: grade -> meaning, highest first
GRADES = {3: "twin", 2: "same arch_family", 1: "same coarse kind and modality", 0: "other"}

#: Modality of a family the taxonomy does not list, from its task (first matching pattern wins).
_TASK_MODALITY = (
    (re.compile(r"video.*"), "video"),
    (re.compile(r".*(image-text|visual|document|zero-shot-image|zero-shot-object|any-to-any|retrieval).*"), "multimodal"),
    (re.compile(r".*(audio|speech|spectrogram|waveform|ctc|rnnt|tdt).*"), "audio"),
    (re.compile(r".*(image|object|depth|segmentation|keypoint|pose|mask|backbone|normal|pointmap|matting).*"), "vision"),
    (re.compile(r".*(text|mask|token|question|sentence|summar|translation|multiple-choice|fill|feature).*"), "text"),
)


@dataclass(frozen=True)
class Family:
    """One arch_family of the taxonomy file."""

    name: str
    kind: str
    modality: str
    rule: str
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class ArchLabel:
    """What relevance compares: the design, its coarse kind and modality, and its twin group (-1 = none)."""

    arch_family: str
    kind: str
    modality: str
    twin_group: int = -1


class Taxonomy:
    """Compiled taxonomy and twin table; build one with `load_taxonomy`."""

    def __init__(self, data: Mapping[str, Any], twins: Mapping[str, Any] | None = None,
                 path: str = "<taxonomy>") -> None:
        if not isinstance(data, Mapping) or not isinstance(data.get("families"), Mapping):
            raise SchemaError(f"{path}: expected a mapping with `families: {{name: {{kind, modality, rule, labels}}}}`")
        self.families: dict[str, Family] = {}
        self._by_label: dict[str, str] = {}
        self._patterns: list[tuple[re.Pattern[str], str]] = []
        for name, spec in data["families"].items():
            self.families[str(name)] = fam = _family(str(name), spec or {}, path)
            for label in fam.labels:
                if label in self._by_label:
                    raise SchemaError(f"{path}: label {label!r} is in both {self._by_label[label]!r} and {name!r}")
                self._by_label[label] = fam.name
            for pattern in (spec or {}).get("label_patterns") or []:
                self._patterns.append((_compile(pattern, f"{path}: families.{name}.label_patterns"), fam.name))
        self._overrides: list[tuple[re.Pattern[str], str]] = []
        for i, entry in enumerate(data.get("overrides") or []):
            where = f"{path}: overrides[{i}]"
            target = str((entry or {}).get("arch_family", ""))
            if target not in self.families:
                raise SchemaError(f"{where}: arch_family {target!r} is not a family; valid: {', '.join(self.families)}")
            self._overrides.append((_compile(entry.get("model_id", ""), where), target))
        self.pairs: list[tuple[str, str]] = []
        self.near: list[tuple[str, str, str]] = []
        self._group: dict[str, int] = {}
        if twins is not None:
            self._load_twins(twins)

    # -- labels -------------------------------------------------------------------------------------------------
    def arch_family(self, model_id: str, family: str) -> str:
        """The design of a model: an override on its id, else the family label's arch_family, else the label."""
        for pattern, target in self._overrides:
            if pattern.fullmatch(model_id):
                return target
        label = (family or "").strip().lower()
        if label in self._by_label:
            return self._by_label[label]
        for pattern, target in self._patterns:
            if pattern.fullmatch(label):
                return target
        return label if label and label != UNKNOWN else OTHER

    def is_listed(self, model_id: str, family: str) -> bool:
        """True when the taxonomy names this model's family (an override or a label), not the own-label fallback."""
        label = (family or "").strip().lower()
        return (any(p.fullmatch(model_id) for p, _ in self._overrides) or label in self._by_label
                or any(p.fullmatch(label) for p, _ in self._patterns))

    def coarse_kind(self, model_id: str, family: str, coarse: str = UNKNOWN) -> str:
        """The arch_family's coarse kind, else the graph's own ``coarse`` label (``"unknown"`` if neither)."""
        fam = self.families.get(self.arch_family(model_id, family))
        if fam is not None:
            return fam.kind
        return coarse if coarse in KINDS else UNKNOWN

    def modality(self, model_id: str, family: str, task: str = "") -> str:
        """The arch_family's modality, else one from the source (timm, torchvision) or the task."""
        fam = self.families.get(self.arch_family(model_id, family))
        if fam is not None:
            return fam.modality
        source = model_id.split(":", 1)[0]
        if source == "timm":
            return "vision"
        if source == "torchvision":
            return "video" if (family or "").startswith("video") else "vision"
        for pattern, value in _TASK_MODALITY:
            if task and pattern.fullmatch(task.lower()):
                return value
        return UNKNOWN

    def describe(self, item: Any) -> ArchLabel:
        """The `ArchLabel` of an item (a Graph-like, a mapping or a ``(model_id, family, ...)`` tuple)."""
        model_id, family, coarse, task = _fields(item)
        return ArchLabel(self.arch_family(model_id, family), self.coarse_kind(model_id, family, coarse),
                         self.modality(model_id, family, task), self._group.get(model_id, -1))

    # -- twins --------------------------------------------------------------------------------------------------
    def twins_of(self, model_id: str) -> frozenset[str]:
        """Every model id in ``model_id``'s twin group (twin pairs joined transitively), itself excluded."""
        group = self._group.get(model_id)
        if group is None:
            return frozenset()
        return frozenset(m for m, g in self._group.items() if g == group and m != model_id)

    def are_twins(self, a: str, b: str) -> bool:
        """True when the two model ids are different members of one twin group."""
        return a != b and self._group.get(a, -1) >= 0 and self._group.get(a) == self._group.get(b)

    # -- grades -------------------------------------------------------------------------------------------------
    def relevance(self, a: Any, b: Any) -> int:
        """3 = twins, 2 = same arch_family, 1 = same coarse kind and modality, 0 = other."""
        return _grade(self.describe(a), self.describe(b))

    def relevance_matrix(self, queries: Sequence[Any], items: Sequence[Any] | None = None) -> np.ndarray:
        """``(len(queries), len(items))`` int8 grades (``items`` defaults to ``queries``), computed per label."""
        qa = [self.describe(q) for q in queries]
        ia = qa if items is None else [self.describe(i) for i in items]
        out = np.zeros((len(qa), len(ia)), dtype=np.int8)
        for key, grade in (("kind_modality", 1), ("arch_family", 2), ("twin_group", 3)):
            qk, ik = _codes(qa, ia, key)
            hit = (qk[:, None] == ik[None, :]) & (qk[:, None] >= 0)
            out[hit] = grade
        return out

    def _load_twins(self, twins: Mapping[str, Any]) -> None:
        if not isinstance(twins, Mapping):
            raise SchemaError("twins.yaml: expected a mapping with `pairs: [[model_id, model_id], ...]`")
        parent: dict[str, str] = {}

        def find(x: str) -> str:
            while parent.setdefault(x, x) != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for i, pair in enumerate(twins.get("pairs") or []):
            a, b = _pair(pair, f"twins.yaml: pairs[{i}]")
            self.pairs.append((a, b))
            parent[find(a)] = find(b)
        for i, entry in enumerate(twins.get("near") or []):
            a, b = _pair((entry or {}).get("pair"), f"twins.yaml: near[{i}]")
            self.near.append((a, b, str(entry.get("why", ""))))
        roots = sorted({find(m) for m in parent})
        index = {r: k for k, r in enumerate(roots)}
        self._group = {m: index[find(m)] for m in parent}


def _grade(a: ArchLabel, b: ArchLabel) -> int:
    if a.twin_group >= 0 and a.twin_group == b.twin_group:
        return 3
    if a.arch_family != OTHER and a.arch_family == b.arch_family:
        return 2
    if UNKNOWN not in (a.kind, a.modality) and (a.kind, a.modality) == (b.kind, b.modality):
        return 1
    return 0


def _codes(qa: list[ArchLabel], ia: list[ArchLabel], key: str) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of one key for queries and items; -1 where the key cannot match anything."""
    def value(x: ArchLabel) -> Any:
        if key == "twin_group":
            return x.twin_group if x.twin_group >= 0 else None
        if key == "arch_family":
            return x.arch_family if x.arch_family != OTHER else None
        return None if UNKNOWN in (x.kind, x.modality) else (x.kind, x.modality)

    table: dict[Any, int] = {}
    q = np.array([table.setdefault(v, len(table)) if (v := value(x)) is not None else -1 for x in qa], dtype=np.int64)
    i = np.array([table.setdefault(v, len(table)) if (v := value(x)) is not None else -1 for x in ia], dtype=np.int64)
    return q, i


def _fields(item: Any) -> tuple[str, str, str, str]:
    """``(model_id, family, coarse, task)`` of a Graph-like, a mapping or a tuple."""
    if isinstance(item, tuple):
        values = [str(v) for v in item] + ["", "", UNKNOWN, ""][len(item):]
        return values[0], values[1], values[2] or UNKNOWN, values[3]
    get = item.get if isinstance(item, Mapping) else lambda k, d=None: getattr(item, k, d)
    model_id, family = get("model_id"), get("family")
    if model_id is None or family is None:
        raise SchemaError(f"Cannot grade {item!r}: pass a Graph, a mapping with model_id and family, "
                          "or a (model_id, family) tuple")
    return str(model_id), str(family), str(get("coarse", UNKNOWN) or UNKNOWN), str(get("task", "") or "")


def _family(name: str, spec: Mapping[str, Any], path: str) -> Family:
    where = f"{path}: families.{name}"
    kind, mod = str(spec.get("kind", "")), str(spec.get("modality", ""))
    if kind not in KINDS:
        raise SchemaError(f"{where}: kind {kind!r} is not one of {', '.join(KINDS)}")
    if mod not in MODALITIES:
        raise SchemaError(f"{where}: modality {mod!r} is not one of {', '.join(MODALITIES)}")
    rule = str(spec.get("rule", "")).strip()
    if not rule:
        raise SchemaError(f"{where}: give a `rule` (the design that makes its members one family)")
    return Family(name, kind, mod, rule, tuple(str(v).lower() for v in spec.get("labels") or []))


def _compile(pattern: Any, where: str) -> re.Pattern[str]:
    try:
        return re.compile(str(pattern))
    except re.error as e:
        raise SchemaError(f"{where}: bad pattern {pattern!r}: {e}") from None


def _pair(pair: Any, where: str) -> tuple[str, str]:
    if not (isinstance(pair, (list, tuple)) and len(pair) == 2 and all(isinstance(p, str) and ":" in p for p in pair)):
        raise SchemaError(f"{where}: expected two model ids like [torchvision:resnet50, timm:resnet50], got {pair!r}")
    if pair[0] == pair[1]:
        raise SchemaError(f"{where}: a model is not its own twin ({pair[0]})")
    return str(pair[0]), str(pair[1])


def _read_yaml(path: Path, what: str) -> Any:
    try:
        return yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise SchemaError(f"{what} not found at {path}; point NAR_TAXONOMY / NAR_TWINS at the files") from None
    except yaml.YAMLError as e:
        raise SchemaError(f"{what} {path} is not valid YAML: {e}") from None


@functools.lru_cache(maxsize=4)
def load_taxonomy(path: str | os.PathLike | None = None, twins: str | os.PathLike | None = None) -> Taxonomy:
    """The taxonomy (default ``$NAR_TAXONOMY`` or the catalog's) with its twin table; cached."""
    path = Path(path or os.environ.get("NAR_TAXONOMY") or TAXONOMY_FILE)
    twins = Path(twins or os.environ.get("NAR_TWINS") or TWINS_FILE)
    twin_data = _read_yaml(twins, "Twin table") if twins.is_file() else None
    return Taxonomy(_read_yaml(path, "Taxonomy"), twin_data, str(path))


def arch_family(model_id: str, family: str) -> str:
    """The design a model belongs to (see `Taxonomy.arch_family`)."""
    return load_taxonomy().arch_family(model_id, family)


def coarse_kind(model_id: str, family: str, coarse: str = UNKNOWN) -> str:
    """Coarse kind of the model's arch_family (see `Taxonomy.coarse_kind`)."""
    return load_taxonomy().coarse_kind(model_id, family, coarse)


def modality(model_id: str, family: str, task: str = "") -> str:
    """Modality of the model's arch_family (see `Taxonomy.modality`)."""
    return load_taxonomy().modality(model_id, family, task)


def describe(item: Any) -> ArchLabel:
    """`ArchLabel` of an item (see `Taxonomy.describe`)."""
    return load_taxonomy().describe(item)


def relevance(a: Any, b: Any) -> int:
    """Graded relevance of two items: 3 twin, 2 same arch_family, 1 same coarse kind and modality, 0 other."""
    return load_taxonomy().relevance(a, b)


def relevance_matrix(queries: Sequence[Any], items: Sequence[Any] | None = None) -> np.ndarray:
    """All grades between ``queries`` and ``items`` at once (see `Taxonomy.relevance_matrix`)."""
    return load_taxonomy().relevance_matrix(queries, items)


def twins_of(model_id: str) -> frozenset[str]:
    """The model ids that are the same architecture as ``model_id`` in another library or on the Hub."""
    return load_taxonomy().twins_of(model_id)


def twin_pairs() -> list[tuple[str, str]]:
    """The curated twin pairs, as listed in ``twins.yaml``."""
    return list(load_taxonomy().pairs)
