"""A client-side call budget that keeps a crawl under the Hub's published quotas.

The Hub allows, per 5-minute window, 500 API calls anonymously and 1 000 with a free token; file
downloads ("resolvers") are counted apart, with a larger allowance. A crawl that runs for years must
stay under these on its own, not learn them from 429s. `CallBudget` keeps a sliding window of call
times per kind, waits (or raises `BudgetExhaustedError`) before a call would exceed it, and also
obeys what the server says in its ``RateLimit`` headers. Its window survives restarts: the crawl
state persists `snapshot()` and a resumed crawl `restore()`s it, so kill-and-resume cannot cheat.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import BudgetExhaustedError

__all__ = ["Quota", "CallBudget", "ANONYMOUS", "WITH_TOKEN", "UNLIMITED", "parse_quota"]

KINDS = ("api", "resolvers")


@dataclass(frozen=True)
class Quota:
    calls: int  # calls allowed per window
    window_s: float = 300.0  # window length, seconds


#: The Hub's published limits (per 5 minutes).
ANONYMOUS = {"api": Quota(500), "resolvers": Quota(3000)}
WITH_TOKEN = {"api": Quota(1000), "resolvers": Quota(5000)}
UNLIMITED = {"api": Quota(10**12), "resolvers": Quota(10**12)}


def parse_quota(text: str) -> dict[str, Quota]:
    """``"api=500/300,resolvers=3000/300"`` -> quotas; ``"none"`` -> `UNLIMITED`."""
    if text.strip().lower() in ("none", "unlimited", "off"):
        return dict(UNLIMITED)
    out = dict(ANONYMOUS)
    for part in filter(None, (p.strip() for p in text.split(","))):
        try:
            kind, spec = part.split("=")
            calls, _, window = spec.partition("/")
            out[kind.strip()] = Quota(int(calls), float(window or 300))
        except ValueError:
            raise ValueError(f"Bad quota {part!r}; expected e.g. 'api=500/300,resolvers=3000/300' or 'none'") from None
    return out


class CallBudget:
    """Sliding-window budget per kind of call (``api``, ``resolvers``).

    Args:
        quotas: limits per kind (default: the anonymous Hub limits).
        on_exhausted: ``"wait"`` sleeps until the window frees a slot; ``"stop"`` raises
            `BudgetExhaustedError` so a scheduled crawl ends cleanly and resumes next time.
        clock, sleep: injectable for tests (wall clock, since windows survive restarts).
    """

    def __init__(self, quotas: dict[str, Quota] | None = None, on_exhausted: str = "wait",
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep) -> None:
        if on_exhausted not in ("wait", "stop"):
            raise ValueError(f"on_exhausted must be 'wait' or 'stop', got {on_exhausted!r}")
        self.quotas = dict(quotas or ANONYMOUS)
        self.on_exhausted = on_exhausted
        self.clock, self.sleep = clock, sleep
        self._calls: dict[str, deque[float]] = {k: deque() for k in self.quotas}
        self._blocked_until: dict[str, float] = {}
        self.spent: Counter[str] = Counter()  # calls made by this process (retries included)
        self.waited_s = 0.0
        self._lock = threading.Lock()

    def _trim(self, kind: str, now: float) -> deque[float]:
        calls = self._calls.setdefault(kind, deque())
        window = self.quotas.get(kind, UNLIMITED["api"]).window_s
        while calls and calls[0] <= now - window:
            calls.popleft()
        return calls

    def used(self, kind: str = "api") -> int:
        """Calls of ``kind`` in the current window (this and earlier runs)."""
        with self._lock:
            return len(self._trim(kind, self.clock()))

    def left(self, kind: str = "api") -> int:
        quota = self.quotas.get(kind, UNLIMITED["api"])
        return max(0, quota.calls - self.used(kind))

    def acquire(self, kind: str = "api") -> None:
        """Account one call of ``kind``, first waiting (or raising) until the window allows it."""
        quota = self.quotas.get(kind, UNLIMITED["api"])
        while True:
            with self._lock:
                now = self.clock()
                calls = self._trim(kind, now)
                wait = max(0.0, self._blocked_until.get(kind, 0.0) - now)
                if not wait and len(calls) < quota.calls:
                    calls.append(now)
                    self.spent[kind] += 1
                    return
                if not wait:
                    wait = calls[0] + quota.window_s - now
            if self.on_exhausted == "stop":
                raise BudgetExhaustedError(
                    f"The {kind} budget ({quota.calls} calls / {quota.window_s:.0f}s) is spent; "
                    f"the crawl state is saved, re-run in {wait:.0f}s to resume (or pass --on-budget wait).")
            self.waited_s += wait
            self.sleep(wait)

    def server_says(self, kind: str, remaining: int, reset_s: float) -> None:
        """Obey a ``RateLimit`` header: with nothing remaining, block ``kind`` until the reset."""
        if remaining <= 0:
            with self._lock:
                self._blocked_until[kind] = max(self._blocked_until.get(kind, 0.0), self.clock() + reset_s)

    # -- persistence
    def snapshot(self) -> dict[str, list[float]]:
        with self._lock:
            now = self.clock()
            return {k: list(self._trim(k, now)) for k in self._calls}

    def restore(self, snapshot: dict[str, list[float]]) -> None:
        with self._lock:
            for kind, times in snapshot.items():
                current = self._calls.setdefault(kind, deque())
                if len(times) > len(current):  # the persisted window of an earlier run of this crawl
                    self._calls[kind] = deque(sorted(times))
                self._trim(kind, self.clock())
