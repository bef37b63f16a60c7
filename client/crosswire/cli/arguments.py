"""Argument types and options several commands share; a bad value is a usage error (exit 2)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TypeVar

from crosswire.balancing import tls_name
from crosswire.client import target
from crosswire.types import ALIGNMENT_LANGUAGES, LANGUAGE_CODE

#: The --from value that leaves the source language to the service (sent as "").
DETECT = "detect"
N = TypeVar("N", int, float)


def positive_int(value: str) -> int:
    """An integer of at least 1."""
    number = _number(value, int, "an integer")
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return number


def positive_float(value: str) -> float:
    """A number of seconds above 0."""
    number = _number(value, float, "a number")
    if not number > 0 or number == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number of seconds above 0, got {value}")
    return number


def _number(value: str, kind: Callable[[str], N], what: str) -> N:
    try:
        return kind(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not {what}: {value[:20]!r}") from None


def language_code(value: str) -> str:
    """An ISO 639 code such as 'ru' (the models installed decide which pairs work)."""
    if not LANGUAGE_CODE.fullmatch(value):
        raise argparse.ArgumentTypeError(f"not a language code such as 'ru' or 'en': {value[:20]!r}")
    return value.lower()


def known_language(value: str) -> str:
    """A language the segmentation rules and the sentence encoder are built for (ALIGNMENT_LANGUAGES)."""
    if value.lower() not in ALIGNMENT_LANGUAGES:
        raise argparse.ArgumentTypeError(
            f"{value[:20]!r} is not supported; use one of {', '.join(ALIGNMENT_LANGUAGES)}")
    return value.lower()


def detect_or(language: Callable[[str], str]) -> Callable[[str], str]:
    """An argument type that also takes 'detect', meaning "leave it to the service" ("")."""

    def parse(value: str) -> str:
        return "" if value.lower() == DETECT else language(value)

    return parse


def server_address(value: str) -> str:
    """HOST[:PORT] as a gRPC target, port 50051 by default; a comma-separated list is checked and kept as written.

    The client resolves a list itself, and checks TLS certificates against its first host as written.
    """
    try:
        resolved = target(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value.strip() if tls_name(value) else resolved


def add_language_arguments(parser: argparse.ArgumentParser, known_only: bool = False) -> None:
    """--from (default: detect) and --to (default: en), the same in every command that takes them.

    With `known_only`, only ALIGNMENT_LANGUAGES; otherwise any code (the installed models decide).
    """
    language = known_language if known_only else language_code
    codes = ", ".join(ALIGNMENT_LANGUAGES) if known_only else "a code such as ru"
    parser.add_argument("--from", dest="source_language", default=DETECT, type=detect_or(language), metavar="LANG",
                        help=f"source language: {codes}, or {DETECT} to leave it to the service (default: {DETECT})")
    parser.add_argument("--to", dest="target_language", default="en", type=language, metavar="LANG",
                        help=f"target language: {codes} (default: en)")
