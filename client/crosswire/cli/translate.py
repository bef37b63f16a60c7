"""`crosswire translate`: translate files or stdin, in-process or through a server."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from tqdm import tqdm

from crosswire.cli import CLIError
from crosswire.cli.backend import add_backend_arguments, connect
from crosswire.types import Translation

# Texts per call when there are many (so the progress bar moves).
CHUNK_TEXTS = 64


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "translate", help="translate text files or stdin",
        description="Translate each FILE (or stdin, '-') as one document; with --presegmented, each line "
                    "is one sentence. Prints the translation, keeping line and paragraph breaks.",
    )
    parser.add_argument("files", nargs="*", metavar="FILE", help="input files; '-' or none = stdin")
    parser.add_argument("--from", dest="source", metavar="LANG", help="source language (default: detect)")
    parser.add_argument("--to", dest="target", default="en", metavar="LANG", help="target language (default: en)")
    parser.add_argument("--model", help="model name (default: the default model for the pair)")
    parser.add_argument("--beam-size", type=int, help="beam width (default: the server's)")
    parser.add_argument("--num-hypotheses", type=int, default=1, help="hypotheses per sentence (jsonl shows them)")
    parser.add_argument("--scores", action="store_true", help="include log-probabilities (jsonl)")
    parser.add_argument("--max-decoding-length", type=int, help="most target tokens per sentence")
    parser.add_argument("--presegmented", action="store_true", help="one sentence per input line")
    parser.add_argument("--format", choices=("text", "jsonl"), default="text",
                        help="text: the translation; jsonl: one object per input with segments")
    add_backend_arguments(parser)
    parser.set_defaults(run=run)


def read_inputs(files: list[str]) -> list[tuple[str, str]]:
    """(name, text) for each input; '-' or nothing means stdin."""
    inputs = []
    for name in files or ["-"]:
        if name == "-":
            inputs.append(("-", sys.stdin.read()))
            continue
        try:
            inputs.append((name, Path(name).read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise CLIError(f"file not found: {name}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise CLIError(f"cannot read {name}: {exc}") from None
    return inputs


def _texts(inputs: list[tuple[str, str]], presegmented: bool) -> list[tuple[str, str]]:
    if not presegmented:
        return inputs
    return [(f"{name}:{n}", line) for name, text in inputs for n, line in enumerate(text.splitlines(), 1)]


def _jsonl(name: str, translation: Translation) -> str:
    record = {"input": name, **dataclasses.asdict(translation)}
    return json.dumps(record, ensure_ascii=False, default=lambda value: getattr(value, "value", str(value)))


def run(args: argparse.Namespace) -> int:
    texts = _texts(read_inputs(args.files), args.presegmented)
    settings = dict(source=args.source, target=args.target, model=args.model, beam_size=args.beam_size,
                    num_hypotheses=args.num_hypotheses, return_scores=args.scores,
                    max_decoding_length=args.max_decoding_length, presegmented=args.presegmented)
    backend = connect(args)
    chunks = [texts[i:i + CHUNK_TEXTS] for i in range(0, len(texts), CHUNK_TEXTS)]
    progress = tqdm(total=len(texts), unit="text", disable=not sys.stderr.isatty() or len(chunks) < 2,
                    file=sys.stderr)
    try:
        for chunk in chunks:
            results = backend.translate([text for _, text in chunk], **settings)
            for (name, _), translation in zip(chunk, results):
                if args.format == "jsonl":
                    print(_jsonl(name, translation))
                else:
                    print(translation.text)
            sys.stdout.flush()
            progress.update(len(chunk))
    finally:
        progress.close()
        backend.close()
    return 0
