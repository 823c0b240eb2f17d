"""Errors of the product layer: one root, each a ``ValueError`` too, each message one line that says what to do."""

from __future__ import annotations

__all__ = ["AmbiguousQueryError", "BuildFailedError", "NarError", "QueryError", "RemoteCodeRefusedError",
           "UnknownModelError"]


class NarError(Exception):
    """Root of nar's own errors."""


class QueryError(NarError, ValueError):
    """A query that cannot be answered; ``str(e)`` is the one-line reason shown by the CLI and the server."""


class UnknownModelError(QueryError, LookupError):
    """The query names nothing: not in the dataset, no registry entry, no such file or Hub repo."""


class AmbiguousQueryError(QueryError):
    """A bare name that several models answer to; the message lists them."""

    def __init__(self, message: str, candidates: list[str]) -> None:
        super().__init__(message)
        self.candidates = candidates


class RemoteCodeRefusedError(QueryError):
    """A repo that needs its own Python code, asked for without ``--trust-remote-code``."""


class BuildFailedError(QueryError):
    """The query resolved but its model could not be built or traced (the library's reason is in the message)."""
