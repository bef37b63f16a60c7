"""The `crosswire` command: one sub-module per sub-command.

Each sub-module defines `register(subparsers)`, which adds its parser and sets
`run=` to a function taking the parsed arguments and returning an exit code.
Exit codes: 0 ok, 1 expected runtime failure (one line on stderr, no
traceback), 2 usage error (argparse's own).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

import crosswire

# gRPC's C core otherwise logs transport failures (e.g. a TLS handshake) on stderr at INFO level,
# around the CLI's own one-line message; read when grpc is first imported, so set before that.
os.environ.setdefault("GRPC_VERBOSITY", "ERROR")

COMMANDS = ["serve", "translate", "segment", "models", "align", "compare", "library", "keys"]


class CLIError(Exception):
    """An expected failure: shown as one line on stderr, exit status 1."""


def require_server_side() -> None:
    """Fail with a clear message when the server extra is not installed."""
    try:
        importlib.import_module("crosswire_server")
        importlib.import_module("ctranslate2")
    except ImportError as exc:
        raise CLIError(
            f"this command runs models and needs the server side ({exc.name} is missing): "
            "pip install 'crosswire[server]'"
        ) from None


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every sub-command registered."""
    parser = argparse.ArgumentParser(
        prog="crosswire",
        description="Translate Russian news into English and line it up with English coverage.",
        epilog="Exit status: 0 ok, 1 expected failure (one line on stderr), 2 usage error.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {crosswire.__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"crosswire.cli.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `crosswire` console script."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except CLIError as exc:
        print(f"crosswire: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug: still one line, so scripts can rely on the format
        print(f"crosswire: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
