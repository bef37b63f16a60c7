"""`crosswire translate --corpus/--output`: bulk translation to JSONL records (crosswire.bulk does the work).

This module turns the arguments into inputs, a backend to translate chunks
with (a server through the asyncio client, or the engine in this process), a
progress bar and the end-of-run summary; exit status 1 when any input failed.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

from crosswire import bulk
from crosswire.cli import CLIError
from crosswire.cli.arguments import positive_int
from crosswire.cli.backend import LocalBackend, RemoteBackend, connect, remote_failure
from crosswire.cli.inputs import STDIN
from crosswire.cli.records import message_dict
from crosswire.client import AsyncClient, CrosswireError, TranslateSettings
from crosswire.convert import translation_to_pb
from crosswire.types import Translation


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The bulk flags of `translate`."""
    group = parser.add_argument_group(
        "bulk", "With --corpus or --output: JSONL records out, in input order, each input record with its "
                "\"translation\" added; inputs that fail are listed at the end (exit status 1).")
    group.add_argument("--corpus", action="store_true",
                       help='each FILE is JSONL, one {"id": ..., "text": ...} object per line (other fields are kept)')
    group.add_argument("--output", "-o", type=Path, metavar="OUT",
                       help="write the records to OUT (default: stdout); a re-run with the same OUT skips the ids "
                            "already there. Text FILEs become records with the file (or, --presegmented, "
                            "FILE:LINE) as id")
    group.add_argument("--parallel", type=positive_int, default=bulk.PARALLEL, metavar="N",
                       help=f"chunks (Translate calls of up to {bulk.CHUNK_CHARS} characters) in flight at once; "
                            f"about two per translator replica keeps every one busy (default: {bulk.PARALLEL})")
    progress = group.add_mutually_exclusive_group()
    progress.add_argument("--progress", action="store_true", default=None,
                          help="show a progress bar on stderr (default: when stderr is a terminal)")
    progress.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")


def wanted(args: argparse.Namespace) -> bool:
    """Whether the arguments ask for bulk translation."""
    return bool(args.corpus or args.output)


def _items(args: argparse.Namespace, stdin: list[str] | None) -> Iterator[bulk.Item]:
    """Every input as items, read lazily, file after file."""
    for name in args.files or [STDIN]:
        if args.corpus:
            yield from bulk.corpus_items("stdin" if name == STDIN else name, stdin if name == STDIN else _lines(name))
        else:
            text = "\n".join(stdin or []) if name == STDIN else _text(name)
            if text is None:
                yield bulk.Item(name, {}, problem="not UTF-8 text")
            else:
                yield from bulk.text_items(name, text, args.presegmented)


def _lines(name: str) -> Iterator[bytes]:
    with open(name, "rb") as handle:
        yield from handle


def _text(name: str) -> str | None:
    try:
        return Path(name).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return None


def _check_files(files: list[str]) -> None:
    """Fail before any work on an input that cannot be opened (one line, as every command does)."""
    for name in files:
        if name == STDIN:
            continue
        path = Path(name)
        if not path.exists():
            raise CLIError(f"file not found: {name}")
        if path.is_dir():
            raise CLIError(f"{name} is a folder, not a file")


def run(args: argparse.Namespace, settings: TranslateSettings) -> int:
    """Translate every input to records; print the summary; 1 when any input failed."""
    _check_files(args.files)
    stdin = sys.stdin.read().splitlines() if STDIN in (args.files or [STDIN]) else None
    try:
        done = bulk.resume(args.output) if args.output else set()
    except (ValueError, OSError) as exc:
        raise CLIError(str(exc)) from None
    total = sum(1 for _ in bulk.unique(_items(args, stdin), done))
    backend = connect(args)
    out = bulk.open_output(args.output) if args.output else None

    def write(lines: list[str]) -> None:
        if out is None:
            sys.stdout.write("".join(lines))
            sys.stdout.flush()
        else:
            out.write("".join(lines).encode("utf-8"))
            out.flush()

    bar = _progress_bar(args, total)
    began = time.perf_counter()
    sentences = 0

    def progress(texts: int, new_sentences: int) -> None:
        nonlocal sentences
        sentences += new_sentences
        bar.update(texts)
        if not args.presegmented:
            bar.set_postfix_str(f"{sentences / max(time.perf_counter() - began, 1e-9):.1f} sentences/s")

    extra = (lambda t: {"result": message_dict(translation_to_pb(t))}) if args.format == "jsonl" else None

    async def work(translate: bulk.Translate) -> bulk.Summary:
        return await bulk.translate_all(_items(args, stdin), translate, write, parallel=args.parallel,
                                        done=done, progress=progress, extra=extra)

    try:
        summary = _run_on(backend, work, settings)
    finally:
        bar.close()
        backend.close()
        if out is not None:
            out.close()
    for line in bulk.summary_lines(summary, time.perf_counter() - began):
        print(f"crosswire: {line}", file=sys.stderr)
    return 1 if summary.failures else 0


def _run_on(backend: Any, work: Callable[[bulk.Translate], Awaitable[bulk.Summary]],
            settings: TranslateSettings) -> bulk.Summary:
    """Run `work` with a chunk translator on the backend: the asyncio client for a server, else the engine."""
    if isinstance(backend, RemoteBackend):
        import asyncio

        return asyncio.run(_remote(backend, work, settings))
    assert isinstance(backend, LocalBackend)
    return backend.run(work(_local(backend, settings)))


async def _remote(backend: RemoteBackend, work: Callable[[bulk.Translate], Awaitable[bulk.Summary]],
                  settings: TranslateSettings) -> bulk.Summary:
    import grpc

    async with AsyncClient(backend.address, **backend.client_settings) as client:
        async def translate(texts: list[str]) -> list[Translation]:
            try:
                return await client.translate(texts, **settings)
            except CrosswireError as exc:
                full = exc.code == grpc.StatusCode.RESOURCE_EXHAUSTED and exc.retry_after is not None
                per_text = exc.code == grpc.StatusCode.INVALID_ARGUMENT or (
                    exc.code == grpc.StatusCode.RESOURCE_EXHAUSTED and not full)
                raise bulk.ChunkError(remote_failure(backend.address, backend.timeout, exc), per_text=per_text,
                                      retry_after=exc.retry_after if full else None) from None

        return await work(translate)


def _local(backend: LocalBackend, settings: TranslateSettings) -> bulk.Translate:
    from crosswire_server.errors import CrosswireError as CoreError
    from crosswire_server.errors import InvalidInput, Overloaded

    async def translate(texts: list[str]) -> list[Translation]:
        try:
            return await backend.translate_async(texts, **settings)
        except CoreError as exc:
            retry_after = backend.config.retry_after_s if isinstance(exc, Overloaded) else None
            raise bulk.ChunkError(str(exc), per_text=isinstance(exc, InvalidInput), retry_after=retry_after) from None

    return translate


def _progress_bar(args: argparse.Namespace, total: int) -> Any:
    """A tqdm bar on stderr with rate and ETA: on a terminal, or when --progress asks for it."""
    from tqdm import tqdm

    show = args.progress if args.progress is not None else sys.stderr.isatty()
    unit = "sentence" if args.presegmented else "text"
    return tqdm(total=total, unit=unit, file=sys.stderr, disable=not show, smoothing=0.1)
