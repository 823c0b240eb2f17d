"""The ``hf`` and ``path`` forms: a model described by its config files, on the Hub or on disk.

Three kinds of repo are built from their configs alone (no weights): transformers (``config.json`` with
``model_type``), timm (``config.json`` with ``architecture``) and sentence-transformers (``modules.json`` naming
the transformer module's folder and its ``config.json``). A config with ``auto_map`` needs the repo's own
Python code: refused unless ``trust_remote_code``, and then built only in an isolated tracing worker (the
pool's time and memory limits), never in this process.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nar.errors import BuildFailedError, QueryError, RemoteCodeRefusedError, UnknownModelError
from nar.query._base import QueryContext, Resolved, register_form
from nar_data.schema import Graph

__all__ = ["ConfigFiles", "hf_query", "path_query", "resolve_hub"]


@dataclass
class ConfigFiles:
    """What a repo's config files say, wherever they came from."""

    name: str  # repo id or folder/file name
    config: dict[str, Any]  # the model's config.json (the transformer module's one for sentence-transformers)
    library: str  # transformers | timm | sentence-transformers
    revision: str = ""
    pipeline_tag: str = ""
    code_files: tuple[str, ...] = ()  # .py files of the repo (remote code)


def library_of(config: dict[str, Any], has_modules: bool) -> str:
    """The library that builds ``config``; `QueryError` when it is none of the three."""
    if has_modules:
        return "sentence-transformers"
    if isinstance(config.get("model_type"), str) and config["model_type"]:
        return "transformers"
    if isinstance(config.get("architecture"), str) and config["architecture"]:
        return "timm"
    raise QueryError("config.json has neither 'model_type' (transformers) nor 'architecture' (timm); nar builds "
                     "transformers, timm and sentence-transformers configs")


def transformer_folder(modules: list[dict[str, Any]]) -> str:
    """The folder of the Transformer module of a sentence-transformers ``modules.json`` ("" = the repo root)."""
    for m in modules:
        if str(m.get("type", "")).endswith("models.Transformer"):
            return str(m.get("path", "") or "")
    raise QueryError("modules.json lists no sentence_transformers.models.Transformer module; "
                     "nar builds the transformer of a sentence-transformers repo")


def _parse(raw: bytes, what: str) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise QueryError(f"{what} is not valid JSON ({e})") from None


def _model_ref(files: ConfigFiles, source: str, ctx: QueryContext) -> Any:
    """A `ModelRef` of the hf source for ``files`` (its kind and config hash as the crawler computes them)."""
    from nar_data.errors import NarDataError
    from nar_data.hub.configs import config_identity
    from nar_data.hub.listing import ListedRepo
    from nar_data.sources import ModelRef

    repo = ListedRepo(repo_id=files.name, sha=files.revision, library=files.library, pipeline_tag=files.pipeline_tag)
    try:
        identity = config_identity(repo, files.config, trust_remote_code=ctx.trust_remote_code, canonical=False)
    except NarDataError as e:
        raise QueryError(f"{files.name}: {e}") from None
    meta: dict[str, Any] = {"kind": identity.kind}
    if identity.kind.startswith("remote."):
        meta.update(trust_remote_code=True, endpoint=ctx.endpoint or "", code_files=list(files.code_files))
    task = "" if files.library == "sentence-transformers" else (files.pipeline_tag or identity.task)
    return ModelRef(source=source, name=files.name, library=files.library, revision=files.revision, task=task,
                    config=identity.config, meta=meta, config_hash=identity.config_hash)


def _trace_here(ref: Any, title: str) -> Graph:
    from nar_data.errors import NarDataError
    from nar_data.labels import labels_for
    from nar_data.hub.source import build_hf
    from nar_data.tracing import trace_built

    try:
        return trace_built(ref, build_hf(ref), labels_for(ref))
    except (NarDataError, RuntimeError, TypeError, ValueError, NotImplementedError) as e:
        raise BuildFailedError(f"cannot build {title}: {type(e).__name__}: {' '.join(str(e).split())[:300]}") from e


def _trace_isolated(ref: Any, title: str) -> Graph:
    """Remote code runs only in a tracing-pool worker (its own process, time and memory limits)."""
    from nar_data.pool import TracePool

    with TracePool(workers=1, start_method="spawn", preload=("torch", "transformers")) as pool:
        outcome = next(iter(pool.imap([ref])))
    if outcome.graph is None:
        raise BuildFailedError(f"cannot build {title} (remote code, isolated worker): {outcome.error_class}: "
                               f"{outcome.message[:300]}")
    return outcome.graph


def _resolved(files: ConfigFiles, source: str, form: str, title: str, ctx: QueryContext) -> Resolved:
    remote = bool(files.config.get("auto_map"))
    if remote and not ctx.trust_remote_code:
        raise RemoteCodeRefusedError(f"{title} needs its own modeling code (auto_map in config.json); pass "
                                     "--trust-remote-code (Python: trust_remote_code=True) to build it in an "
                                     "isolated worker")
    if remote and source != "hf":
        raise RemoteCodeRefusedError(f"{title} needs its own modeling code; nar runs remote code only for Hub "
                                     "repos (hf:org/name --trust-remote-code), in an isolated worker")
    ref = _model_ref(files, source, ctx)
    kind = ref.meta["kind"].split(".", 1)[-1] if "." in ref.meta["kind"] else ref.meta["kind"]
    if remote:
        what = f"building {title} (remote code: {kind}) in an isolated worker and tracing it ..."
        return Resolved(form, title, ref.model_id, build=lambda: _trace_isolated(ref, title), what=what)
    what = f"building {title} ({files.library} {kind}, config only, on the meta device) and tracing it ..."
    return Resolved(form, title, ref.model_id, build=lambda: _trace_here(ref, title), what=what)


# -- the Hub ----------------------------------------------------------------------------------------------

def _hub_files(repo_id: str, revision: str | None, ctx: QueryContext) -> ConfigFiles:
    from nar_data import errors
    from nar_data.hub.client import HubClient
    from nar_data.hub.listing import ListedRepo

    client = HubClient(endpoint=ctx.endpoint, max_retries=2, backoff_s=0.2)
    shown = f"hf:{repo_id}" + (f"@{revision}" if revision else "")
    try:
        info = client.model_info(repo_id, revision)
        listed = ListedRepo.from_item(info)
        sha = listed.sha or revision or "main"
        siblings = set(listed.siblings or [])
        modules = None
        if "modules.json" in siblings or listed.library == "sentence-transformers":
            try:
                modules = _parse(client.download(repo_id, "modules.json", revision=sha, max_bytes=1_000_000),
                                 f"{shown} modules.json")
            except errors.EntryNotFoundError:
                modules = None
        folder = transformer_folder(modules) if modules else ""
        config_path = f"{folder}/config.json" if folder else "config.json"
        config = _parse(client.download(repo_id, config_path, revision=sha, max_bytes=2_000_000),
                        f"{shown} {config_path}")
    except errors.RepoNotFoundError:
        raise UnknownModelError(f"no Hub repo {repo_id!r}" + (f" at revision {revision!r}" if revision else "") +
                                f" on {client.endpoint}; check the id (org/name) and HF_ENDPOINT") from None
    except errors.GatedRepoError:
        raise QueryError(f"{shown} is gated; accept its terms on the Hub and set HF_TOKEN") from None
    except errors.EntryNotFoundError:
        raise QueryError(f"{shown} has no config.json; nar builds transformers, timm and "
                         "sentence-transformers repos from their configs") from None
    except errors.HubError as e:
        raise QueryError(f"{shown}: the Hub did not answer ({e}); check HF_ENDPOINT and the network") from None
    if not isinstance(config, dict):
        raise QueryError(f"{shown} config.json is a JSON {type(config).__name__}, expected an object")
    library = library_of(config, modules is not None)
    code = tuple(sorted(f for f in siblings if f.endswith(".py")))
    return ConfigFiles(repo_id, config, library, sha, listed.pipeline_tag, code)


def resolve_hub(repo_id: str, revision: str | None, ctx: QueryContext) -> Resolved:
    """``hf:<repo_id>[@revision]``: in the dataset if it has that repo, else fetched and built from its config."""
    title = f"hf:{repo_id}" + (f"@{revision}" if revision else "")
    if ctx.view is not None and revision is None and f"hf:{repo_id}" in ctx.view.arch_of:
        return Resolved("hf", title, f"hf:{repo_id}", arch_id=ctx.view.arch_of[f"hf:{repo_id}"])
    files = _hub_files(repo_id, revision, ctx)
    return _resolved(files, "hf", "hf", title, ctx)


@register_form("hf", "hf:Qwen/Qwen2.5-0.5B, hf:timm/resnet50.a1_in1k@main", order=40)
def hf_query(query: Any, ctx: QueryContext) -> Resolved | None:
    if not isinstance(query, str) or not query.startswith("hf:"):
        return None
    repo_id, _, revision = query[3:].partition("@")
    if repo_id.count("/") > 1 or not repo_id.strip("/"):
        raise QueryError(f"{query!r}: a Hub id is org/name (hf:Qwen/Qwen2.5-0.5B), optionally @revision")
    return resolve_hub(repo_id, revision or None, ctx)


# -- local files ------------------------------------------------------------------------------------------

def _local_files(path: Path) -> ConfigFiles:
    folder = path if path.is_dir() else path.parent
    modules = None
    if path.is_dir() and (folder / "modules.json").is_file():
        modules = _parse((folder / "modules.json").read_bytes(), str(folder / "modules.json"))
    config_file = path if path.is_file() else folder / (transformer_folder(modules) if modules else "") / "config.json"
    if not config_file.is_file():
        raise QueryError(f"{path} has no config.json; give a config.json file or a repo folder with one")
    config = _parse(config_file.read_bytes(), str(config_file))
    if not isinstance(config, dict):
        raise QueryError(f"{config_file} is a JSON {type(config).__name__}, expected an object")
    return ConfigFiles(_real_name(config, folder if path.is_dir() else None), config,
                       library_of(config, modules is not None))


def _real_name(config: dict[str, Any], folder: Path | None) -> str:
    """What to call a local config: its ``_name_or_path`` when it names a repo, else the class / architecture."""
    named = config.get("_name_or_path")
    if isinstance(named, str) and named.count("/") == 1 and not named.startswith((".", "/")):
        return named
    if folder is not None:
        return folder.resolve().name
    archs = config.get("architectures")
    if isinstance(archs, list) and archs and isinstance(archs[0], str):
        return archs[0]
    return str(config.get("architecture") or config.get("model_type") or "config")


def _looks_like_path(text: str) -> bool:
    return text.endswith(".json") or text.startswith(("./", "../", "/", "~")) or text in (".", "..")


@register_form("path", "./config.json, ./my-repo/ (transformers, timm or sentence-transformers)", order=20)
def path_query(query: Any, ctx: QueryContext) -> Resolved | None:
    if not isinstance(query, (str, Path)):
        return None
    path = Path(query).expanduser()
    if not path.exists():
        if isinstance(query, Path) or _looks_like_path(query):
            raise UnknownModelError(f"no such file or folder: {query}")
        return None
    if path.is_dir() and not ((path / "config.json").is_file() or (path / "modules.json").is_file()):
        return None  # a folder named like a model ("resnet50/") without configs: let the name forms try
    files = _local_files(path)
    title = f"{files.name} ({path})"
    return _resolved(files, "local", "path", title, ctx)
