"""`crosswire segment`: show how an article splits into sentences, with roles and duplicates."""

from __future__ import annotations

import argparse
import json
import re
import sys

from crosswire.cli.backend import add_backend_arguments, connect
from crosswire.cli.translate import read_inputs
from crosswire.types import Document, Sentence

_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "segment", help="split an article into sentences with roles",
        description="Split FILE (or stdin, '-') into sentences: offsets into the text, paragraph, role "
                    "(headline, dateline, body, caption, ...) and the sentence it duplicates, if any.",
    )
    parser.add_argument("file", nargs="?", default="-", metavar="FILE", help="input file; '-' or none = stdin")
    parser.add_argument("--lang", default="", type=language_code, metavar="LANG",
                        help="language of the text, e.g. ru (default: detect)")
    parser.add_argument("--format", choices=("text", "jsonl"), default="text",
                        help="text: a readable listing; jsonl: one object per sentence")
    add_backend_arguments(parser)
    parser.set_defaults(run=run)


def language_code(value: str) -> str:
    """Accept an ISO 639 code such as 'ru' or 'zh-Hans'; anything else is a usage error."""
    if value and not _LANGUAGE.fullmatch(value):
        raise argparse.ArgumentTypeError(f"not a language code such as 'ru' or 'en': {value[:20]!r}")
    return value


def sentence_record(sentence: Sentence) -> dict:
    """The JSON object printed for one sentence."""
    return {
        "index": sentence.index,
        "start": sentence.start,
        "end": sentence.end,
        "text": sentence.text,
        "paragraph": sentence.paragraph,
        "role": sentence.role.value,
        "duplicate_of": sentence.duplicate_of,
        "forced_split": sentence.forced_split,
    }


def listing(document: Document) -> str:
    """One line per sentence: index, offsets, paragraph, role, duplicate mark, text."""
    lines = []
    for s in document.sentences:
        duplicate = f"= {s.duplicate_of}" if s.duplicate_of is not None else ""
        forced = " [cut]" if s.forced_split else ""
        text = s.text.replace("\r\n", "⏎").replace("\n", "⏎").replace("\r", "⏎")
        lines.append(f"{s.index:>4} {s.start:>7}-{s.end:<7} ¶{s.paragraph:<4} {s.role.value:<11} {duplicate:<6} "
                     f"{text}{forced}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    [(_, text)] = read_inputs([args.file])
    backend = connect(args)
    try:
        document = backend.segment(text, args.lang)
    finally:
        backend.close()
    if args.format == "jsonl":
        for sentence in document.sentences:
            print(json.dumps(sentence_record(sentence), ensure_ascii=False))
    else:
        print(f"# language: {document.language or '-'}, {len(document.sentences)} sentences", file=sys.stderr)
        if document.sentences:
            print(listing(document))
    return 0
