"""Environment-derived constants. No logic beyond reading the environment."""

from __future__ import annotations

import os
from pathlib import Path

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
#: Show full tracebacks in the CLI.
DEBUG = os.environ.get("NAR_DEBUG", "0") == "1"
