"""LibraryService: protobuf requests → the article library (crosswire_server.library.Library) → protobuf responses.

`LibraryCalls` does the translating and the checks, blocking, on messages:
the servicer runs it in worker threads, the command line runs it in-process,
and AlignmentService's Compare takes its library articles through `select`,
so every path checks and answers the same. The library opens on first use
(a server that never serves a library call creates no file).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import grpc

from crosswire.convert import timestamp_to_pb
from crosswire.types import LANGUAGE_CODE, LanguagePair
from crosswire.v1 import alignment_pb2 as al_pb
from crosswire.v1 import article_pb2 as art_pb
from crosswire.v1 import library_pb2 as pb
from crosswire.v1 import library_pb2_grpc as pb_grpc
from crosswire_server.alignment.jobs import in_batches
from crosswire_server.budget import in_thread
from crosswire_server.config import ServerConfig
from crosswire_server.errors import CrosswireError, InvalidInput, NotFound, NotReady
from crosswire_server.logs import clip
from crosswire_server.rpc.common import Runtime, handling

if TYPE_CHECKING:
    from crosswire_server.library import Library
    from crosswire_server.library.records import AddResult, ArticleInput, LibraryStats, SearchHit, StoredArticle
    from crosswire_server.library.search import Translator

T = TypeVar("T")

#: k when a selection leaves it 0; ListArticles' page size when a request leaves it 0.
DEFAULT_K = 5
DEFAULT_PAGE_SIZE = 50
_STATUS = {"added": pb.ADD_STATUS_ADDED, "unchanged": pb.ADD_STATUS_UNCHANGED, "replaced": pb.ADD_STATUS_REPLACED,
           "refused": pb.ADD_STATUS_REFUSED}


def _time_field(message: Any, name: str, path: str) -> datetime | None:
    """The Timestamp field `name` as an aware UTC datetime, None when unset; one out of range is refused (`path`)."""
    if not message.HasField(name):
        return None
    stamp = getattr(message, name)
    try:
        return stamp.ToDatetime(tzinfo=timezone.utc)
    except (ValueError, OverflowError, OSError):
        raise InvalidInput(f"{path} is not a valid time (seconds={stamp.seconds}, nanos={stamp.nanos})",
                           field=path) from None


def article_to_pb(article: StoredArticle, text: bool = True) -> art_pb.Article:
    """A stored article as an Article message; `text=False` leaves its text out (lists and search hits)."""
    return art_pb.Article(
        id=article.id, name=article.name, outlet=article.outlet, url=article.url, title=article.title,
        published=timestamp_to_pb(article.published), language=article.language, text=article.text if text else "",
        added=timestamp_to_pb(article.added), sentence_count=article.n_sentences,
    )


def _coverage(value: str) -> int:
    """A search hit's coverage ("same_event", ...) as the Coverage enum; anything else is unrelated."""
    name = "COVERAGE_" + value.upper()
    return al_pb.Coverage.Value(name) if name in al_pb.Coverage.keys() else al_pb.COVERAGE_UNRELATED


def hit_to_pb(hit: SearchHit) -> pb.SearchHit:
    """A search hit as a SearchHit message (the article without its text; pairs most similar first)."""
    texts = hit.pair_texts or [("", "")] * len(hit.pairs)
    pairs = sorted(zip(hit.pairs, texts), key=lambda item: -item[0][2])
    return pb.SearchHit(
        article=article_to_pb(hit.article, text=False),
        score=hit.score,
        shared_names=hit.shared_names,
        pairs=[pb.SentencePair(report_sentence=i, article_sentence=j, similarity=similarity, report_text=report,
                               article_text=article) for (i, j, similarity), (report, article) in pairs],
        coverage=_coverage(hit.coverage),
    )


def stats_to_pb(stats: LibraryStats) -> pb.StatsResponse:
    return pb.StatsResponse(
        articles=stats.articles, sentences=stats.sentences, outlets=stats.outlets, languages=stats.languages,
        oldest=timestamp_to_pb(stats.oldest), newest=timestamp_to_pb(stats.newest), bytes_on_disk=stats.bytes_on_disk,
        backend=stats.backend,
    )


#: The library's names for what it refuses in a search -> the request's field paths.
_SEARCH_FIELDS = {"k": "selection.k", "window_days": "selection.window", "published": "selection.published"}
_COMPARE_FIELDS = {"report": "report.text", "language": "source_language", "k": "library.k",
                   "window_days": "library.window", "published": "library.published"}


@contextlib.contextmanager
def _fields(paths: dict[str, str]) -> Iterator[None]:
    """Refusals of the library named by the request's field paths ("k: ..." -> "selection.k: ...")."""
    try:
        yield
    except InvalidInput as error:
        path = paths.get(error.field)
        if path is None:
            raise
        message = str(error)
        if message.startswith(f"{error.field}:"):
            message = path + message[len(error.field):]
        raise InvalidInput(message, field=path, limit=error.limit) from error


def _refused(name: str, reason: str) -> pb.AddArticleResult:
    return pb.AddArticleResult(name=name, status=pb.ADD_STATUS_REFUSED, reason=reason)


class LibraryCalls:
    """The library's operations on protobuf messages, with the server's limits; blocking and thread-safe."""

    def __init__(self, config: ServerConfig, library: Library | None = None) -> None:
        self.config = config
        self._library = library
        self._opening = threading.Lock()
        self._threads: ThreadPoolExecutor | None = None

    async def run(self, work: Callable[..., T], *args: Any) -> T:
        """`work(*args)` in one of the library's own worker threads, not asyncio's default ones.

        A search waits in its thread for the engine to translate its report, and the engine
        segments and tokenises in asyncio's default threads: had searches taken those, as many
        searches at once as there are threads would wait forever for a thread, and so would
        every Segment, Align and library call after them (and the server's exit).
        """
        with self._opening:
            if self._threads is None:
                self._threads = ThreadPoolExecutor(thread_name_prefix="crosswire-library")
            threads = self._threads
        return await in_thread(work, *args, executor=threads)

    @property
    def location(self) -> str:
        """Where the library is, for messages: a URL's password is never shown."""
        if not self.config.library:
            return "the default library file"
        parts = urlsplit(self.config.library)
        if parts.password is None:
            return self.config.library
        return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1)))

    @property
    def library(self) -> Library:
        """The library, opened on first use; NotReady (UNAVAILABLE) when it cannot be opened, saying why."""
        with self._opening:
            if self._library is None:
                from crosswire_server.library import Library

                try:
                    self._library = Library.open(self.config.library or None)
                except CrosswireError as exc:  # said in one line: drivers' messages span several
                    raise type(exc)(" ".join(str(exc).split()), field=exc.field, limit=exc.limit) from exc
                except Exception as exc:  # a folder that cannot be written, a database that refuses us
                    reason = " ".join(str(exc).split())
                    raise NotReady(f"cannot open the library at {clip(self.location)}: {reason}") from exc
            return self._library

    def close(self) -> None:
        """Close the library; calls still queued for a library thread are dropped, none is waited for."""
        with self._opening:
            if self._threads is not None:
                self._threads.shutdown(wait=False, cancel_futures=True)
                self._threads = None
            if self._library is not None:
                self._library.close()
                self._library = None

    # --- AddArticles ----------------------------------------------------------

    def add(self, request: pb.AddArticlesRequest, progress: Any = None) -> pb.AddArticlesResponse:
        """Add the request's articles; each gets a result, a refused one with its reason (the rest go in)."""
        count, limit = len(request.articles), self.config.max_library_batch
        if not count:
            raise InvalidInput("articles is empty: send at least one article", field="articles")
        if count > limit:
            raise InvalidInput(f"articles has {count} articles, over the limit max_library_batch={limit}; "
                               "send them in several requests", field="articles", limit="max_library_batch")
        results: list[pb.AddArticleResult | None] = [None] * count
        accepted: list[tuple[int, ArticleInput]] = []
        for index, article in enumerate(request.articles):
            try:
                accepted.append((index, self._article_input(article)))
            except InvalidInput as exc:
                results[index] = _refused(article.name, str(exc))
        if accepted:
            added: Sequence[AddResult] = self.library.add([article for _, article in accepted], progress=progress)
            for (index, _), result in zip(accepted, added, strict=True):
                results[index] = pb.AddArticleResult(name=request.articles[index].name, id=result.id,
                                                     status=_STATUS.get(result.status, pb.ADD_STATUS_REFUSED),
                                                     reason=result.reason)
        return pb.AddArticlesResponse(results=results)

    @staticmethod
    def _article_input(article: art_pb.Article) -> ArticleInput:
        """The library's input record for an Article message; what only this layer can check is refused here."""
        from crosswire_server.library.records import ArticleInput

        if not article.name.strip():
            raise InvalidInput("name is empty: every article needs a name (a file name, a headline, a feed id)",
                               field="name")
        if article.language and not LANGUAGE_CODE.fullmatch(article.language):
            raise InvalidInput(f"language={clip(article.language, 20)!r} is not a language code such as 'en'",
                               field="language")
        return ArticleInput(name=article.name, text=article.text, outlet=article.outlet, url=article.url,
                            title=article.title, published=_time_field(article, "published", "published"),
                            language=article.language.lower())

    # --- GetArticle, DeleteArticles, ListArticles -----------------------------

    def get(self, request: pb.GetArticleRequest) -> pb.GetArticleResponse:
        if not request.key:
            raise InvalidInput("key is empty: give an article's id or name", field="key")
        article = self.library.get(request.key)
        if article is None:
            raise NotFound(f"the library has no article with id or name {clip(request.key, 200)!r}", field="key")
        return pb.GetArticleResponse(article=article_to_pb(article))

    def delete(self, request: pb.DeleteArticlesRequest) -> pb.DeleteArticlesResponse:
        if not request.keys:
            raise InvalidInput("keys is empty: give the ids or names of the articles to remove", field="keys")
        for i, key in enumerate(request.keys):
            if not key:
                raise InvalidInput(f"keys[{i}] is empty", field=f"keys[{i}]")
        return pb.DeleteArticlesResponse(deleted=self.library.delete(list(request.keys)))

    def list(self, request: pb.ListArticlesRequest) -> pb.ListArticlesResponse:
        size = min(request.page_size or DEFAULT_PAGE_SIZE, self.config.max_library_results)
        offset = 0
        if request.page_token:
            if not request.page_token.isdigit() or len(request.page_token) > 12:
                raise InvalidInput("page_token is not a token ListArticles gave; send next_page_token unchanged",
                                   field="page_token")
            offset = int(request.page_token)
        articles = self.library.list(limit=size + 1, offset=offset, outlet=request.outlet or None)
        more = len(articles) > size
        return pb.ListArticlesResponse(articles=[article_to_pb(a, text=False) for a in articles[:size]],
                                       next_page_token=str(offset + size) if more else "")

    # --- Search, Stats, and Compare's selection -------------------------------

    def _selection(self, selection: art_pb.LibrarySelection, path: str, max_k: int, limit: str) -> dict[str, Any]:
        """The facade's search keywords for a selection; a bad value is refused, naming `path`.field."""
        k = selection.k or DEFAULT_K
        if k > max_k:
            raise InvalidInput(f"{path}.k={selection.k} is over the limit {limit}={max_k}", field=f"{path}.k",
                               limit=limit)
        window_days = None
        if selection.HasField("window"):
            window: timedelta = selection.window.ToTimedelta()
            if window < timedelta(0):
                raise InvalidInput(f"{path}.window is negative ({window}); give how far before or after the "
                                   "report an article may be published", field=f"{path}.window")
            window_days = window / timedelta(days=1)
        for i, outlet in enumerate(selection.outlets):
            if not outlet.strip():
                raise InvalidInput(f"{path}.outlets[{i}] is empty", field=f"{path}.outlets[{i}]")
        return {"k": k, "published": _time_field(selection, "published", f"{path}.published"),
                "window_days": window_days, "outlets": list(selection.outlets) or None}

    @staticmethod
    def _report(text: str, language: str, text_field: str, language_field: str) -> tuple[str, str | None]:
        if not text.strip():
            raise InvalidInput(f"{text_field} is empty: send the report's text", field=text_field)
        if language and not LANGUAGE_CODE.fullmatch(language):
            raise InvalidInput(f"{language_field}={clip(language, 20)!r} is not a language code such as 'ru'",
                               field=language_field)
        return text, language.lower() or None

    def search(self, request: pb.SearchRequest, translator: Translator | None = None) -> pb.SearchResponse:
        """The request's hits; `translator` (report sentences -> English) adds machine-translation evidence."""
        report, language = self._report(request.report, request.language, "report", "language")
        settings = self._selection(request.selection, "selection", self.config.max_library_results,
                                   "max_library_results")
        with _fields(_SEARCH_FIELDS):
            hits = self.library.search(report, language, translator=translator, **settings)
        return pb.SearchResponse(hits=[hit_to_pb(hit) for hit in hits])

    def stats(self, request: pb.StatsRequest) -> pb.StatsResponse:
        return stats_to_pb(self.library.stats())

    def select(self, request: al_pb.CompareRequest, translator: Translator | None = None) -> list[art_pb.Article]:
        """The library articles a CompareRequest asks for (request.library), texts included, best first.

        NotFound when the library finds none and the request has no articles of its own.
        """
        report, language = self._report(request.report.text, request.source_language or "ru", "report.text",
                                        "source_language")
        room = max(self.config.max_align_targets - len(request.articles), 0)
        settings = self._selection(request.library, "library", room, "max_align_targets")
        with _fields(_COMPARE_FIELDS):
            hits = self.library.search(report, language, translator=translator, **settings)
        if not hits and not request.articles:
            raise NotFound("the library has no article for this report (library.k, library.published, "
                           "library.window and library.outlets choose which may match)", field="library")
        return [article_to_pb(hit.article) for hit in hits]


class LibraryServicer(pb_grpc.LibraryServiceServicer):
    """Serves LibraryService: each call checked, then run by LibraryCalls in a worker thread."""

    def __init__(self, runtime: Runtime, calls: LibraryCalls | None = None) -> None:
        self._runtime = runtime
        self.calls = calls or LibraryCalls(runtime.config)

    async def _run(self, context: grpc.aio.ServicerContext, method: str, work: Any, request: Any,
                   advice: str = "ask for less") -> Any:
        async with handling(context, method, self._runtime) as record:
            self._runtime.check_size(request)
            response = await self.calls.run(work, request)
            record.add(**_summary(response))
            return self._runtime.check_response(response, advice)

    async def AddArticles(self, request: pb.AddArticlesRequest,
                          context: grpc.aio.ServicerContext) -> pb.AddArticlesResponse:
        return await self._run(context, "AddArticles", self.calls.add, request)

    async def GetArticle(self, request: pb.GetArticleRequest,
                         context: grpc.aio.ServicerContext) -> pb.GetArticleResponse:
        return await self._run(context, "GetArticle", self.calls.get, request)

    async def DeleteArticles(self, request: pb.DeleteArticlesRequest,
                             context: grpc.aio.ServicerContext) -> pb.DeleteArticlesResponse:
        return await self._run(context, "DeleteArticles", self.calls.delete, request)

    async def ListArticles(self, request: pb.ListArticlesRequest,
                           context: grpc.aio.ServicerContext) -> pb.ListArticlesResponse:
        return await self._run(context, "ListArticles", self.calls.list, request, "ask for a smaller page_size")

    async def Search(self, request: pb.SearchRequest, context: grpc.aio.ServicerContext) -> pb.SearchResponse:
        search = functools.partial(self.calls.search, translator=translator(self._runtime, request.language))
        return await self._run(context, "Search", search, request, "ask for a smaller selection.k")

    async def Stats(self, request: pb.StatsRequest, context: grpc.aio.ServicerContext) -> pb.StatsResponse:
        return await self._run(context, "Stats", self.calls.stats, request)


def translator(runtime: Runtime, language: str, target: str = "en") -> Translator | None:
    """A blocking translate function for search, when the report's language is given and a model for the pair is
    loaded: called from a worker thread, it runs the engine's translation on the server's event loop."""
    if not language or not runtime.ready:
        return None
    engine, pair = runtime.engine, LanguagePair(language.lower(), target)
    if pair not in engine.pairs():
        return None
    loop = asyncio.get_running_loop()
    translate = in_batches(engine.translate_sentences, runtime.config.max_texts)

    def run(sentences: list[str]) -> list[str]:
        return asyncio.run_coroutine_threadsafe(translate(sentences, pair.source, pair.target), loop).result()

    return run


def _summary(response: Any) -> dict[str, Any]:
    """Counts for the request log line (never article text)."""
    if isinstance(response, pb.AddArticlesResponse):
        refused = sum(r.status == pb.ADD_STATUS_REFUSED for r in response.results)
        return {"articles": len(response.results), "refused": refused}
    if isinstance(response, pb.SearchResponse):
        return {"hits": len(response.hits)}
    if isinstance(response, pb.ListArticlesResponse):
        return {"articles": len(response.articles)}
    if isinstance(response, pb.DeleteArticlesResponse):
        return {"deleted": response.deleted}
    return {}
