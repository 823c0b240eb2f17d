"""HubCrawler against the local Hub: economy, incremental re-crawls, resumption, failures, storms."""

from __future__ import annotations

import copy
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from nar_data.hub import UNLIMITED, CallBudget, CrawlQuery, CrawlState, HubClient, HubCrawler, refs_from_state
from nar_data.parquet import read_table
from nar_data.testing.hub_fixtures import mutate_repo
from nar_data.testing.hub_server import HubServer, running_hub

EXPECTED_FAILURES = {
    "nar-fixtures/malformed-config": "MalformedConfigError",
    "nar-fixtures/no-config": "MissingConfigError",
    "nar-fixtures/gated-model": "GatedRepoError",
    "nar-fixtures/remote-code-llm": "RemoteCodeError",
    "nar-fixtures/huge-config": "ConfigTooLargeError",
    "nar-fixtures/missing-config": "EntryNotFoundError",
    "nar-fixtures/diffusion-pipeline": "UnsupportedLibraryError",
    "nar-fixtures/llama-gguf": "UnsupportedLibraryError",
    "nar-fixtures/config-not-a-dict": "MalformedConfigError",
    "nar-fixtures/timm-no-architecture": "MalformedConfigError",
    "meta-llama/Llama-3.2-1B": "GatedRepoError",
    "google/gemma-2b": "GatedRepoError",
}


def crawl(out: Path, client: HubClient, query: CrawlQuery = CrawlQuery(page_size=100), **kwargs: Any):
    return HubCrawler(out, client, canonical_configs=False, **kwargs).crawl(query)


def rows(out: Path, table: str) -> list[tuple]:
    """Rows without the write time, sorted: what two crawls must agree on."""
    data = read_table(out, table).to_pylist()
    return sorted(tuple((k, str(v)) for k, v in r.items() if k != "updated_at") for r in data)


def test_first_crawl_rows_failures_and_economy(tmp_path: Path, hub: HubServer, client: HubClient) -> None:
    s = crawl(tmp_path, client)
    n = len(hub.repos)
    models = read_table(tmp_path, "models").to_pylist()
    failures = read_table(tmp_path, "failures").to_pylist()
    assert s.listed == s.new == len(models) == n and s.done
    assert {f["model_id"].removeprefix("hf:"): f["error_class"] for f in failures} == EXPECTED_FAILURES
    stages = {f["model_id"].removeprefix("hf:"): f["stage"] for f in failures}
    assert stages["nar-fixtures/remote-code-llm"] == "list"  # refused from the listing, nothing built
    assert stages["nar-fixtures/diffusion-pipeline"] == "list"
    assert stages["nar-fixtures/huge-config"] == "fetch" and stages["nar-fixtures/malformed-config"] != "list"
    assert all(m["status"] == "failed" for m in models if m["model_id"].removeprefix("hf:") in EXPECTED_FAILURES)
    ok = [m for m in models if m["status"] != "failed"]
    assert all(m["config_hash"] for m in ok) and all(m["status"] == "pending" for m in ok)
    # API economy: pages + one config fetch per new config hash (plus repos the fingerprint cannot
    # cover: no parameter count in the listing, or a fetch that failed)
    assert s.api_calls == s.pages == hub.calls["list_models"] == -(-n // 100)
    no_params = sum(1 for r in hub.repos.values() if not r.meta.get("safetensors_total") and "config.json" in r.files)
    assert s.config_fetches == s.resolver_calls == hub.calls["resolve"]
    assert s.new_configs <= s.config_fetches <= s.new_configs + no_params
    assert s.new_configs < n / 2  # fine-tune families collapse
    # fine-tunes that only change names / dtypes / label maps share their base's config hash
    by_id = {m["model_id"]: m for m in models}
    base = by_id["hf:google-bert/bert-base-uncased"]["config_hash"]
    dtype_children = [r for r in hub.repos.values() if "base_model:finetune:google-bert/bert-base-uncased"
                      in r.meta["tags"] and b'"BertForMaskedLM"' in r.files["config.json"]
                      and b"num_hidden_layers\": 12" in r.files["config.json"]]
    assert dtype_children and all(by_id[f"hf:{r.repo_id}"]["config_hash"] == base for r in dtype_children
                                   if b'"vocab_size": 30522' in r.files["config.json"])


def test_recrawl_spends_pages_only_and_incremental_fetches_changed(tmp_path: Path, hub: HubServer,
                                                                    client: HubClient) -> None:
    first = crawl(tmp_path, client)
    again = crawl(tmp_path, client)
    assert again.unchanged == first.listed and again.resolver_calls == 0 and again.api_calls == first.pages
    assert len(read_table(tmp_path, "models")) == first.listed  # nothing appended
    changed = [r for r in hub.repos.values() if "config.json" in r.files][::40]
    for repo in changed:
        mutate_repo(repo)
    third = crawl(tmp_path, client)
    assert third.changed == len(changed) and third.new == 0
    assert third.api_calls == first.pages and third.resolver_calls <= len(changed)
    latest = {m["model_id"]: m["sha"] for m in read_table(tmp_path, "models").to_pylist()}
    assert all(latest[f"hf:{r.repo_id}"] == r.sha for r in changed)


class Killed(Exception):
    pass


def test_interrupted_crawl_resumes_to_the_same_tables(tmp_path: Path, hub: HubServer, client: HubClient) -> None:
    reference = tmp_path / "ref"
    crawl(reference, client)
    out = tmp_path / "killed"
    pages = 0

    def die_after_two(summary: Any, _client: Any) -> None:
        nonlocal pages
        pages += 1
        if pages == 2:
            raise Killed

    with pytest.raises(Killed):
        crawl(out, client, progress=die_after_two)
    resumed = crawl(out, client)
    assert resumed.resumed and resumed.done
    assert rows(out, "models") == rows(reference, "models")
    assert rows(out, "failures") == rows(reference, "failures")


def test_kill_between_shards_and_commit_redoes_the_page_without_duplicates(
        tmp_path: Path, hub: HubServer, client: HubClient, monkeypatch: pytest.MonkeyPatch) -> None:
    reference = tmp_path / "ref"
    crawl(reference, client)
    out = tmp_path / "out"
    original = CrawlState.transaction
    calls = {"n": 0}

    def flaky(self: CrawlState):  # the 3rd page's rows are on disk, its commit never happens
        calls["n"] += 1
        if calls["n"] == 4:  # (1 = start_run)
            raise Killed
        return original(self)

    monkeypatch.setattr(CrawlState, "transaction", flaky)
    with pytest.raises(Killed):
        crawl(out, client)
    monkeypatch.setattr(CrawlState, "transaction", original)
    crawl(out, client)
    assert rows(out, "models") == rows(reference, "models")
    assert rows(out, "failures") == rows(reference, "failures")


def test_429_storm_completes_with_the_same_result(tmp_path: Path, fixture_repos: list) -> None:
    with running_hub(copy.deepcopy(fixture_repos), page_size=100) as calm:
        crawl(tmp_path / "calm", HubClient(endpoint=calm.url, token=False, budget=CallBudget(UNLIMITED)))
    with running_hub(copy.deepcopy(fixture_repos), page_size=100, rate_limit_fraction=0.3, seed=1) as storm:
        client = HubClient(endpoint=storm.url, token=False, budget=CallBudget(UNLIMITED), backoff_s=0.001)
        s = crawl(tmp_path / "storm", client)
        assert storm.statuses[429] > 10 and s.retries == storm.statuses[429]
    assert rows(tmp_path / "storm", "models") == rows(tmp_path / "calm", "models")
    assert rows(tmp_path / "storm", "failures") == rows(tmp_path / "calm", "failures")


def test_filters_limit_and_min_downloads(tmp_path: Path, hub: HubServer, client: HubClient) -> None:
    s = crawl(tmp_path / "a", client, CrawlQuery(author="timm"))
    assert s.listed == sum(1 for r in hub.repos.values() if r.repo_id.startswith("timm/"))
    s = crawl(tmp_path / "b", client, CrawlQuery(limit=7, page_size=5))
    assert s.listed == 7 and s.done and len(read_table(tmp_path / "b", "models")) == 7
    s = crawl(tmp_path / "c", client, CrawlQuery(pipeline_tag="fill-mask", min_downloads=20))
    kept = read_table(tmp_path / "c", "models").to_pylist()
    assert s.filtered > 0 and all(m["downloads"] >= 20 and m["pipeline_tag"] == "fill-mask" for m in kept)


def test_opt_ins_remote_code_token_and_cards(tmp_path: Path, hub: HubServer) -> None:
    client = HubClient(endpoint=hub.url, token="hf_test", budget=CallBudget(UNLIMITED))
    crawl(tmp_path, client, trust_remote_code=True, fetch_cards=True)
    failures = {f["model_id"].removeprefix("hf:"): f["error_class"] for f in read_table(tmp_path, "failures").to_pylist()}
    assert "nar-fixtures/remote-code-llm" not in failures and "nar-fixtures/gated-model" not in failures
    assert failures["nar-fixtures/malformed-card"] == "MalformedCardError"
    remote = [r for r in refs_from_state(tmp_path) if r.name == "nar-fixtures/remote-code-llm"]
    assert remote and remote[0].meta["trust_remote_code"] and remote[0].meta["kind"].startswith("remote.")


def test_refs_carry_configs_and_hashes(tmp_path: Path, hub: HubServer, client: HubClient) -> None:
    s = crawl(tmp_path, client)
    reps = list(refs_from_state(tmp_path, representatives_only=True))
    assert len(reps) == s.new_configs == len({r.config_hash for r in reps})
    allrefs = list(refs_from_state(tmp_path))
    ok = [m for m in read_table(tmp_path, "models").to_pylist() if m["status"] != "failed"]
    assert len(allrefs) == len(ok)
    first_of_hash: dict[str, str] = {}
    for r in allrefs:
        first_of_hash.setdefault(r.config_hash, r.name)
        assert r.config and r.source == "hf" and r.revision
    assert set(first_of_hash.values()) == {r.name for r in reps}  # the representative comes first
    timm = next(r for r in reps if r.library == "timm")
    assert set(timm.config) == {"architecture", "model_args", "input_size"}
    assert Counter(r.library for r in reps)["sentence-transformers"] >= 1
