"""Settings: every default the library, the flows and the CLI share, and the one reader of environment flags.

Each default is read from its environment variable once, at import; callers take the constant as their
default argument instead of writing the number again, so ``NAR_TRACE_TIMEOUT=300 nar trace ...`` reaches the
tracing pool whatever path (CLI, flow, library) starts it. docs/environment.md lists the variables.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["CACHE_DIR", "DEFAULT_DATA_DIR", "TRACE_HASH_SEED", "TRACE_MEMORY_LIMIT", "TRACE_TIMEOUT_S",
           "TRACE_WORKERS", "WORKER_MAX_TASKS", "DEBUG", "debug", "env_flag"]

#: Values of a flag that mean "off"; any other value means "on".
_FALSE = ("", "0", "false", "no", "off")


def env_flag(name: str, default: bool = False) -> bool:
    """Whether the environment flag ``name`` is on: unset is ``default``; ``0``, ``false``, ``no``, ``off`` or
    empty (any case) is off; any other value (``1``, ``true``, ...) is on."""
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() not in _FALSE


def debug() -> bool:
    """``NAR_DEBUG``: full tracebacks in the CLI, worker output kept. Read at call time (a test may set it)."""
    return env_flag("NAR_DEBUG")


#: Where `nar` writes datasets when no ``--out`` is given.
DEFAULT_DATA_DIR = Path(os.environ.get("NAR_DATA_DIR", "data/nar"))
#: Cache for downloaded Hub configs and crawl state.
CACHE_DIR = Path(os.environ.get("NAR_CACHE_DIR", Path.home() / ".cache" / "nar"))
#: Per-model wall-clock limit in the tracing pool, seconds.
TRACE_TIMEOUT_S = float(os.environ.get("NAR_TRACE_TIMEOUT", "120"))
#: Tracing worker processes when none are asked for.
TRACE_WORKERS = int(os.environ.get("NAR_TRACE_WORKERS", "1"))
#: Per-worker resident-memory limit, bytes.
TRACE_MEMORY_LIMIT = int(float(os.environ.get("NAR_TRACE_MEMORY_GB", "3")) * 2**30)
#: ``PYTHONHASHSEED`` of the tracing workers, so that a model whose code iterates a set of strings (Gemma 3-style
#: layer types) traces to the same graph in every run; empty: the workers inherit the caller's.
TRACE_HASH_SEED = os.environ.get("NAR_TRACE_HASH_SEED", "0")
#: Recycle a worker after this many models, to bound leaks across models.
WORKER_MAX_TASKS = int(os.environ.get("NAR_WORKER_MAX_TASKS", "200"))
#: `debug` at import (for code that reads it once; `debug()` sees later changes).
DEBUG = debug()
