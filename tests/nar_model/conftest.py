"""Fixtures of the nar_model tests: hand-written tiny graph families (no tracing, milliseconds to build)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from nar_data.schema import Graph
from nar_data import hand
from nar_data.hand import BLOCK_FAMILIES


def block_graph(block: list[str], residual: bool, repeats: int, width: int, family: str, coarse: str,
                model_id: str, stem: tuple[str, ...] = ("conv2d",)) -> Graph:
    """input -> stem -> ``repeats`` x block (optionally with a residual add) -> mean -> linear -> output."""
    return hand.block_graph(block, residual, repeats, width, model_id, stem, family=family, coarse=coarse,
                            source="hand")


FAMILIES = BLOCK_FAMILIES


def tiny_families(per_family: int = 4) -> list[Graph]:
    graphs = []
    for fam, (block, residual, coarse) in FAMILIES.items():
        for i in range(per_family):
            graphs.append(block_graph(block, residual, repeats=2 + i, width=16 * (1 + i % 2), family=fam,
                                      coarse=coarse, model_id=f"hand:{fam}-{i}"))
    return graphs


@pytest.fixture(scope="session")
def tiny_graphs() -> list[Graph]:
    return tiny_families()


@pytest.fixture(scope="session")
def make_block_graph() -> Callable[..., Graph]:
    return block_graph


@pytest.fixture(scope="session")
def make_tiny_families() -> Callable[..., list[Graph]]:
    return tiny_families
