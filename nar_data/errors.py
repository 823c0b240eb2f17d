"""One error hierarchy for nar_data; messages say what was wrong and how to fix it.

Per-model problems (a config that does not build, an op export cannot take, a worker that hangs)
are *data*: the tracing pool turns them into ``failures`` rows with ``error_class`` set to the class
name below. Programmer errors (an unknown source, a foreign Parquet file) always raise.
"""

from __future__ import annotations


class NarDataError(Exception):
    """Root of every error nar_data raises on purpose."""


class SourceError(NarDataError):
    """A model source cannot list or build what was asked."""


class UnknownSourceError(SourceError, ValueError):
    """A source name that is not registered."""


class BuildError(NarDataError):
    """A model could not be built from its config on the meta device."""


class UnsupportedLibraryError(BuildError):
    """The repo's library has no weight-free builder (yet)."""


class RemoteCodeError(BuildError):
    """The model needs repository code and ``trust_remote_code`` was not given."""


class TraceError(NarDataError):
    """Every capture method failed on a built model."""


class InputSynthesisError(TraceError):
    """No example inputs could be synthesised from the config."""


class WorkerError(TraceError):
    """A tracing worker died or was stopped; the model is recorded as failed."""


class WorkerTimeout(WorkerError, TimeoutError):
    """The model exceeded the per-model wall-clock limit."""


class WorkerMemoryExceeded(WorkerError, MemoryError):
    """The worker's resident memory exceeded the per-model limit."""


class WorkerCrashed(WorkerError):
    """The worker process exited abnormally (segfault, abort, kill)."""


class SchemaError(NarDataError, ValueError):
    """A table or Parquet file does not match the schema this version of nar reads."""


class HubError(SourceError):
    """A Hub call failed in a way that is specific to one repo (gated, missing, malformed)."""


# -- Hub crawling. Per-repo problems become ``failures`` rows with ``error_class`` = the class name.


class GatedRepoError(HubError, PermissionError):
    """The repo is gated or private (HTTP 401/403): accept its terms on the Hub and set ``HF_TOKEN``."""


class RepoNotFoundError(HubError, LookupError):
    """The repo (or revision) is gone: it was deleted or renamed after it was listed."""


class EntryNotFoundError(HubError, FileNotFoundError):
    """A file the crawler needs (``config.json``) is missing from the repo (HTTP 404)."""


class MissingConfigError(HubError):
    """The repo has no ``config.json``, so there is no architecture to build."""


class MalformedConfigError(HubError, ValueError):
    """``config.json`` is not valid JSON, not an object, or lacks the keys its library needs."""


class MalformedCardError(HubError, ValueError):
    """The model card's YAML front matter does not parse."""


class ConfigTooLargeError(HubError):
    """``config.json`` is larger than the crawler's limit (``max_config_bytes``); it is not downloaded."""


class BudgetExhaustedError(SourceError):
    """The client-side API budget is spent and the crawl was told to stop rather than wait; re-run to resume."""
