"""Real builds of the query forms that trace a model (slow: each imports torch and its library)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from nar.query import QueryContext, resolve
from nar_data.testing.hub_fixtures import generate_repos
from nar_data.testing.hub_server import HubServer, running_hub

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def hub() -> Iterator[HubServer]:
    with running_hub(generate_repos(80)) as server:
        yield server


@pytest.mark.parametrize("query, library", [
    ("hf:timm/resnet18.a1_in1k", "timm"),
    ("hf:sentence-transformers/all-MiniLM-L6-v2", "sentence-transformers"),
    ("hf:Qwen/Qwen2.5-0.5B", "transformers"),
])
def test_hub_repos_build_and_trace(hub: HubServer, query: str, library: str) -> None:
    ctx = QueryContext(endpoint=hub.url)
    graph = resolve(query, ctx).graph(ctx)
    assert graph.model_id == query and graph.num_nodes > 10


def test_remote_code_builds_only_when_trusted_in_a_worker(hub: HubServer) -> None:
    ctx = QueryContext(trust_remote_code=True, endpoint=hub.url)
    r = resolve("hf:nar-fixtures/remote-code-llm", ctx)
    graph = r.graph(ctx)
    assert "embedding" in graph.op_name and "linear" in graph.op_name
    import sys

    assert not any(m.startswith("transformers_modules") for m in sys.modules)  # the code ran elsewhere


def test_local_config_and_registry_builds(tmp_path: Path) -> None:
    cfg = {"model_type": "bert", "architectures": ["BertModel"], "hidden_size": 32, "num_hidden_layers": 2,
           "num_attention_heads": 2, "intermediate_size": 64, "vocab_size": 100}
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    ctx = QueryContext()
    graph = resolve(str(tmp_path / "config.json"), ctx).graph(ctx)
    assert graph.model_id == "local:BertModel" and "scaled_dot_product_attention" in graph.op_name
    assert resolve("timm:resnet18", ctx).graph(ctx).model_id == "timm:resnet18"
