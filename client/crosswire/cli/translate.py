"""`crosswire translate`: translate files or stdin, in-process or through a server."""

from __future__ import annotations

import argparse
import sys

from tqdm import tqdm

from crosswire.cli import corpus
from crosswire.cli.arguments import add_language_arguments, positive_int
from crosswire.cli.backend import add_backend_arguments, connect
from crosswire.cli.inputs import read_inputs
from crosswire.cli.records import dumps, translation_record
from crosswire.client import TranslateSettings

# Texts per call when there are many (so the progress bar moves).
CHUNK_TEXTS = 64


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "translate", help="translate text files or stdin",
        description="Translate each FILE (or stdin, '-') as one document; with --presegmented, each line "
                    "is one sentence. Prints the translation, keeping line and paragraph breaks. With --corpus "
                    "or --output, translates in bulk to JSONL records, resumably (see 'bulk' below).",
    )
    parser.add_argument("files", nargs="*", metavar="FILE", help="input files; '-' or none = stdin")
    add_language_arguments(parser)
    parser.add_argument("--model", help="model name (default: the default model for the pair)")
    parser.add_argument("--beam-size", type=positive_int, help="beam width (default: the server's)")
    parser.add_argument("--num-hypotheses", type=positive_int, default=1,
                        help="hypotheses per sentence, at most the beam width (jsonl shows them)")
    parser.add_argument("--scores", action="store_true", help="include log-probabilities (jsonl)")
    parser.add_argument("--max-decoding-length", type=positive_int, help="most target tokens per sentence")
    parser.add_argument("--presegmented", action="store_true", help="one sentence per input line")
    parser.add_argument("--format", choices=("text", "jsonl"), default="text",
                        help="text: the translation; jsonl: one crosswire.v1.TranslationResult per input, "
                             "with its file as \"input\"")
    add_backend_arguments(parser)
    corpus.add_arguments(parser)
    parser.set_defaults(run=run)


def _texts(inputs: list[tuple[str, str]], presegmented: bool) -> list[tuple[str, str]]:
    if not presegmented:
        return inputs
    return [(f"{name}:{n}", line) for name, text in inputs for n, line in enumerate(text.splitlines(), 1)]


def run(args: argparse.Namespace) -> int:
    settings: TranslateSettings = dict(
        source=args.source_language, target=args.target_language, model=args.model, beam_size=args.beam_size,
        num_hypotheses=args.num_hypotheses, return_scores=args.scores, max_decoding_length=args.max_decoding_length,
        presegmented=args.presegmented,
    )
    if corpus.wanted(args):
        return corpus.run(args, settings)
    texts = _texts(read_inputs(args.files), args.presegmented)
    backend = connect(args)
    chunks = [texts[i:i + CHUNK_TEXTS] for i in range(0, len(texts), CHUNK_TEXTS)]
    progress = tqdm(total=len(texts), unit="text", disable=not sys.stderr.isatty() or len(chunks) < 2,
                    file=sys.stderr)
    try:
        for chunk in chunks:
            results = backend.translate([text for _, text in chunk], **settings)
            for (name, _), translation in zip(chunk, results):
                print(dumps(translation_record(name, translation)) if args.format == "jsonl" else translation.text)
            sys.stdout.flush()
            progress.update(len(chunk))
    finally:
        progress.close()
        backend.close()
    return 0
