"""`crosswire align`: link the sentences of a source text with one or more target texts.

    crosswire align --mode parallel|comparable --from ru --to en [--presegmented] SOURCE TARGET [TARGET ...] --format json

JSON output (a stable contract): {"source": {"name", "language", "sentences": [...]},
"targets": [{"name", "language", "sentences": [...]}], "links": [{"source": [i, ...],
"target_doc": k, "target": [j, ...], "score": s, "grade": "same"|"related", "evidence": {...}}],
"unaligned_source": [...], "unaligned_targets": [[...], ...], "mode": ...}. Indices are
0-based sentence positions (line numbers with --presegmented); each sentence is
{"index", "start", "end", "text", "role", "duplicate_of"}.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from crosswire.cli.backend import add_backend_arguments, connect
from crosswire.cli.translate import read_inputs
from crosswire.types import Alignment, Document, Link


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
                        help="text: linked sentences side by side; json: one object (see the docs)")
    parser.set_defaults(run=run)


def add_alignment_arguments(parser: argparse.ArgumentParser) -> None:
    """Options align and compare share: languages, presegmented input, where to run."""
    parser.add_argument("--from", dest="source_language", default="ru", metavar="LANG",
                        help="language of the source/report (default: ru)")
    parser.add_argument("--to", dest="target_language", default="en", metavar="LANG",
                        help="language of the targets/articles (default: en)")
    parser.add_argument("--presegmented", action="store_true", help="one sentence per input line")
    add_backend_arguments(parser)


def sentence_json(document: Document) -> list[dict[str, Any]]:
    return [
        {"index": s.index, "start": s.start, "end": s.end, "text": s.text, "role": s.role.value,
         "duplicate_of": s.duplicate_of}
        for s in document.sentences
    ]


def document_json(document: Document, name: str) -> dict[str, Any]:
    return {"name": name, "language": document.language, "sentences": sentence_json(document)}


def link_json(link: Link) -> dict[str, Any]:
    evidence = link.evidence
    return {
        "source": link.source, "target_doc": link.target_doc, "target": link.target,
        "score": link.score, "grade": link.grade.value,
        "evidence": {
            "embedding_similarity": evidence.embedding_similarity,
            "translation_similarity": evidence.translation_similarity,
            "names": [[t.source, t.target] for t in evidence.names],
            "numbers": [[t.source, t.target] for t in evidence.numbers],
        },
    }


def alignment_json(alignment: Alignment, source_name: str) -> dict[str, Any]:
    return {
        "source": document_json(alignment.source, source_name),
        "targets": [document_json(t, n) for t, n in zip(alignment.targets, alignment.target_names)],
        "links": [link_json(link) for link in alignment.links],
        "unaligned_source": alignment.unaligned_source,
        "unaligned_targets": alignment.unaligned_targets,
        "mode": alignment.mode.value,
    }


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
    source_name, alignment = run_on_backend(args, "align", args.source, args.targets, mode=args.mode)
    if args.format == "json":
        print(json.dumps(alignment_json(alignment, source_name), ensure_ascii=False))
        return 0
    for link in alignment.links:
        print(link_text(link, alignment))
    print(f"{len(alignment.links)} links; unaligned: {len(alignment.unaligned_source)} source sentences, "
          + ", ".join(f"{len(u)} in {n}" for u, n in zip(alignment.unaligned_targets, alignment.target_names)))
    return 0
