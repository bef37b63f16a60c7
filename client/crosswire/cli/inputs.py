"""The texts a command works on: files or stdin, read as UTF-8; an input with no text is refused."""

from __future__ import annotations

import sys
from pathlib import Path

from crosswire.cli import CLIError

STDIN = "-"


def read_inputs(files: list[str]) -> list[tuple[str, str]]:
    """(name, text) for each input; '-' or nothing means stdin. Fails on a missing, unreadable or empty input."""
    inputs = []
    for name in files or [STDIN]:
        text = _read_stdin() if name == STDIN else _read_file(name)
        if not text.strip():
            raise CLIError(f"{'stdin' if name == STDIN else name} has no text ({'empty' if not text else 'only blanks'})")
        inputs.append((name, text))
    return inputs


def _read_stdin() -> str:
    if sys.stdin.isatty():  # a person at a terminal who gave no file: say why nothing happens
        print("crosswire: reading the text from the terminal; end it with Ctrl-D (or give a FILE)", file=sys.stderr)
    return sys.stdin.read()


def _read_file(name: str) -> str:
    try:
        return Path(name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CLIError(f"file not found: {name}") from None
    except IsADirectoryError:
        raise CLIError(f"{name} is a folder, not a text file") from None
    except UnicodeDecodeError as exc:
        raise CLIError(f"cannot read {name}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})") from None
    except OSError as exc:
        raise CLIError(f"cannot read {name}: {exc.strerror or exc}") from None
