"""Shared fixtures of the source tests: the transformers source and a build-and-trace helper."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


@pytest.fixture(scope="module")
def source() -> Any:
    pytest.importorskip("transformers")
    from nar_data.sources import get_source

    return get_source("transformers")


@pytest.fixture(scope="module")
def traced(source: Any) -> Callable[[str, str], tuple[Any, Any, Any]]:
    """``traced(class_name, model_type) -> (ref, built, graph)``: the one ref, built on meta and traced."""
    from nar_data.tracing import trace_module

    def run(name: str, model_type: str) -> tuple[Any, Any, Any]:
        refs = list(source.iter_refs(model_types=[model_type], names=[name]))
        assert len(refs) == 1, refs
        built = source.build(refs[0])
        graph = trace_module(built.module, built.args, built.kwargs, model_id=refs[0].model_id,
                             source="transformers", config_hash=refs[0].config_hash, builder=built.builder)
        return refs[0], built, graph

    return run
