"""The failures model management reports: each message says what went wrong and what to do."""

from __future__ import annotations


class ModelError(Exception):
    """Base class: an expected failure while listing, importing or fetching models."""


class UnknownModelError(ModelError, LookupError):
    """A model name that the registry (or the models folder) does not know."""


class InvalidModelError(ModelError):
    """A file or folder that cannot be imported as a model; the message names what is missing."""


class ModelExistsError(ModelError):
    """A model of that name is already installed."""


class FetchError(ModelError):
    """A model could not be fetched from any of its sources.

    `offline` is true when every source failed for network reasons (no route,
    DNS failure, HTTP error, interrupted download), in which case the message
    explains how to import the file by hand instead.
    """

    def __init__(self, message: str, *, offline: bool = False) -> None:
        super().__init__(message)
        self.offline = offline
