"""`crosswire compare`: a report against candidate articles, ranked, side by side.

    crosswire compare REPORT ARTICLE [ARTICLE ...] [--html OUT.html] [--format json|text]
    crosswire compare REPORT [ARTICLE ...] --library [LIB] [-k 5] [--html OUT.html]

With --library the articles also come from the article library: the top k that
`crosswire library search` finds for the report (in-process from LIB, or from the
server's own library with --server).

`--format json` prints one crosswire.v1.CompareResponse in protobuf's JSON mapping
(see records.py): the alignment (as `crosswire align` prints it), the articles
ranked best first, one row per report sentence, and what only one side reports.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from crosswire.cli import CLIError
from crosswire.cli.align import add_alignment_arguments, run_on_backend
from crosswire.cli.backend import connect
from crosswire.cli.inputs import read_inputs
from crosswire.cli.library import LIBRARY_HELP, LocalLibrary, add_selection_arguments, selection
from crosswire.convert import compare_request
from crosswire.cli.records import comparison_record, dumps
from crosswire.types import Comparison


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compare", help="rank articles by coverage shared with a report and show them side by side",
        description="Rank the ARTICLEs by the coverage they share with REPORT, link the sentences that say "
                    "the same, and list what only one side reports.",
    )
    add_alignment_arguments(parser)
    parser.add_argument("report", metavar="REPORT", help="the report ('-' = stdin)")
    parser.add_argument("articles", nargs="*", metavar="ARTICLE", help="candidate articles (at least one, "
                        "unless --library is given)")
    library = parser.add_argument_group("articles from the library")
    library.add_argument("--library", nargs="?", const="", metavar="LIB",
                         help="also take the articles the library finds for REPORT; " + LIBRARY_HELP)
    add_selection_arguments(library)
    parser.add_argument("--html", metavar="OUT.html", type=Path, help="also write a self-contained side-by-side page")
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help="text: ranked articles and side-by-side rows (default); json: one "
                             "crosswire.v1.CompareResponse (alignment, documents, rows, only_in_report, "
                             "only_in_coverage, translated)")
    parser.set_defaults(run=run)


def comparison_text(comparison: Comparison) -> str:
    """Ranked articles, then each report sentence with what it matches."""
    alignment = comparison.alignment
    lines = ["Articles by shared coverage:"]
    lines += [
        f"  {d.score:.3f}  {d.name}  {d.coverage.value.replace('_', ' ')}: report sentences linked "
        f"{d.linked_source} same · {d.related_source} related"
        for d in comparison.documents
    ]
    lines.append("")
    for row in comparison.rows:
        lines.append(f"[{row.source}] {row.text}")
        if row.translation:
            lines.append(f"    mt: {row.translation}")
        for link in row.matches:
            target = alignment.targets[link.target_doc]
            for j in link.target:
                lines.append(f"    {link.grade.value} {link.score:+.3f} {alignment.target_names[link.target_doc]} "
                             f"[{j}] {target.sentences[j].text}")
        if not row.matches:
            lines.append("    (only in the report)")
    lines.append(f"\nonly in the report: {len(comparison.only_in_report)} sentences; "
                 f"only in the English coverage: {len(comparison.only_in_coverage)} sentences")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if args.library is not None:
        report_name, comparison = _with_library(args)
    elif not args.articles:
        raise CLIError("no articles to compare with: give ARTICLE files, or --library to take them from the library")
    else:
        report_name, comparison = run_on_backend(args, "compare", args.report, args.articles, report_name=args.report)
    if args.html:
        from crosswire.sidebyside import render_comparison

        try:
            args.html.write_text(render_comparison(comparison, report_name), encoding="utf-8")
        except OSError as exc:
            raise CLIError(f"cannot write {args.html}: {exc}") from None
    if args.format == "json":
        print(dumps(comparison_record(comparison, report_name)))
    else:
        print(comparison_text(comparison))
    return 0


def _with_library(args: argparse.Namespace) -> tuple[str, Comparison]:
    """Compare with the library's articles too: a server takes them from its own library, in-process from LIB."""
    chosen = selection(args)
    if args.server:
        if args.library:
            raise CLIError("--library LIB opens a library in this process; with --server the server's own "
                           "library is used: give --library without LIB")
        return run_on_backend(args, "compare", args.report, args.articles, report_name=args.report, library=chosen)
    (report_name, report), *given = read_inputs([args.report, *args.articles])
    request = compare_request(report, [text for _, text in given], source_language=args.source_language,
                              library=chosen)
    library = LocalLibrary(args.library or None, args)
    try:
        found = library.select(request)  # the same choice, and the same refusals, as the server's Compare
    finally:
        library.close()
    given += [(article.name, article.text) for article in found]
    backend = connect(args)
    try:
        comparison = backend.compare(report, [text for _, text in given], names=[name for name, _ in given],
                                     source_language=args.source_language, target_language=args.target_language,
                                     presegmented=args.presegmented, report_name=report_name)
    finally:
        backend.close()
    return report_name, replace(comparison, library_articles=found)
