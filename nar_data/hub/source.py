"""The ``hf`` source: Hugging Face Hub repos, listed by the crawler and built from ``config.json`` alone.

Discovery is `nar_data.hub.HubCrawler` (quota-aware, incremental, resumable); this module is the
`Source` face of it for the tracing pool (registered as ``hf``; it lives in ``hub/`` because it crawls):

* ``iter_refs(data=DIR)`` yields the repos the crawls into ``DIR`` found, each with its config hash's
  representative config (the pool traces the first of each hash and reuses its graph for the rest, so
  10 000 fine-tunes of one base are traced once); ``iter_refs(author=..., search=...)`` crawls first.
* ``build(ref)`` delegates by library: transformers and sentence-transformers repos ->
  `nar_data.sources.transformers.build_from_config` (the class named in ``architectures``, else the Auto
  class of the pipeline tag); timm repos -> `nar_data.sources.timm.build_timm`; anything else ->
  `UnsupportedLibraryError`. Repos that need repository code (``auto_map``) raise `RemoteCodeError`
  unless the source was made with ``trust_remote_code=True``; then ``runs_remote_code`` is set and the
  tracing pool runs them only in its isolated workers.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import BuildError, RemoteCodeError, SourceError, UnsupportedLibraryError
from ..sources import Built, ModelRef, Source, register_source

__all__ = ["HfHubSource", "build_hf"]


def build_hf(ref: ModelRef, trust_remote_code: bool = False) -> Built:
    """Build a crawled Hub repo on the meta device (no weights), with example inputs."""
    config = ref.config or {}
    kind = str(ref.meta.get("kind", ""))
    if kind.startswith("remote.") or config.get("auto_map"):
        # the opt-in is recorded in the ref by `nar crawl --trust-remote-code`, so a pool worker honours it
        if not (trust_remote_code or ref.meta.get("trust_remote_code")):
            raise RemoteCodeError(f"{ref.name} needs repository code (auto_map); build it with "
                                  "HfHubSource(trust_remote_code=True), inside the isolated tracing workers only")
        return _build_remote(ref)
    if ref.library == "timm":
        from ..sources.timm import build_timm

        if "architecture" not in config:
            raise BuildError(f"{ref.name}: timm ref without 'architecture' in its config")
        size = config.get("input_size")
        return build_timm(config["architecture"], config.get("model_args"), {"input_size": size} if size else None)
    if ref.library in ("transformers", "sentence-transformers"):
        from ..sources.transformers import build_from_config

        arch = kind.split(".", 1)[1] if kind.startswith("transformers.") else None
        if arch and arch.startswith("auto:"):
            arch = None
        task = None if ref.library == "sentence-transformers" else (ref.task or None)
        return build_from_config(config, architecture=arch, task=task)
    raise UnsupportedLibraryError(f"{ref.name}: library {ref.library or 'unknown'!r} has no weight-free builder "
                                  "(supported: transformers, sentence-transformers, timm)")


#: Auto classes tried for a remote-code repo, by pipeline tag (then the base AutoModel).
_REMOTE_AUTO = {"text-generation": "AutoModelForCausalLM", "fill-mask": "AutoModelForMaskedLM",
                "text-classification": "AutoModelForSequenceClassification",
                "token-classification": "AutoModelForTokenClassification",
                "image-classification": "AutoModelForImageClassification"}


def _build_remote(ref: ModelRef) -> Built:
    """Repository code, opted in (only ever called inside an isolated tracing worker).

    The repo's ``.py`` files are downloaded at the crawled sha into a private folder next to the crawled
    config, and transformers loads the config and model classes from there (``trust_remote_code``).
    """
    import tempfile

    from transformers import AutoConfig
    from transformers.dynamic_module_utils import get_class_from_dynamic_module

    from ..sources.transformers import build_module
    from .client import HubClient

    config = dict(ref.config or {})
    auto_map = config.get("auto_map") or {}
    key = next((k for k in (_REMOTE_AUTO.get(ref.task, ""), "AutoModel") if k in auto_map),
               next((k for k in auto_map if k.startswith("AutoModel")), ""))
    if not key:
        raise RemoteCodeError(f"{ref.name}: auto_map names no AutoModel class ({sorted(auto_map)})")
    client = HubClient(endpoint=ref.meta.get("endpoint") or None)
    with tempfile.TemporaryDirectory(prefix="nar-remote-") as folder:
        (Path(folder) / "config.json").write_text(json.dumps(config))
        for name in ref.meta.get("code_files") or []:
            (Path(folder) / name).parent.mkdir(parents=True, exist_ok=True)
            (Path(folder) / name).write_bytes(client.download(ref.name, name, revision=ref.revision or "main",
                                                              max_bytes=5_000_000))
        cfg = AutoConfig.from_pretrained(folder, trust_remote_code=True)
        ref_str = auto_map[key] if isinstance(auto_map[key], str) else auto_map[key][0]
        cls = get_class_from_dynamic_module(ref_str, folder)
        return build_module(cls, cfg, ref.task)


@register_source("hf")
class HfHubSource(Source):
    """Hugging Face Hub repos. See the module docstring.

    Args:
        data: dataset folder a crawl wrote into (its ``_crawl`` state holds the configs).
        endpoint, token: Hub to crawl when ``data`` is not given.
        trust_remote_code: allow ``auto_map`` repos (built only in isolated workers).
    """

    def __init__(self, data: str | Path | None = None, endpoint: str | None = None, token: str | bool | None = None,
                 trust_remote_code: bool = False) -> None:
        self.data = Path(data) if data else None
        self.endpoint, self.token = endpoint, token
        self.trust_remote_code = trust_remote_code
        self.runs_remote_code = trust_remote_code  # type: ignore[misc]  # per instance: the pool isolates it

    def iter_refs(self, limit: int | None = None, data: str | Path | None = None, **filters: Any) -> Iterator[ModelRef]:
        """Refs of a crawled folder (``data``, else the source's, else ``$NAR_DATA_DIR``); with Hub filters
        (``author=``, ``search=``, ... see `CrawlQuery`) crawl first, into ``data`` or a temporary folder."""
        from ..config import DEFAULT_DATA_DIR
        from .crawler import CrawlQuery, HubCrawler, refs_from_state
        from .state import STATE_DIR

        folder = Path(data) if data else self.data
        if not filters:
            folder = folder or DEFAULT_DATA_DIR
            if not (folder / STATE_DIR / "state.sqlite").is_file():
                raise SourceError(f"no Hub crawl in {folder}; run `nar crawl --out {folder}` first "
                                  "(or pass data=<the folder a crawl wrote>)")
            yield from refs_from_state(folder, limit)
            return
        query = CrawlQuery(**{k: v for k, v in filters.items() if v is not None}, limit=limit)
        with tempfile.TemporaryDirectory(prefix="nar-hf-") as tmp:
            out = folder or Path(tmp)
            HubCrawler(out, endpoint=self.endpoint, token=self.token,
                       trust_remote_code=self.trust_remote_code).crawl(query)
            yield from refs_from_state(out)

    def build(self, ref: ModelRef) -> Built:
        return build_hf(ref, self.trust_remote_code)
