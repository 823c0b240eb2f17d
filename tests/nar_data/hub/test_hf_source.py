"""The ``hf`` source: refs from a crawl, and builds dispatched by library without weights or repo code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nar_data.errors import RemoteCodeError, SourceError, UnsupportedLibraryError
from nar_data.hub import CrawlQuery, HubClient, HubCrawler
from nar_data.sources import Built, ModelRef, get_source
from nar_data.hub.source import HfHubSource, build_hf
from nar_data.testing.hub_server import HubServer


def test_registered_and_iter_refs_reads_a_crawl(tmp_path: Path, hub: HubServer, client: HubClient) -> None:
    assert isinstance(get_source("hf"), HfHubSource)
    HubCrawler(tmp_path, client, canonical_configs=False).crawl(CrawlQuery(author="timm"))
    refs = list(HfHubSource(data=tmp_path).iter_refs())
    assert refs and all(r.source == "hf" and r.library == "timm" and r.config_hash for r in refs)
    assert len(list(HfHubSource().iter_refs(data=tmp_path, limit=2))) == 2
    with pytest.raises(SourceError, match="nar crawl"):  # never an accidental crawl of the real Hub
        next(HfHubSource(data=tmp_path / "empty").iter_refs())


def _spy(monkeypatch: pytest.MonkeyPatch, module: str, name: str) -> list[tuple[Any, ...]]:
    import importlib

    calls: list[tuple[Any, ...]] = []
    mod = importlib.import_module(module)
    monkeypatch.setattr(mod, name, lambda *a, **k: calls.append((a, k)) or Built(module=None))  # type: ignore[arg-type]
    return calls


def test_build_dispatches_by_library(monkeypatch: pytest.MonkeyPatch) -> None:
    tf = _spy(monkeypatch, "nar_data.sources.transformers", "build_from_config")
    tm = _spy(monkeypatch, "nar_data.sources.timm", "build_timm")
    cfg = {"model_type": "bert", "architectures": ["BertForSequenceClassification"]}
    build_hf(ModelRef("hf", "a/b", library="transformers", task="text-classification", config=cfg,
                      meta={"kind": "transformers.BertForSequenceClassification"}))
    assert tf[-1] == ((cfg,), {"architecture": "BertForSequenceClassification", "task": "text-classification"})
    build_hf(ModelRef("hf", "a/st", library="sentence-transformers", task="sentence-similarity", config=cfg,
                      meta={"kind": "transformers.auto:sentence-similarity"}))
    assert tf[-1] == ((cfg,), {"architecture": None, "task": None})  # the underlying transformer (AutoModel)
    timm_cfg = {"architecture": "resnet50", "model_args": {}, "input_size": [3, 224, 224]}
    build_hf(ModelRef("hf", "timm/resnet50.a1_in1k", library="timm", config=timm_cfg))
    assert tm[-1] == (("resnet50", {}, {"input_size": [3, 224, 224]}), {})


def test_unsupported_and_remote_code_are_refused() -> None:
    with pytest.raises(UnsupportedLibraryError, match="diffusers"):
        build_hf(ModelRef("hf", "a/sd", library="diffusers", config={}))
    remote = ModelRef("hf", "a/custom", library="transformers", config={"model_type": "x", "auto_map": {"AutoModel": "m.M"}})
    with pytest.raises(RemoteCodeError, match="trust_remote_code"):
        HfHubSource().build(remote)


@pytest.mark.slow
def test_real_builds_on_meta(tmp_path: Path, hub: HubServer, client: HubClient) -> None:
    """One timm and one transformers repo of the local Hub, built for real (imports timm and transformers)."""
    HubCrawler(tmp_path, client).crawl(CrawlQuery(search="test_vit"))
    HubCrawler(tmp_path, client).crawl(CrawlQuery(search="electra-small-discriminator", limit=1))
    refs = {r.name: r for r in HfHubSource(data=tmp_path).iter_refs()}
    for name in ("timm/test_vit.r160_in1k", "google/electra-small-discriminator"):
        built = HfHubSource().build(refs[name])
        assert all(p.device.type == "meta" for p in built.module.parameters())


@pytest.mark.slow
def test_crawl_then_trace_fills_every_row(tmp_path: Path, hub: HubServer, client: HubClient) -> None:
    """Crawl -> tracing pool: one trace per config hash, every crawled repo ends `ok` with an arch_id."""
    from nar_data.parquet import read_table
    from nar_data.dataset import trace_to_dataset

    HubCrawler(tmp_path, client).crawl(CrawlQuery(search="test_vit"))
    refs = list(HfHubSource(data=tmp_path).iter_refs())
    summary = trace_to_dataset(refs, tmp_path, workers=1)
    assert summary.traced == len({r.config_hash for r in refs}) and summary.failed == 0
    latest = {r["model_id"]: r for r in read_table(tmp_path, "models").to_pylist()}
    assert len(latest) == len(refs) and all(r["status"] == "ok" and r["arch_id"] for r in latest.values())


@pytest.mark.slow
def test_opted_in_remote_code_builds_from_the_repo_code(tmp_path: Path, hub: HubServer) -> None:
    """--trust-remote-code: the worker downloads the repo's .py files at the crawled sha and builds on meta."""
    client = HubClient(endpoint=hub.url, token=False)
    HubCrawler(tmp_path, client, trust_remote_code=True).crawl(CrawlQuery(search="remote-code-llm"))
    (ref,) = list(HfHubSource(data=tmp_path).iter_refs())
    assert ref.meta["code_files"] == ["configuration_nar.py", "modeling_nar.py"]
    with pytest.raises(RemoteCodeError):  # the opt-in is the crawl's, recorded in the ref; without it: refused
        build_hf(ModelRef("hf", ref.name, library="transformers", config=ref.config, meta={"kind": ref.meta["kind"]}))
    built = HfHubSource().build(ref)
    assert type(built.module).__name__ == "NarCustomForCausalLM"
    assert all(p.device.type == "meta" for p in built.module.parameters())
    out = built.module(*built.args, **built.kwargs)
    assert out.shape[-1] == 128
