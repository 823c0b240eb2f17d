"""`HubCrawler`: Hub listing -> ``models`` / ``failures`` rows + one representative config per config hash.

A crawl walks the listing page by page (one API call each, with every field the crawler needs
``expand``-ed), and for each repo decides from the listing alone:

* **unchanged** (same sha as last time): nothing to do, no call;
* **unsupported / remote code / gated / no config.json**: a ``failures`` row, no call;
* **same architecture as a repo already fetched** (same listing fingerprint, see
  `ListedRepo.fingerprint`): its config hash is reused, no call (``strict_configs`` turns this off);
* otherwise one resolver call downloads ``config.json`` at the listed sha, and its normalised hash
  says whether it is a new architecture (a new representative for the tracing pool) or a known one.

Each page is one unit of work: its rows are written to shards named by ``(run, page)``, then the
cursor, shas, configs and budget are committed in one SQLite transaction (`CrawlState`). A crawl
killed at any instant resumes at the page it was on, and a redone page replaces its own shards, so the
final tables equal those of an uninterrupted crawl.
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from .. import errors
from ..fingerprint import stable_hash
from ..parquet import clean_tmp, read_table, shard_paths, write_shard
from ..schema import FailureRow, ModelRow
from ..sources._base import ModelRef
from .card import CardError, parse_card
from .client import LIST_EXPAND, HubClient
from .configs import config_identity, parse_config
from .listing import LABEL_HEADS, SUPPORTED_LIBRARIES, ListedRepo, head_width
from .state import STATE_DIR, CrawlState, RepoState

logger = logging.getLogger(__name__)

__all__ = ["CrawlQuery", "CrawlSummary", "HubCrawler", "model_id_of"]

SOURCE = "hf"
#: A config.json larger than this is refused without being read (real configs are < 100 kB).
MAX_CONFIG_BYTES = 1_000_000


def model_id_of(repo_id: str) -> str:
    return f"{SOURCE}:{repo_id}"


@dataclass(frozen=True)
class CrawlQuery:
    """What to list. Hub-side filters go into the listing call; ``min_downloads`` is applied client-side."""

    search: str | None = None
    author: str | None = None
    pipeline_tag: str | None = None
    library: str | None = None
    filter: tuple[str, ...] = ()
    sort: str | None = None  # None = creation order (stable cursor); "downloads", "lastModified", ...
    min_downloads: int = 0
    limit: int | None = None  # stop after this many listed repos
    page_size: int = 1000

    def params(self) -> list[tuple[str, Any]]:
        p: list[tuple[str, Any]] = [("expand", e) for e in LIST_EXPAND]
        for key in ("search", "author", "pipeline_tag"):
            if getattr(self, key):
                p.append((key, getattr(self, key)))
        for f in (*self.filter, *([self.library] if self.library else [])):
            p.append(("filter", f))
        if self.sort:
            p += [("sort", self.sort), ("direction", "-1")]
        p.append(("limit", min(self.page_size, self.limit or self.page_size)))
        return p

    def key(self) -> str:
        return stable_hash(asdict(self), 8)


@dataclass
class CrawlSummary:
    """What one `HubCrawler.crawl` call did (this process only; a resumed run continues the counts)."""

    listed: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    filtered: int = 0
    failed: Counter[str] = field(default_factory=Counter)  # error class -> repos
    pages: int = 0
    config_fetches: int = 0  # config.json downloads
    configs_reused: int = 0  # repos whose config hash came from the fingerprint, without a download
    new_configs: int = 0  # config hashes never seen before (what the tracing pool will trace)
    fetches_known: int = 0  # config fetches whose hash was already known (the fingerprint did not match)
    card_fetches: int = 0
    api_calls: int = 0  # every request, retries included
    resolver_calls: int = 0
    retries: int = 0
    seconds: float = 0.0
    resumed: bool = False
    done: bool = False

    def line(self) -> str:
        failed = ", ".join(f"{k} {v}" for k, v in sorted(self.failed.items())) or "none"
        return (f"{self.listed} listed: {self.new} new, {self.changed} changed, {self.unchanged} unchanged, "
                f"{sum(self.failed.values())} failed ({failed}); {self.new_configs} new configs, "
                f"{self.config_fetches} config fetches, {self.api_calls} API + {self.resolver_calls} resolver calls, "
                f"{self.pages} pages in {self.seconds:.1f}s")


@dataclass
class _Outcome:
    row: ModelRow
    repo_state: RepoState
    failure: FailureRow | None = None
    fingerprint: tuple[str, int, str, int] | None = None  # (key, params, config hash, unit) learned from a fetch
    config: dict[str, Any] | None = None  # representative config record for a new config hash
    ref: dict[str, Any] | None = None  # library / task / meta, for `refs_from_state`


class HubCrawler:
    """Crawls a Hub into the dataset folder ``out`` (tables + ``_crawl/state.sqlite``).

    Args:
        out: dataset folder; ``models`` / ``failures`` shards are appended there.
        client: a `HubClient` (default: one for ``endpoint`` / ``token``).
        trust_remote_code: record ``auto_map`` repos as buildable (their code then runs only in the
            isolated tracing workers) instead of ``RemoteCodeError`` failures.
        strict_configs: download ``config.json`` for every new or changed repo instead of reusing the
            config hash of a repo with the same listing fingerprint.
        fetch_cards: download the README of repos whose listing has no ``cardData`` (resolver calls).
        canonical_configs: hash transformers configs as the registry source does (imports transformers on
            the first fetch); ``False`` hashes the raw config.json (see `config_identity`).
        progress: called after every page with the running `CrawlSummary` and the client.
    """

    def __init__(self, out: str | os.PathLike, client: HubClient | None = None, *, endpoint: str | None = None,
                 token: str | bool | None = None, trust_remote_code: bool = False, strict_configs: bool = False,
                 fetch_cards: bool = False, max_config_bytes: int = MAX_CONFIG_BYTES, canonical_configs: bool = True,
                 progress: Callable[[CrawlSummary, HubClient], None] | None = None) -> None:
        self.out = Path(out)
        self.client = client or HubClient(endpoint=endpoint, token=token)
        self.trust_remote_code, self.strict_configs, self.fetch_cards = trust_remote_code, strict_configs, fetch_cards
        self.max_config_bytes, self.canonical_configs = max_config_bytes, canonical_configs
        self.progress = progress
        self.stage = self.out / STATE_DIR / "stage"

    # -- the crawl
    def crawl(self, query: CrawlQuery = CrawlQuery()) -> CrawlSummary:
        """List, decide, fetch what is needed, and write rows; resumes an unfinished run of the same query."""
        t0 = time.monotonic()
        summary = CrawlSummary()
        state = CrawlState(self.out)
        spent0 = self.client.budget.spent.copy()
        try:
            clean_tmp(self.stage)
            self.client.budget.restore(state.budget_snapshot())
            run = state.run(query.key())
            if run is None or run.done:
                run = state.start_run(query.key(), asdict(query))
            else:
                summary.resumed = True
                logger.info("resuming crawl run %s at page %d", run.run_id, run.page)
            arch_ids = self._arch_ids()
            for page in self.client.list_pages(query.params(), run.next_path):
                items = page.items
                if query.limit is not None:
                    items = items[: max(0, query.limit - run.listed)]
                outcomes, failures = self._process(items, state, query, summary, arch_ids)
                self._write_page(run.stamp, run.page, outcomes, failures)
                run.next_path, run.page, run.listed = page.next_path, run.page + 1, run.listed + len(items)
                run.done = page.next_path is None or (query.limit is not None and run.listed >= query.limit)
                with state.transaction():
                    for o in outcomes:
                        state.put_repo(o.row.model_id, o.repo_state, o.ref)
                        if o.fingerprint:
                            state.put_fingerprint(*o.fingerprint)
                        if o.config:
                            state.put_config(**o.config)
                    state.save_run(run)
                    state.save_budget(self.client.budget.snapshot())
                summary.pages += 1
                self._account(summary, spent0, t0)
                if self.progress:
                    self.progress(summary, self.client)
                if run.done:
                    break
            summary.done = run.done
        finally:
            self._account(summary, spent0, t0)
            state.close()
        return summary

    def _account(self, summary: CrawlSummary, spent0: Counter[str], t0: float) -> None:
        spent = self.client.budget.spent - spent0
        summary.api_calls, summary.resolver_calls = spent["api"], spent["resolvers"]
        summary.retries = max(0, spent["api"] + spent["resolvers"] - (summary.pages + summary.config_fetches
                                                                      + summary.card_fetches))
        summary.seconds = time.monotonic() - t0

    def _arch_ids(self) -> dict[str, str]:
        """config_hash -> arch_id of graphs already traced into this folder."""
        if not shard_paths(self.out, "graphs"):
            return {}
        table = read_table(self.out, "graphs", columns=["config_hash", "arch_id"])
        return dict(zip(table.column("config_hash").to_pylist(), table.column("arch_id").to_pylist()))

    # -- one page
    def _process(self, items: list[dict[str, Any]], state: CrawlState, query: CrawlQuery, summary: CrawlSummary,
                 arch_ids: dict[str, str]) -> tuple[list[_Outcome], list[dict[str, Any]]]:
        outcomes: list[_Outcome] = []
        failures: list[FailureRow] = []
        repos: list[ListedRepo] = []
        for item in items:
            try:
                repos.append(ListedRepo.from_item(item))
            except (ValueError, TypeError, AttributeError) as e:
                failures.append(_failure("hf:<unknown>", "", "list", errors.HubError.__name__, str(e)))
                summary.failed["HubError"] += 1
        known = state.repos([model_id_of(r.repo_id) for r in repos])
        page_fps: dict[str, list[tuple[int, str, int]]] = {}  # fingerprints learned on this page (not committed)
        page_configs: set[str] = set()
        seen: set[str] = set()
        for repo in repos:
            mid = model_id_of(repo.repo_id)
            if mid in seen:  # a listing that repeats an id (moving sort order): once per page
                continue
            seen.add(mid)
            summary.listed += 1
            if repo.downloads < query.min_downloads:
                summary.filtered += 1
                continue
            prev = known.get(mid)
            if prev is not None and prev.sha == repo.sha:
                summary.unchanged += 1
                continue
            if prev is None:
                summary.new += 1
            else:
                summary.changed += 1
            if self.fetch_cards and not repo.card and repo.siblings and "README.md" in repo.siblings:
                card_failure = self._fetch_card(repo, summary)
                if card_failure:
                    failures.append(card_failure)
                    summary.failed[card_failure.error_class] += 1
            outcome = self._decide(repo, state, page_fps, page_configs, summary, arch_ids)
            outcomes.append(outcome)
            if outcome.failure:
                failures.append(outcome.failure)
                summary.failed[outcome.failure.error_class] += 1
            if outcome.fingerprint:
                key, params, h, unit = outcome.fingerprint
                page_fps.setdefault(key, []).append((params, h, unit))
            if outcome.config:
                page_configs.add(outcome.config["config_hash"])
                summary.new_configs += 1
        return outcomes, failures

    def _decide(self, repo: ListedRepo, state: CrawlState, page_fps: dict[str, list[tuple[int, str, int]]],
                page_configs: set[str],
                summary: CrawlSummary, arch_ids: dict[str, str]) -> _Outcome:
        mid = model_id_of(repo.repo_id)
        meta = repo.meta()
        fp, params = ("", 0) if self.strict_configs else repo.fingerprint()
        stage = "list"
        try:
            if repo.library not in SUPPORTED_LIBRARIES:
                raise errors.UnsupportedLibraryError(
                    f"library {repo.library or 'unknown'!r} has no weight-free builder "
                    f"(supported: {', '.join(SUPPORTED_LIBRARIES)})")
            if repo.remote_code and not self.trust_remote_code:
                raise errors.RemoteCodeError("the config names repository code (auto_map); "
                                             "pass --trust-remote-code to build it inside the isolated workers")
            if repo.gated and not self.client.has_token:
                raise errors.GatedRepoError("gated repo: accept its terms on the Hub and set HF_TOKEN")
            if repo.siblings is not None and "config.json" not in repo.siblings:
                raise errors.MissingConfigError("the repo has no config.json")
            known_hash = _match(page_fps.get(fp, []) + state.fingerprints(fp), params) if fp else None
            if known_hash:
                summary.configs_reused += 1
                return _Outcome(self._row(repo, meta, known_hash, arch_ids, ""),
                                RepoState(repo.sha, known_hash, "ok", "", fp), ref=self._ref_fields(repo, meta, ""))
            stage = "fetch"
            summary.config_fetches += 1
            raw = self.client.download(repo.repo_id, "config.json", revision=repo.sha or "main",
                                       max_bytes=self.max_config_bytes)
            stage = "build"
            identity = config_identity(repo, parse_config(raw), self.trust_remote_code, self.canonical_configs)
        except errors.NarDataError as e:
            if type(e) is errors.HubError:  # transient after all retries: stop; the page is redone on resume
                raise
            # refused from the listing alone (remote code, gated, no config.json): stage "list", not a build
            stage = stage if stage == "list" else _stage_of(e)
            failure = _failure(mid, "", stage, type(e).__name__, str(e))
            return _Outcome(self._row(repo, meta, "", arch_ids, "", failed=True),
                            RepoState(repo.sha, "", "failed", type(e).__name__, fp), failure=failure)
        except Exception as e:  # noqa: BLE001 - one bad repo is a failures row, never the end of the crawl
            failure = _failure(mid, "", stage, type(e).__name__, str(e))
            return _Outcome(self._row(repo, meta, "", arch_ids, "", failed=True),
                            RepoState(repo.sha, "", "failed", type(e).__name__, fp), failure=failure)
        h = identity.config_hash
        config = None
        if h in page_configs or state.has_config(h):
            summary.fetches_known += 1
        else:
            config = {"config_hash": h, "model_id": mid, "library": repo.library, "kind": identity.kind,
                      "task": identity.task, "config": identity.config, "revision": repo.sha,
                      "meta": {**meta, "kind": identity.kind, **self._remote_meta(repo)}}
        return _Outcome(self._row(repo, meta, h, arch_ids, identity.task), RepoState(repo.sha, h, "ok", "", fp),
                        fingerprint=(fp, params, h, _unit(repo, identity.config)) if fp else None, config=config,
                        ref=self._ref_fields(repo, meta, identity.task))

    def _remote_meta(self, repo: ListedRepo) -> dict[str, Any]:
        """For an opted-in remote-code repo: where the worker fetches its code from."""
        if not (self.trust_remote_code and repo.remote_code):
            return {"trust_remote_code": False}
        code = [f for f in repo.siblings or [] if f.endswith(".py")]
        return {"trust_remote_code": True, "endpoint": self.client.endpoint, "code_files": code}

    def _fetch_card(self, repo: ListedRepo, summary: CrawlSummary) -> dict[str, Any] | None:
        summary.card_fetches += 1
        try:
            raw = self.client.download(repo.repo_id, "README.md", revision=repo.sha or "main", max_bytes=2_000_000)
            repo.apply_card(parse_card(raw))
        except CardError as e:
            return _failure(model_id_of(repo.repo_id), "", "fetch", errors.MalformedCardError.__name__, str(e))
        except errors.NarDataError as e:
            return _failure(model_id_of(repo.repo_id), "", "fetch", type(e).__name__, str(e))
        return None

    @staticmethod
    def _ref_fields(repo: ListedRepo, meta: dict[str, Any], task: str) -> dict[str, Any]:
        return {"library": repo.library, "task": repo.pipeline_tag or task,
                "meta": {**meta, "last_modified": repo.last_modified, "downloads": repo.downloads, "likes": repo.likes}}

    def _row(self, repo: ListedRepo, meta: dict[str, Any], h: str, arch_ids: dict[str, str], task: str,
             failed: bool = False) -> dict[str, Any]:
        """The ``models`` row: status ``ok`` once its config hash is traced, ``pending`` until then (the
        tracing pool writes the ``ok`` row with the arch_id), ``failed`` with a ``failures`` row."""
        arch_id = arch_ids.get(h, "") if h else ""
        status = "failed" if failed else "ok" if arch_id else "pending"
        from ..labels import labels_for

        ref = ModelRef(source=SOURCE, name=repo.repo_id, library=repo.library, revision=repo.sha,
                       task=repo.pipeline_tag or task, meta=meta)
        try:
            labels = labels_for(ref)
        except errors.SchemaError:
            raise
        except Exception as e:  # noqa: BLE001 - a label rule must not lose the row
            logger.warning("labels failed for %s: %s", repo.repo_id, e)
            labels = {"family": "unknown", "coarse": "unknown", "task": "unknown"}
        # the Hub fields go into the row only: the labels above were matched on the ref's own meta
        hub = {"last_modified": repo.last_modified, "pipeline_tag": repo.pipeline_tag, "tags": repo.tags,
               "base_model": repo.base_model, "downloads": repo.downloads, "likes": repo.likes}
        return ModelRow.from_ref(replace(ref, meta={**meta, **hub}, config_hash=h), arch_id=arch_id,
                                 status=status, labels=labels, tracer_version="")

    # -- writing a page
    def _write_page(self, stamp: str, page: int, outcomes: list[_Outcome], failures: list[FailureRow]) -> None:
        """Shards ``<table>-<run stamp>-crawl-p<page>.parquet``: a redone page replaces its own."""
        for table, rows in (("failures", failures), ("models", [o.row for o in outcomes])):
            final = self.out / table / f"{table}-{stamp}-crawl-p{page:06d}.parquet"
            if not rows:
                final.unlink(missing_ok=True)
                continue
            staged = write_shard(self.stage, table, rows, extra_metadata={"crawl_run": stamp, "page": page})
            assert staged is not None
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, final)

    # -- what the tracing pool gets
    def refs(self) -> Iterator[ModelRef]:
        """One `ModelRef` per config hash this folder's crawls found (with its config), oldest first."""
        yield from refs_from_state(self.out)


def refs_from_state(out: str | os.PathLike, limit: int | None = None,
                    representatives_only: bool = False) -> Iterator[ModelRef]:
    """The `ModelRef`s of the repos crawled into ``out`` that have a config hash, in crawl order.

    Each carries its config hash's representative config, so the tracing pool traces the first repo of
    every config hash and writes the others' rows with the same arch_id (``trace_to_dataset``'s reuse).
    With ``representatives_only``, one ref per config hash.
    """
    state = CrawlState(out)
    try:
        configs = {rec["config_hash"]: rec for rec in state.configs()}
        rows = ([(rec["model_id"], rec["revision"], h, {"library": rec["library"], "task": rec["task"],
                                                          "meta": rec["meta"]}) for h, rec in configs.items()]
                if representatives_only else state.buildable_repos())
        for i, (mid, sha, h, fields) in enumerate(rows):
            if limit is not None and i >= limit:
                return
            rep = configs.get(h)
            if rep is None:
                continue
            meta = {**fields.get("meta", {}), **{k: rep["meta"][k] for k in ("kind", "trust_remote_code", "endpoint",
                                                                            "code_files") if k in rep["meta"]}}
            yield ModelRef(source=SOURCE, name=mid.split(":", 1)[1], library=fields.get("library", rep["library"]),
                           revision=sha, task=fields.get("task") or rep["task"], config=rep["config"], meta=meta,
                           config_hash=h)
    finally:
        state.close()


def _match(candidates: list[tuple[int, str, int]], params: int) -> str | None:
    """The config hash of a candidate with the same parameter count, or one a label count away."""
    for p, h, unit in candidates:
        if p == params or (unit > 1 and (params - p) % unit == 0 and abs(params - p) <= unit * 100_000):
            return h
    return None


def _unit(repo: ListedRepo, config: dict[str, Any]) -> int:
    """``width + 1`` of a label head (its parameters per label), 0 for other architectures."""
    archs = repo.architectures
    if repo.library != "timm" and archs and archs[0].endswith(LABEL_HEADS):
        width = head_width(config)
        return width + 1 if width else 0
    return 0


def _stage_of(e: BaseException) -> str:
    if isinstance(e, (errors.GatedRepoError, errors.RepoNotFoundError, errors.EntryNotFoundError,
                      errors.MissingConfigError, errors.ConfigTooLargeError)):
        return "fetch"
    if isinstance(e, errors.MalformedConfigError):
        return "fetch"
    return "build"


def _failure(model_id: str, config_hash: str, stage: str, error_class: str, message: str) -> FailureRow:
    """A crawl failure: before any trace, so no tracer version (the tracing driver does not skip its hash)."""
    return FailureRow.create(model_id, SOURCE, config_hash, stage, error_class, message, tracer_version="")
