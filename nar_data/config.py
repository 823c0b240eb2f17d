"""Environment-derived constants. No logic beyond reading the environment."""

from __future__ import annotations

import os
from pathlib import Path


def env_flag(name: str, default: bool = False) -> bool:
    """An on/off variable: ``1``/``true``/``yes``/``on`` are on, ``0``/``false``/``no``/``off``/empty are off."""
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


#: Where `nar` writes datasets when no ``--out`` is given.
DEFAULT_DATA_DIR = Path(os.environ.get("NAR_DATA_DIR", "data/nar"))
#: Cache for downloaded Hub configs and crawl state.
CACHE_DIR = Path(os.environ.get("NAR_CACHE_DIR", Path.home() / ".cache" / "nar"))
#: Per-model wall-clock limit in the tracing pool, seconds.
TRACE_TIMEOUT_S = float(os.environ.get("NAR_TRACE_TIMEOUT", "120"))
#: Per-worker resident-memory limit, bytes.
TRACE_MEMORY_LIMIT = int(float(os.environ.get("NAR_TRACE_MEMORY_GB", "3")) * 2**30)
#: Recycle a worker after this many models, to bound leaks across models.
WORKER_MAX_TASKS = int(os.environ.get("NAR_WORKER_MAX_TASKS", "200"))
#: Tracing worker processes of `nar trace` / `nar build` / `nar refresh` when ``--workers`` is not given.
TRACE_WORKERS = int(os.environ.get("NAR_WORKERS", "2"))
#: Show full tracebacks and library warnings in the CLI (``NAR_DEBUG=1``; ``0`` is off).
DEBUG = env_flag("NAR_DEBUG")
