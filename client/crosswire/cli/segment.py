"""`crosswire segment`: show how an article splits into sentences, with roles and duplicates."""

from __future__ import annotations

import argparse
import sys

from crosswire.cli.arguments import DETECT, detect_or, known_language
from crosswire.cli.backend import add_backend_arguments, connect
from crosswire.cli.inputs import read_inputs
from crosswire.cli.records import dumps, sentence_records
from crosswire.types import ALIGNMENT_LANGUAGES, Document, Sentence

# The listing's columns: name, width and alignment (the text comes last, unpadded).
_COLUMNS = (("#", 4, ">"), ("START", 7, ">"), ("END", 7, ">"), ("PARA", 4, ">"), ("ROLE", 11, "<"), ("DUP", 4, ">"))


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "segment", help="split an article into sentences with roles",
        description="Split FILE (or stdin, '-') into sentences: offsets into the text, paragraph, role "
                    "(headline, dateline, body, caption, ...) and the sentence it duplicates, if any.",
    )
    parser.add_argument("file", nargs="?", default="-", metavar="FILE", help="input file; '-' or none = stdin")
    parser.add_argument("--lang", default=DETECT, type=detect_or(known_language), metavar="LANG",
                        help=f"language of the text: {', '.join(ALIGNMENT_LANGUAGES)} or {DETECT} (default: {DETECT})")
    parser.add_argument("--format", choices=("text", "jsonl"), default="text",
                        help="text: a readable listing; jsonl: one crosswire.v1.Sentence per line")
    add_backend_arguments(parser, engine=False)
    parser.set_defaults(run=run)


def _row(cells: list[str]) -> str:
    return " ".join(f"{cell:{align}{width}}" for cell, (_, width, align) in zip(cells, _COLUMNS))


def _cells(s: Sentence) -> list[str]:
    duplicate = "" if s.duplicate_of is None else str(s.duplicate_of)
    text = s.text.replace("\r\n", "⏎").replace("\n", "⏎").replace("\r", "⏎")
    return [str(s.index), str(s.start), str(s.end), str(s.paragraph), s.role.value, duplicate,
            text + (" [cut]" if s.forced_split else "")]


def listing(document: Document) -> str:
    """A header, then one line per sentence: index, offsets, paragraph, role, duplicated sentence, text."""
    lines = [_row([name for name, *_ in _COLUMNS]) + " TEXT"]
    lines += [_row(cells) + " " + cells[-1] for cells in map(_cells, document.sentences)]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    [(_, text)] = read_inputs([args.file])
    backend = connect(args)
    try:
        document = backend.segment(text, args.lang)
    finally:
        backend.close()
    if args.format == "jsonl":
        for record in sentence_records(document):
            print(dumps(record))
    else:
        print(f"# language: {document.language or 'unknown'}, {len(document.sentences)} sentences", file=sys.stderr)
        print(listing(document))
    return 0
