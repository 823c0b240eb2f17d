"""Progress of a long step, wherever its output goes.

On a terminal: a rich bar with rate and ETA (and the step's own fields, e.g. ok / failed / loss). Off a
terminal (a pipe, a log file, a CI job): one plain line on stderr every ``every`` items or every
``seconds``, whichever comes first (also while nothing finishes, e.g. while workers start), and one at
the end, never cut to the width of a console.

A `Reporter` also counts the rows the step wrote to the dataset; when the step is interrupted it puts
that count on the exception (``rows_kept``), so the CLI can say what was kept.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import IO, Any

__all__ = ["Reporter"]


def _fmt_eta(seconds: float) -> str:
    if seconds != seconds or seconds == float("inf"):  # nan / unknown
        return "?"
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else \
        f"{seconds // 60}:{seconds % 60:02d}"


class Reporter:
    """Progress of one step: `advance` per item, `update` for fields; use as a context manager.

    Args:
        label: what runs (``trace``, ``crawl``, ``embed``).
        total: items expected (``None``: unknown, no bar or ETA).
        every: off a terminal, print a line after this many items ...
        seconds: ... or after this many seconds, whichever comes first.
        stream: where to write (default stderr); a terminal gets the rich bar.
        bar: force the rich bar on (``True``) or off (``False``); default: whether ``stream`` is a terminal.
    """

    def __init__(self, label: str, total: int | None = None, *, every: int = 25, seconds: float = 10.0,
                 stream: IO[str] | None = None, bar: bool | None = None, **fields: Any) -> None:
        self.label, self.total, self.every, self.seconds = label, total, every, seconds
        self.stream = stream or sys.stderr
        self.fields: dict[str, Any] = dict(fields)
        self.done = 0
        self.rows = 0  # rows this step wrote to the dataset
        self._bar_on = self.stream.isatty() if bar is None else bar
        self._progress: Any = None
        self._task: Any = None
        self._start = self._last_line = time.monotonic()
        self._last_done = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None

    # -- context
    def __enter__(self) -> "Reporter":
        self._start = self._last_line = time.monotonic()
        if not self._bar_on:
            self._heartbeat = threading.Thread(target=self._beat, name=f"{self.label}-progress", daemon=True)
            self._heartbeat.start()
        if self._bar_on:
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn,
                                       TimeElapsedColumn, TimeRemainingColumn)

            columns = ([TextColumn(f"[bold]{self.label}"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("{task.fields[rate]}"), TimeRemainingColumn()] if self.total is not None
                       else [SpinnerColumn(), TextColumn(f"[bold]{self.label}"), TimeElapsedColumn()])
            columns.append(TextColumn("{task.fields[text]}"))
            self._progress = Progress(*columns, console=Console(file=self.stream), transient=False)
            self._progress.__enter__()
            self._task = self._progress.add_task(self.label, total=self.total, rate="", text=self._text())
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        self._stop.set()
        if self._progress is not None:
            self._refresh_bar()
            self._progress.__exit__(exc_type, exc, tb)
        elif self.done:  # nothing done: no line (an error before the first item says enough)
            self._line(final=True, stopped=exc is not None)
        if exc is not None and hasattr(exc, "rows_kept"):  # an interrupt: say what the dataset kept
            exc.rows_kept = self.rows

    # -- updates
    def advance(self, n: int = 1, *, rows: int = 0, **fields: Any) -> None:
        """``n`` more items done, ``rows`` more rows written; ``fields`` replace the shown values."""
        with self._lock:
            self.done += n
            self.rows += rows
            self.fields.update(fields)
        self._tick()

    def update(self, *, done: int | None = None, rows: int | None = None, **fields: Any) -> None:
        """Set absolute values (a crawl reports running totals per page)."""
        with self._lock:
            if done is not None:
                self.done = done
            if rows is not None:
                self.rows = rows
            self.fields.update(fields)
        self._tick()

    # -- rendering
    def _text(self) -> str:
        return " ".join(f"{k} {self._value(v)}" for k, v in self.fields.items())

    @staticmethod
    def _value(v: Any) -> str:
        return f"{v:.4g}" if isinstance(v, float) else str(v)

    def _rate(self) -> float:
        elapsed = time.monotonic() - self._start
        return self.done / elapsed if elapsed > 0 else 0.0

    def _tick(self) -> None:
        if self._progress is not None:
            self._refresh_bar()
            return
        now = time.monotonic()
        if self.done - self._last_done >= self.every or now - self._last_line >= self.seconds:
            self._line()

    def _beat(self) -> None:
        """Off a terminal: a line every ``seconds`` even when no item finishes."""
        while not self._stop.wait(self.seconds / 2):
            if time.monotonic() - self._last_line >= self.seconds:
                self._line()

    def _refresh_bar(self) -> None:
        rate = self._rate()
        self._progress.update(self._task, completed=self.done, rate=f"{rate:.2f}/s" if rate else "",
                              text=self._text())

    def _line(self, final: bool = False, stopped: bool = False) -> None:
        with self._lock:
            self._write_line(final, stopped)

    def _write_line(self, final: bool, stopped: bool) -> None:
        now = time.monotonic()
        self._last_line, self._last_done = now, self.done
        rate = self._rate()
        count = f"{self.done}/{self.total}" if self.total is not None else str(self.done)
        parts = [f"{self.label}: {count}", f"{rate:.2f}/s"]
        if self.total is not None and not final:
            parts.append(f"ETA {_fmt_eta((self.total - self.done) / rate if rate else float('nan'))}")
        parts.append(f"{now - self._start:.0f}s")
        if self.fields:
            parts.append(self._text())
        end = " (stopped)" if stopped else " (done)" if final else ""
        # a write, not print(): inside a Prefect task with log_prints, print(file=sys.stderr) becomes a log record
        # below the log level, and the line would never reach stderr (how `nar build` lost its trace progress)
        self.stream.write(" | ".join(parts) + end + "\n")
        self.stream.flush()
