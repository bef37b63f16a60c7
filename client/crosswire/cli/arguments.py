"""Argument types and options several commands share; a bad value is a usage error (exit 2)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from crosswire.balancing import tls_name
from crosswire.client import target
from crosswire.credentials import API_KEY_ENV, check_api_key
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


def add_credential_arguments(group: argparse._ArgumentGroup) -> None:
    """--api-key-file and the client certificate for mutual TLS; the key itself comes from CROSSWIRE_API_KEY.

    A key is never taken on the command line, where `ps` and shell history would show it.
    """
    group.add_argument("--api-key-file", metavar="FILE", type=Path,
                       help=f"read the API key from FILE (default: the {API_KEY_ENV} variable, if set)")
    group.add_argument("--tls-client-cert", metavar="PEM", type=Path,
                       help="for a server that requires client certificates (mutual TLS): this certificate")
    group.add_argument("--tls-client-key", metavar="PEM", type=Path, help="the private key of --tls-client-cert")


def client_credentials(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Client keyword arguments from --api-key-file (else CROSSWIRE_API_KEY) and the client certificate flags."""
    from crosswire.cli import CLIError

    environ = os.environ if environ is None else environ
    credentials: dict[str, Any] = {}
    key = _read(args.api_key_file, "--api-key-file").decode("utf-8", "replace") if args.api_key_file \
        else environ.get(API_KEY_ENV, "")
    if key.strip():
        try:
            credentials["api_key"] = check_api_key(key)
        except ValueError as exc:
            source = f"--api-key-file {args.api_key_file}" if args.api_key_file else API_KEY_ENV
            raise CLIError(f"{source}: {exc}") from None
    if bool(args.tls_client_cert) != bool(args.tls_client_key):
        raise CLIError("--tls-client-cert and --tls-client-key go together (a certificate and its private key)")
    if args.tls_client_cert:
        credentials["certificate_chain"] = _read(args.tls_client_cert, "--tls-client-cert")
        credentials["private_key"] = _read(args.tls_client_key, "--tls-client-key")
    return credentials


def _read(path: Path, flag: str) -> bytes:
    from crosswire.cli import CLIError

    try:
        return path.read_bytes()
    except OSError as exc:
        raise CLIError(f"cannot read {flag} {path}: {exc.strerror or exc}") from None
