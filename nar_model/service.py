"""A warm search process: `SearchServer` answers search requests over HTTP on 127.0.0.1.

A query the dataset already has answers in about a second as a fresh process; an unseen model pays for
importing torch and its library first. ``nar search-server`` pays those imports once and writes
``DATA/_search/server.json`` (url, pid, encoder version, checkpoint path and mtime); a later ``nar search``
on the same dataset and encoder finds it with `find_server` and sends the query with `remote_search`. The
client half of this module uses only the standard library.

The server knows nothing of query forms: it calls ``answer(body) -> dict`` (the product layer's search)
and turns a ``ValueError`` into status 400 with its one-line message, anything else into 500 with
``"<ErrorClass>: <message>"`` on one line, never a traceback.

Protocol: ``GET /health`` -> ``{"ok": true, **health}``; ``POST /search`` with ``{"query": str, "k": int,
...}`` -> ``answer``'s dict, or ``{"error": str, "error_class": str}`` with status 400 / 500. One query runs
at a time (tracing is not thread-safe); the server binds only the host it is given (127.0.0.1 by default).
"""

from __future__ import annotations

import json
import os
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["SERVER_FILE", "SearchServer", "SearchServiceError", "find_server", "remote_search"]

#: Where a running server announces itself, relative to the dataset folder.
SERVER_FILE = Path("_search") / "server.json"


def _ckpt_stamp(ckpt: str | os.PathLike) -> tuple[str, float]:
    p = Path(ckpt).resolve()
    return str(p), p.stat().st_mtime


class SearchServer:
    """Serve ``answer(body) -> dict`` for dataset ``data``; ``health`` (e.g. the encoder version) is announced.

    Args:
        answer: called with the request body of each ``POST /search``; raises ValueError for a bad query.
        data: dataset folder (the announcement goes to ``data/_search/server.json``).
        health: JSON fields for ``GET /health`` and the announcement; ``encoder_version`` is what
            `find_server` matches on.
        ckpt: checkpoint file, announced with its mtime (clients that name a checkpoint match on it).
    """

    def __init__(self, answer: Callable[[dict[str, Any]], dict[str, Any]], data: str | os.PathLike,
                 health: dict[str, Any] | None = None, ckpt: str | os.PathLike | None = None,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        self.answer = answer
        self.data = Path(data)
        self.health = dict(health or {})
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer((host, port), self._handler())
        self.url = f"http://{host}:{self.httpd.server_port}"
        self._ckpt = _ckpt_stamp(ckpt) if ckpt is not None else ("", 0.0)
        self._thread: threading.Thread | None = None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                if self.path == "/health":
                    self._send(200, {"ok": True, **server.health})
                else:
                    self._send(404, {"error": f"no such path {self.path}; use GET /health or POST /search"})

            def do_POST(self) -> None:  # noqa: N802
                if self.path != "/search":
                    self._send(404, {"error": f"no such path {self.path}; use POST /search"})
                    return
                try:
                    body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
                        raise ValueError("no 'query' string")
                except ValueError as e:
                    self._send(400, {"error": f"bad request body ({e}); send {{\"query\": str, \"k\": int}}",
                                     "error_class": "BadRequest"})
                    return
                try:
                    with server._lock:
                        result = server.answer(body)
                except ValueError as e:  # the query's fault: its one-line reason
                    self._send(400, {"error": _one_line(e), "error_class": type(e).__name__})
                except Exception as e:  # noqa: BLE001 - anything else is still one line for the client
                    self._send(500, {"error": f"{type(e).__name__}: {_one_line(e)}", "error_class": type(e).__name__})
                else:
                    self._send(200, result)

            def log_message(self, *args: Any) -> None:  # quiet: the CLI prints what matters
                pass

        return Handler

    def _announce(self) -> None:
        path = self.data / SERVER_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"url": self.url, "pid": os.getpid(), "ckpt": self._ckpt[0],
                                   "ckpt_mtime": self._ckpt[1], **self.health}))
        os.replace(tmp, path)

    def start(self) -> "SearchServer":
        """Serve in a background thread (tests, notebooks); `close` stops it."""
        self._announce()
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted (``nar search-server``)."""
        self._announce()
        try:
            self.httpd.serve_forever()
        finally:
            self.close()

    def close(self) -> None:
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread = None
        self.httpd.server_close()
        path = self.data / SERVER_FILE
        try:
            if json.loads(path.read_text()).get("url") == self.url:
                path.unlink()
        except (OSError, ValueError):
            pass


def _one_line(e: BaseException, n: int = 500) -> str:
    text = " ".join(str(e).split())
    return text if len(text) <= n else text[:n] + "..."


def find_server(data: str | os.PathLike, encoder_version: str | None = None, ckpt: str | os.PathLike | None = None,
                timeout: float = 0.5) -> str | None:
    """The url of a live server for ``data`` with this encoder version (or this very checkpoint file: same
    path and mtime), else None."""
    try:
        info = json.loads((Path(data) / SERVER_FILE).read_text())
        if ckpt is not None and (info["ckpt"], info["ckpt_mtime"]) != _ckpt_stamp(ckpt):
            return None
        if encoder_version is not None and info.get("encoder_version") != encoder_version:
            return None
        os.kill(int(info["pid"]), 0)
        with urllib.request.urlopen(f"{info['url']}/health", timeout=timeout) as r:
            return str(info["url"]) if json.loads(r.read()).get("ok") else None
    except (OSError, ValueError, KeyError):
        return None


class SearchServiceError(ValueError):
    """The server's one-line answer to a failed query (``error_class`` names the error it raised there)."""

    def __init__(self, message: str, error_class: str = "", status: int = 400) -> None:
        super().__init__(message)
        self.error_class, self.status = error_class, status


def remote_search(url: str, body: dict[str, Any], timeout: float = 600.0) -> dict[str, Any]:
    """``POST /search`` on a running server; `SearchServiceError` carries its one-line reason."""
    req = urllib.request.Request(f"{url}/search", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as e:
        try:
            answer = json.loads(e.read() or b"{}")
        except ValueError:
            answer = {}
        raise SearchServiceError(answer.get("error", str(e)), answer.get("error_class", ""), e.code) from None
