"""Fixtures of the Hub tests: fixture repos (session) and a local Hub server per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from nar_data.hub import UNLIMITED, CallBudget, HubClient
from nar_data.testing.hub_fixtures import generate_repos
from nar_data.testing.hub_server import HubRepo, HubServer, running_hub


@pytest.fixture(scope="session")
def fixture_repos() -> list[HubRepo]:
    """320 repos: bases, timm, sentence-transformers, fine-tune families and the bad ones."""
    return generate_repos(320)


@pytest.fixture
def hub(fixture_repos: list[HubRepo]) -> Iterator[HubServer]:
    """A fresh local Hub over deep copies of the fixture repos (tests may commit to them)."""
    import copy

    with running_hub(copy.deepcopy(fixture_repos), page_size=100) as server:
        yield server


@pytest.fixture
def client(hub: HubServer) -> HubClient:
    """An anonymous client of ``hub`` with no client-side quota and instant retries."""
    return HubClient(endpoint=hub.url, token=False, budget=CallBudget(UNLIMITED), backoff_s=0.001)


class FakeClock:
    """A wall clock that only moves when slept on (budget and retry waits without waiting)."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.slept.append(s)
        self.t += s


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
