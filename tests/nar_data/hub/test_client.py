"""HubClient: budget accounting, 429 / 5xx retries, typed errors, token hygiene."""

from __future__ import annotations

import logging

import pytest

from nar_data import errors
from nar_data.hub import UNLIMITED, CallBudget, HubClient
from nar_data.testing.hub_server import HubServer, running_hub


def test_pages_follow_the_cursor_and_count_api_calls(hub: HubServer, client: HubClient) -> None:
    pages = list(client.list_pages([("limit", 100)]))
    assert sum(len(p.items) for p in pages) == len(hub.repos)
    assert pages[-1].next_path is None and all(p.next_path for p in pages[:-1])
    assert client.budget.spent["api"] == len(pages) == hub.calls["list_models"]
    # a stored cursor resumes at that page, on any endpoint
    rest = list(client.list_pages([], next_path=pages[1].next_path))
    assert [p.items for p in rest] == [p.items for p in pages[2:]]


def test_download_is_a_resolver_call(hub: HubServer, client: HubClient) -> None:
    data = client.download("google-bert/bert-base-uncased", "config.json")
    assert data == hub.repo("google-bert/bert-base-uncased").files["config.json"]
    assert client.budget.spent == {"resolvers": 1}


def test_typed_errors(client: HubClient) -> None:
    with pytest.raises(errors.GatedRepoError):
        client.download("nar-fixtures/gated-model", "config.json")
    with pytest.raises(errors.EntryNotFoundError):
        client.download("nar-fixtures/missing-config", "config.json")
    with pytest.raises(errors.RepoNotFoundError):
        client.model_info("nobody/nothing")
    with pytest.raises(errors.ConfigTooLargeError):
        client.download("nar-fixtures/huge-config", "config.json", max_bytes=100_000)


def test_429_storm_and_5xx_are_retried(fixture_repos: list) -> None:
    with running_hub(fixture_repos[:50], rate_limit_fraction=0.3, error_fraction=0.1, seed=3) as hub:
        client = HubClient(endpoint=hub.url, token=False, budget=CallBudget(UNLIMITED), backoff_s=0.001)
        for repo in fixture_repos[:30]:
            if "config.json" in repo.files and not repo.meta.get("gated") and not repo.meta.get("missing_files"):
                assert client.download(repo.repo_id, "config.json") == repo.files["config.json"]
        assert client.responses[429] > 0 and client.responses[503] > 0
        assert hub.statuses[429] == client.responses[429]


def test_rate_limit_headers_are_obeyed(fixture_repos: list, clock) -> None:  # noqa: ANN001
    with running_hub(fixture_repos[:5], rate_limit_fraction=1.0, retry_after=2) as hub:
        client = HubClient(endpoint=hub.url, token=False, max_retries=2, sleep=clock.sleep,
                           budget=CallBudget(UNLIMITED, clock=clock, sleep=clock.sleep))
        with pytest.raises(errors.HubError, match="re-run to resume"):
            client.model_info(fixture_repos[0].repo_id)
        assert hub.statuses[429] == 3
    # the server said "r=0;t=2": each retry waits those 2 s (none of the library's fixed 1 s+ sleeps)
    assert clock.slept == [pytest.approx(2.0)] * 2


def test_token_is_sent_but_never_shown(hub: HubServer, caplog: pytest.LogCaptureFixture,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_secret_value_123")
    caplog.set_level(logging.DEBUG)
    client = HubClient(endpoint=hub.url, budget=CallBudget(UNLIMITED))
    assert client.has_token and "hf_secret" not in repr(client)
    client.download("nar-fixtures/gated-model", "config.json")  # the token opens the gated repo
    assert "Bearer hf_secret_value_123" in hub.seen_authorization
    with pytest.raises(errors.RepoNotFoundError) as exc:
        client.model_info("nobody/nothing")
    assert "hf_secret" not in str(exc.value) and "hf_secret" not in caplog.text
