"""Prefect settings nar needs before `prefect` is imported: import this module first in every flow file.

* No server by default: with ``PREFECT_API_URL`` unset, Prefect starts a temporary local API (the
  "ephemeral" mode) for the process. On a loaded 2-core machine its first start (database migrations)
  takes 30-60 s, over Prefect's 20 s default, so the start-up timeout is raised.
* With ``PREFECT_API_URL`` set (e.g. ``http://127.0.0.1:4200/api`` after ``prefect server start``),
  runs, logs and artifacts go to that server instead; nothing here changes that.
* No telemetry (this project runs offline).

Values already in the environment win (``setdefault``).
"""

from __future__ import annotations

import os

os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
