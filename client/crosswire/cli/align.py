"""`crosswire align`: link the sentences of a source text with one or more target texts.

    crosswire align --mode parallel|comparable --from ru --to en [--presegmented] SOURCE TARGET [TARGET ...]

`--format json` prints one crosswire.v1.AlignResponse in protobuf's JSON mapping
(see records.py): sentence indices are 0-based (line numbers with --presegmented).
"""

from __future__ import annotations

import argparse
from typing import Any

from crosswire.cli.arguments import add_language_arguments
from crosswire.cli.backend import add_backend_arguments, connect
from crosswire.cli.inputs import read_inputs
from crosswire.cli.records import alignment_record, dumps
from crosswire.types import Alignment, Link


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "align", help="link the sentences of a text with other texts",
        description="Link the sentences of SOURCE with those of each TARGET: parallel mode for a translation "
                    "(monotone), comparable mode for independent coverage (any order, gaps allowed).",
    )
    add_alignment_arguments(parser)
    parser.add_argument("--mode", choices=("parallel", "comparable"), default="comparable",
                        help="parallel: TARGET translates SOURCE; comparable: independent coverage (default)")
    parser.add_argument("source", metavar="SOURCE", help="source text file ('-' = stdin)")
    parser.add_argument("targets", nargs="+", metavar="TARGET", help="target text files")
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help="text: linked sentences side by side; json: one crosswire.v1.AlignResponse "
                             "(source, targets, links, unaligned_source, unaligned_targets, mode)")
    parser.set_defaults(run=run)


def add_alignment_arguments(parser: argparse.ArgumentParser) -> None:
    """Options align and compare share: languages, presegmented input, where to run."""
    add_language_arguments(parser, known_only=True)
    parser.add_argument("--presegmented", action="store_true", help="one sentence per input line")
    add_backend_arguments(parser)


def link_text(link: Link, alignment: Alignment) -> str:
    """A link as lines: source sentences, then the target sentences with score and grade."""
    target = alignment.targets[link.target_doc]
    lines = [f"[{i}] {alignment.source.sentences[i].text}" for i in link.source]
    lines += [f"    {link.grade.value} {link.score:+.3f} -> {alignment.target_names[link.target_doc]} [{j}] "
              f"{target.sentences[j].text}" for j in link.target]
    return "\n".join(lines)


def run_on_backend(args: argparse.Namespace, method: str, source_file: str, target_files: list[str],
                   **settings: Any) -> tuple[str, Any]:
    """Read the files, call align/compare where the arguments say, return (source name, result)."""
    (source_name, source), *targets = read_inputs([source_file, *target_files])
    backend = connect(args)
    try:
        result = getattr(backend, method)(
            source, [text for _, text in targets], names=[name for name, _ in targets],
            source_language=args.source_language, target_language=args.target_language,
            presegmented=args.presegmented, **settings,
        )
    finally:
        backend.close()
    return source_name, result


def run(args: argparse.Namespace) -> int:
    source_name, alignment = run_on_backend(args, "align", args.source, args.targets, mode=args.mode,
                                            source_name=args.source)
    if args.format == "json":
        print(dumps(alignment_record(alignment, source_name)))
        return 0
    for link in alignment.links:
        print(link_text(link, alignment))
    print(f"{len(alignment.links)} links; unaligned: {len(alignment.unaligned_source)} source sentences, "
          + ", ".join(f"{len(u)} in {n}" for u, n in zip(alignment.unaligned_targets, alignment.target_names)))
    return 0
