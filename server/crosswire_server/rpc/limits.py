"""A request's own limits, checked from its counts before the memory budget is charged.

A request over a limit can never succeed, whatever the load: it must be
INVALID_ARGUMENT naming the limit, never RESOURCE_EXHAUSTED with a retry hint
because the budget happened to be full. Only counts that need no work (texts,
characters, documents) are checked here; the handlers check the rest.
"""

from __future__ import annotations

from typing import Any

from crosswire_server.config import ServerConfig
from crosswire_server.errors import InvalidInput


def _check_texts(texts: Any, config: ServerConfig) -> None:
    if len(texts) > config.max_texts:
        raise InvalidInput(f"{len(texts)} texts is over the limit max_texts={config.max_texts}", limit="max_texts")
    chars = sum(len(text) for text in texts)
    if chars > config.max_chars:
        raise InvalidInput(f"{chars} characters is over the limit max_chars={config.max_chars}", limit="max_chars")


def _check_chars(chars: int, config: ServerConfig) -> None:
    if chars > config.max_chars:
        raise InvalidInput(f"text has {chars} characters, over the limit max_chars={config.max_chars}",
                           limit="max_chars")


def _check_targets(count: int, field: str, config: ServerConfig) -> None:
    if count > config.max_align_targets:
        raise InvalidInput(f"{field}: {count} documents, the limit is {config.max_align_targets} "
                           "(max_align_targets)", field=field, limit="max_align_targets")


def check_request_limits(method: str, request: Any, config: ServerConfig) -> None:
    """Raise InvalidInput when `request` (of the named method) is over one of its count limits."""
    if method == "Translate":
        _check_texts(request.texts, config)
    elif method == "Segment":
        _check_chars(len(request.text), config)
    elif method == "Align":
        _check_targets(len(request.targets), "targets", config)
    elif method == "Compare":
        _check_targets(len(request.articles), "articles", config)
    elif method == "AddArticles" and len(request.articles) > config.max_library_batch:
        raise InvalidInput(f"articles has {len(request.articles)} articles, over the limit "
                           f"max_library_batch={config.max_library_batch}", field="articles",
                           limit="max_library_batch")
