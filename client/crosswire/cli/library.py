"""`crosswire library add|search|list|remove|stats`: the article library a report's coverage is found in.

    crosswire library add FILE... [--library LIB] [--outlet NAME] [--published ISO-DATE] [--format json]
    crosswire library add --jsonl FILE          # one {"name", "outlet", "url", "title", "published", "text"} a line
    crosswire library search REPORT [--library LIB] [--from ru] [-k 5] [--published ISO-DATE] [--window-days N]
    crosswire library list | remove KEY... | stats

LIB is a SQLite file path or a postgresql:// URL (default: CROSSWIRE_LIBRARY, else
library.sqlite3 in the user's data directory). In-process the command opens LIB
itself; with --server it works on that server's library (its own --library).
Both ways run the same checks (crosswire_server.rpc.library.LibraryCalls).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from crosswire.cli import CLIError, require_server_side
from crosswire.cli.arguments import DETECT, detect_or, language_code, positive_float, positive_int
from crosswire.cli.backend import ENGINE_FLAGS, LocalBackend, add_backend_arguments, connect, core_errors
from crosswire.cli.inputs import STDIN, read_inputs
from crosswire.convert import add_requests, add_result_from_pb, article_from_pb, search_hit_from_pb, stats_from_pb
from crosswire.types import AddResult, AddStatus, Article, LibrarySelection, LibraryStats, SearchHit

#: Articles per request in-process (the server's own batches are the client's, crosswire.client.ADD_BATCH_SIZE).
BATCH_SIZE = 50
LIBRARY_HELP = ("the library: a SQLite file or a postgresql:// URL (default: $CROSSWIRE_LIBRARY, else "
                "library.sqlite3 in the user's data directory); in-process only, a --server uses its own")


def iso_time(value: str) -> datetime:
    """An ISO 8601 date or time ("2024-03-01", "2024-03-01T12:00+03:00"); without a zone it is UTC."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date such as 2024-03-01: {value[:40]!r}") from None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "library", help="keep articles and find the ones that cover a report",
        description="The article library: add the coverage your feeds deliver, then find, for a report, the "
                    "articles about the same events (`crosswire compare REPORT --library` shows them side by side).",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    add = _action(actions, "add", "add articles, one per file or one per JSON line",
                  "Add each FILE as one article, named by its file name, or with --jsonl one article per line. "
                  "The same URL or the same text added twice is one article; new text under a known URL replaces "
                  "the old version. Exit status 1 when any article was refused (each refusal is printed with its "
                  "reason; the others are added).")
    add.add_argument("files", nargs="*", metavar="FILE", help="text files, one article each ('-' = stdin)")
    add.add_argument("--jsonl", metavar="FILE", action="append", default=[],
                     help="a file with one JSON object per line: name, outlet, url, title, published (ISO 8601), "
                          "language, text ('-' = stdin; repeatable)")
    add.add_argument("--outlet", default="", metavar="NAME", help="the outlet of the FILEs (e.g. Reuters)")
    add.add_argument("--published", type=iso_time, metavar="ISO-DATE", help="when the FILEs were published (UTC "
                     "unless a zone is given)")
    add.add_argument("--url", default="", help="the URL of the FILE (only with one FILE)")
    add.add_argument("--language", type=language_code, metavar="LANG",
                     help="the FILEs' language (default: identified from each text)")
    progress = add.add_mutually_exclusive_group()
    progress.add_argument("--progress", action="store_true", default=None,
                          help="show a progress bar on stderr (default: when stderr is a terminal)")
    progress.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    add.set_defaults(run=run_add)

    search = _action(actions, "search", "find the articles that cover a report",
                     "Rank the library's articles by the coverage they share with REPORT (the same names, numbers "
                     "and statements, close in time), best first. With --from LANG and a LANG->en translation "
                     "model installed, machine translation adds its evidence.", engine=True)
    search.add_argument("report", metavar="REPORT", help="the report ('-' = stdin)")
    search.add_argument("--from", dest="language", default=DETECT, type=detect_or(language_code), metavar="LANG",
                        help=f"the report's language, e.g. ru, or {DETECT} (default)")
    add_selection_arguments(search)
    search.set_defaults(run=run_search)

    listing = _action(actions, "list", "list the articles, most recently added first", "List the library's articles.")
    listing.add_argument("--outlet", default="", metavar="NAME", help="only this outlet's articles")
    listing.add_argument("--limit", type=positive_int, metavar="N", help="at most N articles (default: all)")
    listing.set_defaults(run=run_list)

    remove = _action(actions, "remove", "remove articles by id or name",
                     "Remove the articles with these ids or names. Exit status 1 when none matched.")
    remove.add_argument("keys", nargs="+", metavar="KEY", help="an article id or the name it was added under")
    remove.set_defaults(run=run_remove)

    stats = _action(actions, "stats", "count the articles by outlet and language, and the library's size",
                    "What the library holds.")
    stats.set_defaults(run=run_stats)


def _action(actions: argparse._SubParsersAction, name: str, summary: str, description: str,
            engine: bool = False) -> argparse.ArgumentParser:
    """A library sub-command with the options they all take: --library, --format and where to run (`engine`: with
    the in-process translation engine's flags)."""
    parser = actions.add_parser(name, help=summary, description=description,
                                epilog="Exit status: 0 ok, 1 failure (one line on stderr), 2 usage error.")
    parser.add_argument("--library", metavar="LIB", help=LIBRARY_HELP)
    parser.add_argument("--format", choices=("text", "json"), default="text", help="text (default) or one JSON object")
    add_backend_arguments(parser, engine=engine)
    return parser


def add_selection_arguments(parser: argparse.ArgumentParser) -> None:
    """-k, --published, --window-days and --outlet: which library articles a search returns or compare takes."""
    parser.add_argument("-k", type=positive_int, default=5, metavar="K", help="how many articles (default: 5)")
    parser.add_argument("--published", type=iso_time, metavar="ISO-DATE",
                        help="when the report was published (default: its own dateline or timestamp, if any)")
    parser.add_argument("--window-days", type=positive_float, metavar="N",
                        help="how many days before or after it an article may be published (default: the "
                             "library's own)")
    parser.add_argument("--outlet", dest="outlets", action="append", default=[], metavar="NAME",
                        help="only this outlet's articles (repeatable)")


def selection(args: argparse.Namespace) -> LibrarySelection:
    window = timedelta(days=args.window_days) if args.window_days is not None else None
    return LibrarySelection(args.k, args.published, window, tuple(args.outlets))


# --- where the work runs -------------------------------------------------------


class LocalLibrary:
    """The library opened in this process, through the same checks as the server's (LibraryCalls)."""

    def __init__(self, location: str | None, args: argparse.Namespace | None = None) -> None:
        """`args` may carry the in-process engine's flags (--models-dir, ...), for machine translation in search."""
        require_server_side()
        from crosswire_server.config import ServerConfig
        from crosswire_server.rpc.library import LibraryCalls

        engine = {name: getattr(args, name, None) for name in ENGINE_FLAGS}
        try:
            config = ServerConfig.from_env(library=location, **engine)
        except ValueError as exc:
            raise CLIError(str(exc)) from None
        self.calls = LibraryCalls(config)
        self._engine: LocalBackend | None = None

    def translator(self, language: str) -> Callable[[list[str]], list[str]] | None:
        """Report sentences -> English, when the language is given and a model for the pair is installed (as the
        server translates with the models it loaded); None otherwise."""
        from crosswire_models.store import installed_models

        config = self.calls.config
        if not language or not any((language, "en") in model.pairs for model in installed_models(config.models_dir)):
            return None
        if self._engine is None:
            self._engine = LocalBackend(config)
        engine = self._engine

        def translate(sentences: list[str]) -> list[str]:
            return [t.text for t in engine.translate(sentences, source=language, target="en", presegmented=True)]

        return translate

    def select(self, request: Any) -> list[Article]:
        """The library articles a CompareRequest's library selection takes, texts included (as the server's Compare)."""
        with core_errors():
            found = self.calls.select(request, self.translator(request.source_language or "ru"))
        return [article_from_pb(article) for article in found]

    def add(self, articles: Iterable[Article], progress: Callable[[int], object]) -> list[AddResult]:
        results: list[AddResult] = []
        for request in add_requests(articles, min(BATCH_SIZE, self.calls.config.max_library_batch)):
            stored = []  # the bar moves as each article is stored, not only once per batch

            def step(result: object) -> None:
                stored.append(result)
                progress(1)

            with core_errors():
                response = self.calls.add(request, progress=step)
            results += [add_result_from_pb(result) for result in response.results]
            progress(len(request.articles) - len(stored))  # those refused before they reached the store
        return results

    def search(self, report: str, language: str, chosen: LibrarySelection) -> list[SearchHit]:
        from crosswire.convert import search_request

        with core_errors():
            response = self.calls.search(search_request(report, language, chosen), self.translator(language))
        return [search_hit_from_pb(hit) for hit in response.hits]

    def list(self, outlet: str) -> Iterator[Article]:
        from crosswire.v1 import library_pb2 as pb

        token = ""
        while True:
            with core_errors():
                response = self.calls.list(pb.ListArticlesRequest(page_token=token, outlet=outlet))
            yield from (article_from_pb(a) for a in response.articles)
            token = response.next_page_token
            if not token:
                return

    def remove(self, keys: list[str]) -> int:
        from crosswire.v1 import library_pb2 as pb

        with core_errors():
            return self.calls.delete(pb.DeleteArticlesRequest(keys=keys)).deleted

    def stats(self) -> LibraryStats:
        from crosswire.v1 import library_pb2 as pb

        with core_errors():
            return stats_from_pb(self.calls.stats(pb.StatsRequest()))

    def close(self) -> None:
        self.calls.close()
        if self._engine is not None:
            self._engine.close()


class RemoteLibrary:
    """A server's library, through the blocking client; failures as one-line errors."""

    def __init__(self, args: argparse.Namespace) -> None:
        self._backend = connect(args)

    def add(self, articles: Iterable[Article], progress: Callable[[int], object]) -> list[AddResult]:
        return self._backend.library("add_articles", articles, progress=progress)

    def search(self, report: str, language: str, chosen: LibrarySelection) -> list[SearchHit]:
        return self._backend.library("search", report, language, selection=chosen)

    def list(self, outlet: str) -> Iterator[Article]:
        return self._backend.library("list_articles", outlet=outlet)

    def remove(self, keys: list[str]) -> int:
        return self._backend.library("delete_articles", keys)

    def stats(self) -> LibraryStats:
        return self._backend.library("library_stats")

    def close(self) -> None:
        self._backend.close()


def open_library(args: argparse.Namespace) -> LocalLibrary | RemoteLibrary:
    """The library the arguments name: the server's with --server, else LIB (or the default) in this process."""
    if args.server:
        if args.library:
            raise CLIError("--library LIB opens a library in this process; with --server the server's own "
                           "library is used (`crosswire serve --library LIB`): leave out one of them")
        return RemoteLibrary(args)
    return LocalLibrary(args.library, args)


# --- add -----------------------------------------------------------------------


def _articles_from_files(args: argparse.Namespace) -> Iterator[Article | AddResult]:
    """One Article per FILE, named by its file name, or a refused AddResult when the file cannot be read as text."""
    if args.url and len(args.files) != 1:
        raise CLIError(f"--url names one article, but {len(args.files)} FILEs were given")
    for path in args.files:
        name = "stdin" if path == STDIN else Path(path).name
        try:
            ((_, text),) = read_inputs([path]) if path == STDIN else [(path, Path(path).read_text(encoding="utf-8"))]
        except CLIError as exc:
            yield AddResult(name, "", AddStatus.REFUSED, str(exc))
            continue
        except UnicodeDecodeError as exc:
            yield AddResult(name, "", AddStatus.REFUSED, f"{path}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} "
                                                         f"at offset {exc.start}); binary files are refused")
            continue
        except OSError as exc:
            yield AddResult(name, "", AddStatus.REFUSED, f"cannot read {path}: {exc.strerror or exc}")
            continue
        yield Article(name=name, text=text, outlet=args.outlet, url=args.url, published=args.published,
                      language=args.language or "")


def _articles_from_jsonl(path: str) -> Iterator[Article | AddResult]:
    """One Article per line of a JSON-lines file, or a refused AddResult saying what is wrong with the line."""
    try:
        lines = sys.stdin if path == "-" else open(path, encoding="utf-8")  # noqa: SIM115 (closed below)
    except OSError as exc:
        raise CLIError(f"cannot read --jsonl {path}: {exc.strerror or exc}") from None
    with lines:
        try:
            for number, line in enumerate(lines, 1):
                if line.strip():
                    yield _jsonl_article(line, f"{Path(path).name}:{number}")
        except UnicodeDecodeError as exc:
            raise CLIError(f"cannot read --jsonl {path}: not UTF-8 text ({exc.reason})") from None


_JSONL_FIELDS = ("name", "outlet", "url", "title", "published", "language", "text")


def _jsonl_article(line: str, where: str) -> Article | AddResult:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        return AddResult(where, "", AddStatus.REFUSED, f"not a JSON object ({exc.msg})")
    if not isinstance(record, dict):
        return AddResult(where, "", AddStatus.REFUSED, "not a JSON object")
    name = record.get("name") or record.get("url") or where
    for key in _JSONL_FIELDS:
        if record.get(key) is not None and not isinstance(record[key], str):
            return AddResult(str(name), "", AddStatus.REFUSED, f"{key} is not a string ({where})")
    published = None
    if record.get("published"):
        try:
            published = iso_time(record["published"])
        except argparse.ArgumentTypeError as exc:
            return AddResult(name, "", AddStatus.REFUSED, f"published is {exc} ({where})")
    return Article(name=name, text=record.get("text") or "", outlet=record.get("outlet") or "",
                   url=record.get("url") or "", title=record.get("title") or "", published=published,
                   language=record.get("language") or "")


def _progress_bar(args: argparse.Namespace, total: int) -> Any:
    """A tqdm bar on stderr: on a terminal, or when --progress asks for it."""
    from tqdm import tqdm

    show = args.progress if args.progress is not None else sys.stderr.isatty()
    return tqdm(total=total, unit="article", file=sys.stderr, disable=not show, leave=False)


def run_add(args: argparse.Namespace) -> int:
    if not args.files and not args.jsonl:
        raise CLIError("nothing to add: give FILEs, or --jsonl FILE")
    items = list(_articles_from_files(args))
    for path in args.jsonl:
        items += _articles_from_jsonl(path)
    articles = [item for item in items if isinstance(item, Article)]
    library = open_library(args)
    try:
        with _progress_bar(args, len(articles)) as bar:
            added = iter(library.add(articles, progress=bar.update))
    finally:
        library.close()
    results = [item if isinstance(item, AddResult) else next(added) for item in items]
    _print_add(args, results)
    return 1 if any(result.status is AddStatus.REFUSED for result in results) else 0


def _print_add(args: argparse.Namespace, results: list[AddResult]) -> None:
    if args.format == "json":
        print(_dumps({"results": [{"name": r.name, "id": r.id, "status": r.status.value, "reason": r.reason}
                                  for r in results]}))
        return
    for result in results:
        if result.status is AddStatus.REFUSED:
            print(f"refused    {result.name}: {result.reason}")
        else:
            print(f"{result.status.value:<10} {result.name}  {result.id}")
    counts = {status: sum(r.status is status for r in results) for status in AddStatus}
    print(", ".join(f"{n} {status.value}" for status, n in counts.items() if n), file=sys.stderr)


# --- search, list, remove, stats -----------------------------------------------


def _time(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


def article_record(article: Article) -> dict[str, Any]:
    """An article's fields as JSON (its text left out)."""
    return {"name": article.name, "id": article.id, "outlet": article.outlet, "url": article.url,
            "title": article.title, "published": _time(article.published), "language": article.language,
            "added": _time(article.added), "sentence_count": article.sentence_count}


def hit_record(hit: SearchHit) -> dict[str, Any]:
    """A search hit as JSON: the article's name first, then score, coverage, shared names, pairs, the rest."""
    record = article_record(hit.article)
    return {"name": record.pop("name"), "score": hit.score, "coverage": hit.coverage.value,
            "shared_names": hit.shared_names,
            "pairs": [{"report_sentence": p.report_sentence, "article_sentence": p.article_sentence,
                       "similarity": p.similarity, "report_text": p.report_text, "article_text": p.article_text}
                      for p in hit.pairs],
            **record}


def _dumps(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False)


def run_search(args: argparse.Namespace) -> int:
    ((_, report),) = read_inputs([args.report])
    library = open_library(args)
    try:
        hits = library.search(report, args.language, selection(args))
    finally:
        library.close()
    if args.format == "json":
        print(_dumps({"results": [hit_record(hit) for hit in hits]}))
        return 0
    if not hits:
        print("no article in the library covers this report", file=sys.stderr)
    for rank, hit in enumerate(hits, 1):
        article = hit.article
        about = ", ".join(x for x in (article.outlet, _time(article.published) or "") if x)
        print(f"{rank}. {hit.score:.3f}  {article.name}" + (f"  ({about})" if about else "")
              + f"  {hit.coverage.value.replace('_', ' ')}")
        if hit.shared_names:
            print(f"   shared names: {', '.join(hit.shared_names)}")
        for pair in hit.pairs[:3]:
            texts = f"  {pair.report_text}  <->  {pair.article_text}" if pair.report_text else ""
            print(f"   [{pair.report_sentence}] ~ [{pair.article_sentence}] {pair.similarity:.2f}{texts}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    library = open_library(args)
    try:
        articles = []
        for article in library.list(args.outlet):
            articles.append(article)
            if args.limit is not None and len(articles) >= args.limit:
                break
    finally:
        library.close()
    if args.format == "json":
        print(_dumps({"articles": [article_record(a) for a in articles]}))
        return 0
    for a in articles:
        print("\t".join((a.id, a.name, a.outlet or "-", _time(a.published) or "-", a.language or "-",
                         f"{a.sentence_count} sentences")))
    return 0


def run_remove(args: argparse.Namespace) -> int:
    library = open_library(args)
    try:
        deleted = library.remove(args.keys)
    finally:
        library.close()
    if args.format == "json":
        print(_dumps({"deleted": deleted}))
    else:
        print(f"removed {deleted} article{'s' * (deleted != 1)}")
    if not deleted:
        raise CLIError("no article has any of these ids or names")
    return 0


def run_stats(args: argparse.Namespace) -> int:
    library = open_library(args)
    try:
        stats = library.stats()
    finally:
        library.close()
    record = {"articles": stats.articles, "sentences": stats.sentences, "outlets": stats.outlets,
              "languages": stats.languages, "oldest": _time(stats.oldest), "newest": _time(stats.newest),
              "bytes_on_disk": stats.bytes_on_disk, "backend": stats.backend}
    if args.format == "json":
        print(_dumps(record))
        return 0
    print(f"{stats.articles} articles, {stats.sentences} sentences, {stats.bytes_on_disk / 1e6:.1f} MB "
          f"({stats.backend})")
    if stats.oldest or stats.newest:
        print(f"published {_time(stats.oldest)} to {_time(stats.newest)}")
    for title, counts in (("outlets", stats.outlets), ("languages", stats.languages)):
        if counts:
            ordered = sorted(counts.items(), key=lambda item: -item[1])
            print(f"{title}: " + ", ".join(f"{name or '(none)'} {count}" for name, count in ordered))
    return 0
