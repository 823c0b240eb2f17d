"""Who counts as relevant to whom: query groups, graded relevance and twin pairs.

* **Groups**: graphs that are one configuration seen twice are one group: the head variants of a
  transformers config (``BertModel`` / ``BertForMaskedLM``: one body, a different head) and graphs
  with one ``arch_id``. A query's own group is removed from its candidate list altogether (neither
  a hit nor a miss, and it takes no rank): finding your own body under another head says nothing.
* **Grades** (NDCG gains ``2**g - 1``): 3 = twin (the same architecture in another library, or a
  registry model and its Hub checkpoint), 2 = same architecture family, 1 = same coarse kind and
  modality, 0 = other. MAP and MRR count grade >= 2 as relevant. Twin pairs join transitively into
  twin groups (`Relevance.twin_groups`), as the catalog defines them: when ``ViTModel`` and
  ``ViTMSNModel`` are both twins of ``torchvision:vit_b_16``, they are twins of each other.
* **Labels** come from a `Relevance` object. The default (`default_relevance`) reads the fields every
  graph carries (``family``, ``coarse``, ``task``) and finds twins by registry name (``timm:vgg11`` and
  ``torchvision:vgg11``). The product layer passes the curated taxonomy and twin table instead;
  ``nar_model`` only sees its labels and index pairs.

Shapes:
    N graphs -> groups (N,) int, grades (N, N) int8, twins (P, 2) int
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from nar_data.schema import Graph

from .disjoint import DisjointSets

__all__ = ["Relevance", "default_relevance", "head_base", "modality", "query_groups", "twin_pairs"]

UNKNOWN = "unknown"
_HEAD = re.compile(r"^(?P<base>[A-Z][A-Za-z0-9]*?)(?:Model|LMHeadModel|For[A-Z][A-Za-z0-9]*)$")
_MODALITY = (("audio", ("audio", "speech", "asr")), ("video", ("video",)),
             ("vision", ("image", "object", "segment", "depth", "optical", "vision", "keypoint", "zero-shot-image")),
             ("text", ("text", "mask", "token", "question", "translation", "summar", "sentence", "causal",
                       "generation", "feature")))


def head_base(model_id: str) -> str:
    """The configuration a model id stands for: ``transformers:BertForMaskedLM`` -> ``transformers:Bert``.

    Other ids are returned unchanged (a timm or torchvision name already is one configuration).
    """
    source, _, name = model_id.partition(":")
    m = _HEAD.match(name) if source == "transformers" else None
    return f"{source}:{m.group('base')}" if m else model_id


def modality(task: str) -> str:
    """Coarse input modality of a task tag (``image-classification`` -> ``vision``); ``other`` if none fits."""
    t = (task or "").lower()
    for name, keys in _MODALITY:
        if any(k in t for k in keys):
            return name
    return "other"


def query_groups(graphs: Sequence[Graph], extra_keys: Sequence[str] | None = None) -> np.ndarray:
    """(N,) group id: graphs sharing a `head_base`, an ``arch_id`` or an ``extra_keys`` entry are one group."""
    parent = list(range(len(graphs)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    seen: dict[str, int] = {}
    for i, g in enumerate(graphs):
        keys = [f"base:{head_base(g.model_id)}", f"arch:{g.arch_id}"]
        if extra_keys is not None and extra_keys[i]:
            keys.append(f"extra:{extra_keys[i]}")
        for key in keys:
            if key in seen:
                parent[find(i)] = find(seen[key])
            else:
                seen[key] = i
    roots = [find(i) for i in range(len(graphs))]
    _, ids = np.unique(roots, return_inverse=True)
    return ids.astype(np.int64)


_SUFFIX = re.compile(r"[^a-z0-9]")


def twin_pairs(graphs: Sequence[Graph]) -> list[tuple[str, str]]:
    """Cross-library twins found by name alone: the same registry name in timm and torchvision.

    A fallback for when no curated twin table is given; it finds few pairs (``vgg11``, ``densenet121``).
    """
    by_name: dict[str, list[str]] = {}
    for g in graphs:
        source, _, name = g.model_id.partition(":")
        if source in ("timm", "torchvision"):
            by_name.setdefault(_SUFFIX.sub("", name.lower()), []).append(g.model_id)
    out = []
    for ids in by_name.values():
        libs = sorted(set(ids))
        out += [(a, b) for i, a in enumerate(libs) for b in libs[i + 1:] if a.split(":")[0] != b.split(":")[0]]
    return out


@dataclass
class Relevance:
    """Labels that define relevance for a graph set (one entry per graph).

    Attributes:
        family: architecture family of each graph (``unknown`` = never a query, never relevant).
        kind: coarse kind + modality of each graph (grade 1 when equal).
        twins: model-id pairs that are the same architecture (grade 3).
    """

    family: list[str]
    kind: list[str]
    twins: list[tuple[str, str]] = field(default_factory=list)

    def grades(self, graphs: Sequence[Graph], groups: np.ndarray | None = None) -> np.ndarray:
        """(N, N) int8 grades 0..3 (diagonal included; callers drop the query's group). With the query
        ``groups`` (`query_groups`), a twin group holds every head variant of its members."""
        fam = np.asarray(self.family, dtype=object)
        kind = np.asarray(self.kind, dtype=object)
        known = fam != UNKNOWN
        g = np.where(kind[:, None] == kind[None, :], 1, 0).astype(np.int8)
        g[(fam[:, None] == fam[None, :]) & known[:, None] & known[None, :]] = 2
        group = self.twin_groups(graphs, groups)
        twin = (group[:, None] == group[None, :]) & (group[:, None] >= 0)
        g[twin] = 3
        return g

    def twin_groups(self, graphs: Sequence[Graph], groups: np.ndarray | None = None) -> np.ndarray:
        """(N,) twin group of each graph (-1 = in no pair): the listed pairs joined transitively over model ids,
        members absent from ``graphs`` included (a Hub checkpoint can join two registry models), and with
        ``groups`` over the query groups (``BeitForImageClassification`` joins ``BeitModel``'s twins)."""
        sets = DisjointSets()
        for a, b in self.twins:
            sets.union(("id", b), ("id", a))
        listed = [("id", g.model_id) in sets for g in graphs]
        gids = np.asarray(groups).tolist() if groups is not None else [None] * len(graphs)
        for i, gid in enumerate(gids):
            if listed[i] and gid is not None:
                sets.union(("id", graphs[i].model_id), ("group", gid))
        roots = [sets.find(("group", gid)) if ("group", gid) in sets
                 else sets.find(("id", g.model_id)) if listed[i] else None
                 for i, (g, gid) in enumerate(zip(graphs, gids))]
        ids = {r: n for n, r in enumerate(dict.fromkeys(r for r in roots if r is not None))}
        return np.asarray([ids[r] if r is not None else -1 for r in roots], dtype=np.int64)

    def twin_index(self, graphs: Sequence[Graph]) -> np.ndarray:
        """(P, 2) index pairs of the twins whose both members are in ``graphs`` (each pair once)."""
        pos: dict[str, list[int]] = {}
        for i, g in enumerate(graphs):
            pos.setdefault(g.model_id, []).append(i)
        pairs = {(min(i, j), max(i, j)) for a, b in self.twins for i in pos.get(a, []) for j in pos.get(b, [])
                 if i != j}
        return np.asarray(sorted(pairs), dtype=np.int64).reshape(-1, 2)


def default_relevance(graphs: Sequence[Graph],
                      family_of: Callable[[Graph], str] | None = None) -> Relevance:
    """`Relevance` from the graphs' own fields: ``family``, ``coarse`` + `modality` (task), name twins."""
    fam = [family_of(g) if family_of else (g.family or UNKNOWN) for g in graphs]
    kind = [f"{g.coarse or UNKNOWN}/{modality(g.task)}" for g in graphs]
    return Relevance(fam, kind, twin_pairs(graphs))

