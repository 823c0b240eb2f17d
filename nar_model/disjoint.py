"""Disjoint sets (union-find) over hashable keys, shared by the bench's twin groups (`relevance`) and split
units (`splits`). (`nar_data.taxonomy` keeps its own: nar_data may not import nar_model.)"""

from __future__ import annotations

from collections.abc import Hashable, Iterable

__all__ = ["DisjointSets"]


class DisjointSets:
    """Union-find with path halving; a key is added the first time it is seen."""

    def __init__(self, keys: Iterable[Hashable] = ()) -> None:
        self.parent: dict[Hashable, Hashable] = {k: k for k in keys}

    def __contains__(self, key: Hashable) -> bool:
        return key in self.parent

    def __iter__(self):
        return iter(self.parent)

    def find(self, key: Hashable) -> Hashable:
        parent = self.parent
        while parent.setdefault(key, key) != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    def union(self, keep: Hashable, other: Hashable) -> None:
        """Join the sets of ``keep`` and ``other``; the root of ``keep``'s set stays the root."""
        a, b = self.find(keep), self.find(other)
        if a != b:
            self.parent[b] = a
