"""A warm search process: `SearchServer` keeps a `Searcher` loaded and answers queries over HTTP on 127.0.0.1.

A fresh ``nar search`` spends most of its time importing torch, torch_geometric, timm and transformers;
the query itself (build + trace + embed + search) took 0.06-0.38 s for the timm/torchvision models in the
README. ``nar search-server`` pays the imports once and writes ``DATA/_search/server.json`` (url, pid,
checkpoint path and mtime); a later ``nar search`` on the same data and checkpoint finds it with
`find_server` and sends the query with `remote_search`. The client half of this module uses only the
standard library, so such a search never imports torch.

Protocol: ``GET /health`` -> ``{"ok": true, "encoder_version": ...}``; ``POST /search`` with
``{"query": str, "k": int}`` -> the dict of `Searcher.query`, or ``{"error": ...}`` with status 400 (a
query that cannot be resolved) / 500 (anything else). One query runs at a time (tracing is not
thread-safe); the server never binds anything but the host it is given (127.0.0.1 by default).
"""

from __future__ import annotations

import json
import os
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

__all__ = ["SERVER_FILE", "SearchServer", "find_server", "remote_search"]

#: Where a running server announces itself, relative to the dataset folder.
SERVER_FILE = Path("_search") / "server.json"


def _ckpt_stamp(ckpt: str | os.PathLike) -> tuple[str, float]:
    p = Path(ckpt).resolve()
    return str(p), p.stat().st_mtime


class SearchServer:
    """Serve ``Searcher(data, ckpt)``; ``warm`` is a query run once at start-up so the tracing stack is imported."""

    def __init__(self, data: str | os.PathLike, ckpt: str | os.PathLike, host: str = "127.0.0.1", port: int = 0,
                 warm: str | None = "timm:resnet18", backend: str = "auto") -> None:
        from .search import Searcher

        self.data = Path(data)
        self.searcher = Searcher(data, ckpt, backend)
        if warm:
            try:
                self.searcher.query(warm, 1)
            except Exception:  # noqa: BLE001 - warming is an optimisation; the server still answers
                pass
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer((host, port), self._handler())
        self.url = f"http://{host}:{self.httpd.server_port}"
        self._ckpt = _ckpt_stamp(ckpt)
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
                    self._send(200, {"ok": True, "encoder_version": server.searcher.version,
                                     "database": len(server.searcher.index)})
                else:
                    self._send(404, {"error": f"no such path {self.path}; use GET /health or POST /search"})

            def do_POST(self) -> None:  # noqa: N802
                if self.path != "/search":
                    self._send(404, {"error": f"no such path {self.path}; use POST /search"})
                    return
                try:
                    body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                    query, k = str(body["query"]), int(body.get("k", 10))
                except (ValueError, KeyError, TypeError) as e:
                    self._send(400, {"error": f"bad request body ({e}); send {{\"query\": str, \"k\": int}}"})
                    return
                try:
                    with server._lock:
                        result = server.searcher.query(query, k)
                except ValueError as e:
                    self._send(400, {"error": str(e)})
                except Exception as e:  # noqa: BLE001 - a model that fails to build/trace is the client's answer
                    self._send(500, {"error": f"{type(e).__name__}: {e}"})
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
                                   "ckpt_mtime": self._ckpt[1], "encoder_version": self.searcher.version}))
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


def find_server(data: str | os.PathLike, ckpt: str | os.PathLike, timeout: float = 0.5) -> str | None:
    """The url of a live server for ``data`` and this very checkpoint file (same path and mtime), else None."""
    try:
        info = json.loads((Path(data) / SERVER_FILE).read_text())
        if (info["ckpt"], info["ckpt_mtime"]) != _ckpt_stamp(ckpt):
            return None
        os.kill(int(info["pid"]), 0)
        with urllib.request.urlopen(f"{info['url']}/health", timeout=timeout) as r:
            return str(info["url"]) if json.loads(r.read()).get("ok") else None
    except (OSError, ValueError, KeyError):
        return None


def remote_search(url: str, query: str, k: int = 10, timeout: float = 600.0) -> dict[str, Any]:
    """``POST /search`` on a running server; raises ValueError for an unresolvable query, RuntimeError otherwise."""
    req = urllib.request.Request(f"{url}/search", data=json.dumps({"query": query, "k": k}).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as e:
        message = json.loads(e.read() or b"{}").get("error", str(e))
        raise (ValueError if e.code == 400 else RuntimeError)(message) from None
