"""Errors of the core, each meaning one kind of failure the gRPC layer maps to a status."""

from __future__ import annotations

import threading


class CrosswireError(Exception):
    """Base of the core's expected failures; the message is shown to the caller.

    `field` (a request field path, e.g. "texts[2]") and `limit` (a setting, e.g.
    "max_chars") say what failed in machine-readable form, where the raiser knows.
    """

    def __init__(self, message: str = "", *, field: str = "", limit: str = "") -> None:
        super().__init__(message)
        self.field = field
        self.limit = limit


class InvalidInput(CrosswireError):
    """The request is malformed or over a limit (INVALID_ARGUMENT)."""


class UnsupportedPair(InvalidInput):
    """No installed model translates the requested language pair (INVALID_ARGUMENT)."""


class NotFound(CrosswireError):
    """What the request names does not exist, e.g. an article the library does not hold (NOT_FOUND)."""


class Overloaded(CrosswireError):
    """A bounded queue is full; the caller should retry later (RESOURCE_EXHAUSTED)."""


class NotReady(CrosswireError):
    """The server is still loading or has no model (UNAVAILABLE)."""


class Stopped(CrosswireError):
    """The caller stopped waiting (cancelled, or past its deadline), so the work was abandoned (CANCELLED)."""

    @classmethod
    def check(cls, stop: threading.Event | None) -> None:
        """Raise Stopped when `stop` is set; long work calls this between its steps."""
        if stop is not None and stop.is_set():
            raise cls("the caller stopped waiting; the work was abandoned")
