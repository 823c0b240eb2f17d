"""Relevance as the catalog defines it: taxonomy families, kind + modality and the curated twin table.

`nar_model.relevance.Relevance` holds labels only; this is where the product layer fills them from
``nar_data.taxonomy`` (the bench, ``nar eval`` and the train flow's evaluate step all measure with it).
"""

from __future__ import annotations

from collections.abc import Sequence

from nar_data import taxonomy
from nar_data.schema import Graph
from nar_model.relevance import Relevance, twin_pairs

__all__ = ["SOURCE", "catalog_relevance"]

#: How the labels were made, as the bench's JSON records it.
#: A change of what the labels mean changes it, so that `retrieval_bench.py --reuse` refuses older rows.
SOURCE = "nar_data.taxonomy twin groups (+ same-name timm/torchvision twins)"


def catalog_relevance(graphs: Sequence[Graph]) -> Relevance:
    """`Relevance` of ``graphs``: `taxonomy.arch_family`, coarse kind / modality, curated + name twins."""
    fam = [taxonomy.arch_family(g.model_id, g.family) for g in graphs]
    kind = [f"{taxonomy.coarse_kind(g.model_id, g.family, g.coarse)}/{taxonomy.modality(g.model_id, g.family, g.task)}"
            for g in graphs]
    twins = sorted(set(taxonomy.twin_pairs()) | set(twin_pairs(graphs)))
    return Relevance(fam, kind, twins)
