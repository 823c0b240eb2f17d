"""`HubClient`: the crawler's few Hub calls, over the real ``huggingface_hub`` HTTP stack.

It uses ``huggingface_hub``'s shared session, its auth headers (``HF_TOKEN`` or the stored token)
and its error mapping (``hf_raise_for_status`` -> ``GatedRepoError``, ``EntryNotFoundError``, ...),
and adds what a long-running crawl needs on top:

* a client-side `CallBudget` (API calls and resolver calls apart, as the Hub counts them);
* 429s that obey ``RateLimit`` / ``Retry-After`` without the library's fixed 1 s+ sleeps, and
  5xx / network errors retried with capped exponential backoff and jitter;
* listing pages exposed with their ``next`` link, so the crawl state can store the cursor and a killed
  crawl resumes at the page it was on (``HfApi.list_models`` hides the cursor);
* streamed file downloads with a size cap (a 3 MB "config" is refused after the first chunk).

The token is sent only in the ``Authorization`` header and never logged or put in errors.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .. import errors
from .budget import ANONYMOUS, WITH_TOKEN, CallBudget

logger = logging.getLogger(__name__)

__all__ = ["HubClient", "Page", "LIST_EXPAND"]

#: Fields the crawler asks the listing for (one call per page gives all it needs to decide).
LIST_EXPAND = ("sha", "lastModified", "pipeline_tag", "tags", "library_name", "config", "cardData",
               "downloads", "likes", "gated", "safetensors", "siblings")
_RETRY_STATUS = (500, 502, 503, 504, 408)


@dataclass
class Page:
    items: list[dict[str, Any]]
    next_path: str | None  # path + query of the next page ("/api/models?...&cursor=..."), None at the end


class HubClient:
    """Hub calls with a budget, retries and typed errors.

    Args:
        endpoint: Hub URL (default: ``HF_ENDPOINT`` or https://huggingface.co).
        token: access token; default ``HF_TOKEN`` / the stored login. ``False`` sends none.
        budget: the client-side budget; default: the Hub's quotas for anonymous or token use.
        max_retries: attempts after the first for 429 / 5xx / network errors.
        backoff_s, backoff_max_s: exponential backoff for 5xx and 429s without rate-limit headers.
    """

    def __init__(self, endpoint: str | None = None, token: str | bool | None = None, budget: CallBudget | None = None,
                 max_retries: int = 8, backoff_s: float = 0.5, backoff_max_s: float = 60.0, timeout_s: float = 30.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        from huggingface_hub import constants
        from huggingface_hub.utils import get_token

        self.endpoint = (endpoint or constants.ENDPOINT).rstrip("/")
        self._token: str | None = None if token is False else (token if isinstance(token, str) else get_token())
        self.budget = budget or CallBudget(WITH_TOKEN if self._token else ANONYMOUS)
        self.max_retries, self.backoff_s, self.backoff_max_s = max_retries, backoff_s, backoff_max_s
        self.timeout_s, self.sleep = timeout_s, sleep
        self.responses: Counter[int] = Counter()  # status codes seen (429s and 5xx included)
        self.retry_wait_s = 0.0
        self._rng = random.Random(0)

    def __repr__(self) -> str:  # never show the token
        return f"HubClient(endpoint={self.endpoint!r}, token={'set' if self._token else 'none'})"

    @property
    def has_token(self) -> bool:
        return bool(self._token)

    def _headers(self) -> dict[str, str]:
        from huggingface_hub.utils import build_hf_headers

        return build_hf_headers(token=self._token or False, library_name="nar", library_version="0.1")

    # -- the one request loop
    def request(self, kind: str, method: str, url: str, *, params: Sequence[tuple[str, Any]] | None = None,
                max_bytes: int | None = None) -> tuple[Any, bytes]:
        """``(response, body)`` of one logical call; retries 429 / 5xx / network errors, raises typed errors."""
        import httpx2
        from huggingface_hub.utils import get_session, hf_raise_for_status, parse_ratelimit_headers

        attempt, last = 0, "no response"
        while True:
            self.budget.acquire(kind)
            wait: float | None = None
            try:
                with get_session().stream(method, url, params=params, headers=self._headers(),
                                          timeout=self.timeout_s, follow_redirects=True) as response:
                    self.responses[response.status_code] += 1
                    last = f"HTTP {response.status_code}"
                    info = parse_ratelimit_headers(response.headers)
                    if info is not None:
                        self.budget.server_says(kind, info.remaining, info.reset_in_seconds)
                    if response.status_code == 429:
                        # obey the server: the budget blocks this kind of call until the reset it names
                        after = response.headers.get("Retry-After", "").strip()
                        if info is not None and info.remaining == 0:
                            wait = 0.0
                        elif after.isdigit():
                            self.budget.server_says(kind, 0, float(after))
                            wait = 0.0
                        else:
                            wait = self._backoff(attempt)
                    elif response.status_code in _RETRY_STATUS:
                        wait = self._backoff(attempt)
                    else:
                        body = self._read(response, max_bytes, url)
                        if response.status_code >= 400:
                            response._content = body  # let hf_raise_for_status read the error message
                            self._raise(response, hf_raise_for_status)
                        return response, body
            except (httpx2.TimeoutException, httpx2.NetworkError, httpx2.RemoteProtocolError) as e:
                logger.warning("network error on %s (%s); retrying", _redact(url), type(e).__name__)
                last = type(e).__name__
                wait = self._backoff(attempt)
                if attempt >= self.max_retries:
                    raise
            if attempt >= self.max_retries:
                raise errors.HubError(f"{method} {_redact(url)} still failing after {attempt + 1} attempts "
                                      f"(last: {last}); the crawl state is saved, re-run to resume.")
            attempt += 1
            if wait:
                self.retry_wait_s += wait
                self.sleep(wait)

    def _backoff(self, attempt: int) -> float:
        return min(self.backoff_max_s, self.backoff_s * 2**attempt) * (0.5 + self._rng.random() / 2)

    @staticmethod
    def _read(response: Any, max_bytes: int | None, url: str) -> bytes:
        length = response.headers.get("Content-Length")
        if max_bytes is not None and length and length.isdigit() and int(length) > max_bytes:
            raise errors.ConfigTooLargeError(f"{_redact(url)} is {int(length):,} bytes, over the {max_bytes:,}-byte limit")
        chunks, size = [], 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if max_bytes is not None and size > max_bytes:
                raise errors.ConfigTooLargeError(f"{_redact(url)} is over the {max_bytes:,}-byte limit")
            chunks.append(chunk)
        return b"".join(chunks)

    @staticmethod
    def _raise(response: Any, hf_raise_for_status: Callable[[Any], None]) -> None:
        from huggingface_hub import errors as hf_errors

        try:
            hf_raise_for_status(response)
        except hf_errors.GatedRepoError as e:
            raise errors.GatedRepoError(f"gated repo: {_first_line(e)}") from None
        except hf_errors.RepositoryNotFoundError as e:  # the Hub says 401 for missing *and* private repos
            hint = " (or private: set HF_TOKEN)" if response.status_code == 401 else ""
            raise errors.RepoNotFoundError(f"{_first_line(e)}{hint}") from None
        except hf_errors.RevisionNotFoundError as e:
            raise errors.RepoNotFoundError(_first_line(e)) from None
        except hf_errors.EntryNotFoundError as e:
            raise errors.EntryNotFoundError(_first_line(e)) from None
        except hf_errors.HfHubHTTPError as e:
            if response.status_code in (401, 403):
                raise errors.GatedRepoError(f"{response.status_code}: {_first_line(e)}") from None
            raise errors.HubError(f"{response.status_code}: {_first_line(e)}") from None

    # -- the calls the crawler makes
    def list_pages(self, params: Sequence[tuple[str, Any]], next_path: str | None = None) -> Iterator[Page]:
        """Listing pages from the start (``params``) or from a stored ``next_path`` (a resumed crawl)."""
        import json

        url, query = (self.endpoint + next_path, None) if next_path else (f"{self.endpoint}/api/models", list(params))
        while True:
            response, body = self.request("api", "GET", url, params=query)
            items = json.loads(body)
            link = response.links.get("next", {}).get("url")
            nxt = None
            if link:
                parts = urlsplit(link)
                nxt = parts.path + (f"?{parts.query}" if parts.query else "")
            yield Page(items if isinstance(items, list) else [], nxt)
            if not nxt:
                return
            url, query = self.endpoint + nxt, None

    def model_info(self, repo_id: str, revision: str | None = None) -> dict[str, Any]:
        import json

        from urllib.parse import quote

        path = f"/api/models/{repo_id}" + (f"/revision/{quote(revision, safe='')}" if revision else "")
        _, body = self.request("api", "GET", self.endpoint + path)
        return json.loads(body)

    def download(self, repo_id: str, filename: str, revision: str = "main", max_bytes: int | None = None) -> bytes:
        """The bytes of one file at ``revision`` (a resolver call; pass the listed sha to pin it)."""
        from huggingface_hub import hf_hub_url

        url = hf_hub_url(repo_id, filename, revision=revision, endpoint=self.endpoint)
        _, body = self.request("resolvers", "GET", url, max_bytes=max_bytes)
        return body


def _first_line(e: BaseException) -> str:
    """The gist of a huggingface_hub error, without the endpoint (messages must not depend on it)."""
    lines = [ln for ln in str(e).splitlines() if ln.strip()]
    return _ORIGIN.sub("", " ".join(lines[:2]))[:300]


_ORIGIN = re.compile(r"https?://[^/\s]+")


def _redact(url: str) -> str:
    """A URL without origin and query (for messages and logs)."""
    return _ORIGIN.sub("", url.split("?")[0])
