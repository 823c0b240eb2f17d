from __future__ import annotations

import pytest

from nar_data.errors import BudgetExhaustedError
from nar_data.hub.budget import CallBudget, Quota, parse_quota


def test_window_waits_until_a_slot_frees(clock) -> None:
    budget = CallBudget({"api": Quota(3, 10.0)}, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        budget.acquire("api")
    assert budget.left("api") == 0 and clock.slept == []
    budget.acquire("api")  # must wait for the first call to leave the window
    assert clock.slept == [pytest.approx(10.0)]
    assert budget.spent["api"] == 4


def test_stop_policy_raises_with_a_resume_hint(clock) -> None:
    budget = CallBudget({"api": Quota(1, 60.0)}, on_exhausted="stop", clock=clock, sleep=clock.sleep)
    budget.acquire("api")
    with pytest.raises(BudgetExhaustedError, match="re-run"):
        budget.acquire("api")


def test_kinds_are_counted_apart(clock) -> None:
    budget = CallBudget({"api": Quota(1, 60.0), "resolvers": Quota(2, 60.0)}, clock=clock, sleep=clock.sleep)
    budget.acquire("api")
    budget.acquire("resolvers")
    budget.acquire("resolvers")
    assert clock.slept == [] and budget.left("api") == 0 and budget.left("resolvers") == 0


def test_snapshot_survives_a_restart(clock) -> None:
    first = CallBudget({"api": Quota(2, 60.0)}, clock=clock, sleep=clock.sleep)
    first.acquire("api")
    first.acquire("api")
    second = CallBudget({"api": Quota(2, 60.0)}, clock=clock, sleep=clock.sleep)
    second.restore(first.snapshot())
    assert second.left("api") == 0
    clock.t += 61
    assert second.left("api") == 2


def test_server_rate_limit_header_blocks_until_reset(clock) -> None:
    budget = CallBudget({"api": Quota(100, 60.0)}, clock=clock, sleep=clock.sleep)
    budget.server_says("api", remaining=0, reset_s=7)
    budget.acquire("api")
    assert sum(clock.slept) == pytest.approx(7)


def test_parse_quota() -> None:
    q = parse_quota("api=1000/300,resolvers=5000")
    assert q["api"] == Quota(1000, 300.0) and q["resolvers"] == Quota(5000, 300.0)
    assert parse_quota("none")["api"].calls > 10**9
    with pytest.raises(ValueError, match="expected"):
        parse_quota("api=lots")
