"""Logging set-up: one line per event, JSON by default so that logs can be queried.

Whatever a client sent may end up in a log line or an error message, so both
go through `clip`: at most MAX_FIELD_CHARS characters, control characters
escaped, so a field can neither fill the disk nor forge a line of its own.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from typing import Any

#: The most characters of one logged field or one error message.
MAX_FIELD_CHARS = 1000
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


def clip(text: str, limit: int = MAX_FIELD_CHARS) -> str:
    """`text` with control characters escaped (\\n, \\x1b…) and cut to `limit` characters, saying how much was cut."""
    escaped = _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)
    if len(escaped) <= limit:
        return escaped
    return f"{escaped[:limit]}… ({len(escaped) - limit} more characters)"


def _clipped(value: Any) -> Any:
    return clip(value) if isinstance(value, str) else value


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object; fields passed as extra={"fields": {...}} are merged in."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": clip(record.getMessage()),
            **{key: _clipped(value) for key, value in getattr(record, "fields", {}).items()},
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """Human-readable lines: time, level, message and key=value fields."""

    def format(self, record: logging.LogRecord) -> str:
        fields = " ".join(f"{k}={clip(str(v))}" for k, v in getattr(record, "fields", {}).items())
        line = f"{self.formatTime(record)} {record.levelname.lower():7} {clip(record.getMessage())} {fields}".rstrip()
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure_logging(log_format: str = "json", level: int = logging.INFO) -> None:
    """Send crosswire's logs to stderr in the chosen format."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger("crosswire")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
