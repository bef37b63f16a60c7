"""Python clients for a Crosswire server: `Client` (blocking) and `AsyncClient` (asyncio).

Both return the typed results of `crosswire.types`, put a deadline on every
call, balance over every replica a target names and retry with backoff on
UNAVAILABLE only (gRPC's own round_robin and retry policy) and raise
`CrosswireError` carrying the status code on failure.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator, Sequence
from typing import Any, TypedDict, Unpack

import grpc
from google.protobuf.message import DecodeError
from google.rpc import error_details_pb2, status_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from crosswire.balancing import list_items, list_target, service_config, tls_name
from crosswire.credentials import AsyncBearerInterceptor, BearerInterceptor, channel_credentials
from crosswire.convert import (
    align_request,
    alignment_from_pb,
    compare_request,
    comparison_from_pb,
    document_from_pb,
    model_from_pb,
    role_to_pb,
    translation_from_pb,
)
from crosswire.types import Alignment, AlignMode, Comparison, Document, ModelInfo, Role, StreamResult, Translation
from crosswire.v1 import alignment_pb2_grpc as al_grpc
from crosswire.v1 import segmentation_pb2 as seg_pb
from crosswire.v1 import segmentation_pb2_grpc as seg_grpc
from crosswire.v1 import translation_pb2 as tr_pb
from crosswire.v1 import translation_pb2_grpc as tr_grpc

# The article library (LibraryService).
from crosswire.convert import (
    add_requests,
    add_result_from_pb,
    article_from_pb,
    search_hit_from_pb,
    search_request,
    stats_from_pb,
)
from crosswire.types import AddResult, Article, LibrarySelection, LibraryStats, SearchHit
from crosswire.v1 import library_pb2 as lib_pb
from crosswire.v1 import library_pb2_grpc as lib_grpc

#: Articles per AddArticles request the clients send (a server takes up to its max_library_batch, 500 by default).
ADD_BATCH_SIZE = 100

DEFAULT_PORT = 50051
DEFAULT_ADDRESS = f"localhost:{DEFAULT_PORT}"
DEFAULT_TIMEOUT_S = 60.0
MAX_MESSAGE_BYTES = 64 * 1024 * 1024


class CrosswireError(Exception):
    """A failed call: `code` is the gRPC status code, `details` the server's message.

    `status` is the standard google.rpc.Status the server sent (None when it sent
    none), decoded into: `reason` (e.g. "INVALID_INPUT", "OVERLOADED"), `violations`
    ((field, description) pairs of a bad request), `limit` (the server setting that
    was exceeded, e.g. "max_chars"), `retry_after` (seconds to wait before retrying,
    None when retrying cannot help) and `request_id` (to find the call in the server log).
    """

    def __init__(self, code: grpc.StatusCode, details: str, status: status_pb2.Status | None = None) -> None:
        super().__init__(f"{code.name}: {details}")
        self.code = code
        self.details = details
        self.status = status
        self.reason = ""
        self.violations: list[tuple[str, str]] = []
        self.limit = ""
        self.retry_after: float | None = None
        self.request_id = ""
        for packed in status.details if status is not None else ():
            self._read(packed)

    def _read(self, packed: Any) -> None:
        """Take one packed google.rpc detail into the attributes; kinds this client does not know are skipped."""
        for kind in (error_details_pb2.ErrorInfo, error_details_pb2.BadRequest, error_details_pb2.QuotaFailure,
                     error_details_pb2.RetryInfo, error_details_pb2.RequestInfo):
            detail = kind()
            if packed.Unpack(detail):
                break
        else:
            return
        if isinstance(detail, error_details_pb2.ErrorInfo):
            self.reason = detail.reason
            self.limit = self.limit or detail.metadata.get("limit", "")
        elif isinstance(detail, error_details_pb2.BadRequest):
            self.violations += [(v.field, v.description) for v in detail.field_violations]
        elif isinstance(detail, error_details_pb2.QuotaFailure):
            self.limit = self.limit or next((v.subject for v in detail.violations), "")
        elif isinstance(detail, error_details_pb2.RetryInfo):
            self.retry_after = detail.retry_delay.ToTimedelta().total_seconds()
        else:
            self.request_id = detail.request_id

    @classmethod
    def from_rpc(cls, error: grpc.RpcError) -> CrosswireError:
        return cls(error.code(), error.details() or "", _rich_status(error))


_DETAILS_TRAILER = "grpc-status-details-bin"


def _rich_status(error: grpc.RpcError) -> status_pb2.Status | None:
    """The google.rpc.Status in a failed call's trailers, or None (also when it does not parse)."""
    trailers = error.trailing_metadata() if hasattr(error, "trailing_metadata") else None
    for key, value in trailers or ():
        if key == _DETAILS_TRAILER:
            try:
                return status_pb2.Status.FromString(value)
            except DecodeError:  # a malformed trailer leaves the code and message to go by
                return None
    return None


# gRPC target syntaxes other than HOST[:PORT]; they are passed through unchanged.
_TARGET_SCHEMES = ("dns:", "unix:", "unix-abstract:", "ipv4:", "ipv6:", "vsock:", "xds:")


def target(address: str) -> str:
    """HOST[:PORT] as a gRPC target with port 50051 when none is given (gRPC alone would use 443).

    Accepts host names, IPv4, IPv6 (bare or in brackets), a comma-separated list
    of those (one target over all of them, see balancing.list_target) and gRPC's
    own URI targets (dns:, unix:, ...); raises ValueError naming what is wrong.
    """
    address = address.strip()
    if "://" in address or address.startswith(_TARGET_SCHEMES):
        return address
    if "," in address:
        return list_target([target(item) for item in list_items(address)])
    if address.startswith("["):
        host, bracket, rest = address.partition("]")
        host, port = host + bracket, rest.removeprefix(":")
        if not bracket or (rest and not rest.startswith(":")):
            raise ValueError(f"invalid address {address!r}: expected [IPV6]:PORT")
    elif address.count(":") > 1:
        host, port = f"[{address}]", ""
    else:
        host, _, port = address.partition(":")
    if not host.strip("[]"):
        raise ValueError(f"invalid address {address!r}: expected HOST:PORT, e.g. localhost:{DEFAULT_PORT}")
    port = port or str(DEFAULT_PORT)
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"invalid address {address!r}: the port must be a number from 1 to 65535")
    return f"{host}:{port}"


def _channel_args(attempts: int, balancing: str = "round_robin") -> list[tuple[str, Any]]:
    """Channel options: the service config (balancing, retries: crosswire.balancing) and message limits."""
    return [
        ("grpc.enable_retries", 1 if attempts > 1 else 0),
        ("grpc.service_config", service_config(attempts, balancing)),
        # gRPC resends a request only while it still holds its bytes (256 KiB by default): keep any size retryable.
        ("grpc.per_rpc_retry_buffer_size", MAX_MESSAGE_BYTES),
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ]


class TranslateSettings(TypedDict, total=False):
    """Keyword settings of translate() and translate_stream(); None = the server's default."""

    source: str | None  # ISO 639-1 source language; None = detect
    target: str  # target language, default "en"
    model: str | None  # model name; None = the default for the pair
    beam_size: int | None
    num_hypotheses: int  # > 1 returns alternatives
    return_scores: bool  # log-probabilities per sentence
    max_decoding_length: int | None
    presegmented: bool  # each text is one sentence
    roles: Iterable[Role] | None  # Translate only; None = headline and body
    translate_duplicates: bool  # Translate only


class AlignSettings(TypedDict, total=False):
    """Keyword settings of align(); see convert.align_request."""

    source_language: str  # "" = the server's default ("ru")
    target_language: str  # "" = the server's default ("en")
    mode: AlignMode | str
    presegmented: bool  # each line is one sentence
    names: Sequence[str] | None  # one per target; default "target K"
    source_name: str
    roles: Iterable[Role] | None  # None = headline and body


class CompareSettings(TypedDict, total=False):
    """Keyword settings of compare(); see convert.compare_request."""

    source_language: str
    target_language: str
    presegmented: bool
    names: Sequence[str] | None  # one per article; default "article K"
    report_name: str
    roles: Iterable[Role] | None
    library: LibrarySelection | None  # also compare with the articles the server's library finds


def translate_request(
    texts: Sequence[str],
    source: str | None = None,
    target: str = "en",
    model: str | None = None,
    beam_size: int | None = None,
    num_hypotheses: int = 1,
    return_scores: bool = False,
    max_decoding_length: int | None = None,
    presegmented: bool = False,
    roles: Iterable[Role] | None = None,
    translate_duplicates: bool = False,
) -> tr_pb.TranslateRequest:
    """Build a TranslateRequest; None means "the server's default"."""
    return tr_pb.TranslateRequest(
        texts=list(texts),
        source_language=source or "",
        target_language=target or "",
        model=model or "",
        options=_options(beam_size, num_hypotheses, return_scores, max_decoding_length),
        presegmented=presegmented,
        roles=[role_to_pb(Role(r)) for r in roles or ()],
        translate_duplicates=translate_duplicates,
    )


def _options(beam_size: int | None, num_hypotheses: int, return_scores: bool,
             max_decoding_length: int | None) -> tr_pb.TranslationOptions:
    return tr_pb.TranslationOptions(
        beam_size=beam_size or 0,
        num_hypotheses=num_hypotheses or 0,
        return_scores=return_scores,
        max_decoding_length=max_decoding_length or 0,
    )


def stream_requests(items: Iterable[str | tuple[str, str]], **settings: Any) -> Iterator[tr_pb.TranslateStreamRequest]:
    """Stream messages for texts or (id, text) pairs; plain texts get their position as id."""
    for position, item in enumerate(items):
        yield _stream_request(position, item, settings)


async def astream_requests(items: Iterable | AsyncIterable, **settings: Any) -> AsyncIterator[tr_pb.TranslateStreamRequest]:
    """The asynchronous twin of stream_requests, accepting sync or async iterables."""
    if isinstance(items, AsyncIterable):
        position = 0
        async for item in items:
            yield _stream_request(position, item, settings)
            position += 1
    else:
        for message in stream_requests(items, **settings):
            yield message


def _stream_request(position: int, item: str | tuple[str, str], settings: dict[str, Any]) -> tr_pb.TranslateStreamRequest:
    item_id, text = (str(position), item) if isinstance(item, str) else item
    return tr_pb.TranslateStreamRequest(
        id=item_id,
        text=text,
        source_language=settings.get("source") or "",
        target_language=settings.get("target") or "",
        model=settings.get("model") or "",
        options=_options(settings.get("beam_size"), settings.get("num_hypotheses", 1),
                         settings.get("return_scores", False), settings.get("max_decoding_length")),
        presegmented=settings.get("presegmented", False),
    )


_STATUS_BY_NUMBER = {code.value[0]: code for code in grpc.StatusCode}


def stream_result(message: tr_pb.TranslateStreamResponse) -> StreamResult:
    """A stream response as a StreamResult (error code by name, e.g. "INVALID_ARGUMENT")."""
    if message.HasField("error"):
        code = _STATUS_BY_NUMBER.get(message.error.code, grpc.StatusCode.UNKNOWN)
        delay = message.error.retry_delay.ToNanoseconds() / 1e9 if message.error.HasField("retry_delay") else None
        return StreamResult(message.id, None, message.error.message, code.name, message.sequence, delay)
    return StreamResult(message.id, translation_from_pb(message.result), sequence=message.sequence)


_HEALTH = {v: k for k, v in health_pb2.HealthCheckResponse.ServingStatus.items()}


def _split(request: lib_pb.AddArticlesRequest, error: CrosswireError) -> list[lib_pb.AddArticlesRequest]:
    """The two halves of a batch the server refused as larger than its max_message_bytes (any other failure is
    raised): adding is idempotent, so sending them again is safe, and an article too large alone is refused alone."""
    if error.limit != "max_message_bytes":
        raise error
    middle = len(request.articles) // 2
    return [lib_pb.AddArticlesRequest(articles=request.articles[:middle]),
            lib_pb.AddArticlesRequest(articles=request.articles[middle:])]


def _refused_alone(request: lib_pb.AddArticlesRequest, error: CrosswireError) -> list[lib_pb.AddArticleResult]:
    """A refused result for an article the server cannot take even alone (over max_message_bytes); else raise."""
    if error.limit != "max_message_bytes":
        raise error
    return [lib_pb.AddArticleResult(name=request.articles[0].name, status=lib_pb.ADD_STATUS_REFUSED,
                                    reason=error.details)]


class _Connection:
    """Channel and stubs shared by both clients; subclasses say how to open the channel."""

    def __init__(
        self,
        address: str = DEFAULT_ADDRESS,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        tls: bool = False,
        root_certificates: bytes | None = None,
        retries: int = 4,
        api_key: str | None = None,
        certificate_chain: bytes | None = None,
        private_key: bytes | None = None,
    ) -> None:
        self.timeout = timeout
        self.address = target(address)
        credentials = channel_credentials(tls, root_certificates, certificate_chain, private_key)
        options = _channel_args(retries + 1)
        self._api_key = api_key
        if credentials is not None and tls_name(address):  # one certificate name for every replica of a list
            options.append(("grpc.ssl_target_name_override", tls_name(address)))
        self._channel = self._open(self.address, credentials, options)
        self._translation = tr_grpc.TranslationServiceStub(self._channel)
        self._segmentation = seg_grpc.SegmentationServiceStub(self._channel)
        self._alignment = al_grpc.AlignmentServiceStub(self._channel)
        self._library = lib_grpc.LibraryServiceStub(self._channel)
        self._health = health_pb2_grpc.HealthStub(self._channel)

    def _open(self, address: str, credentials: grpc.ChannelCredentials | None, options: list) -> Any:
        raise NotImplementedError


class Client(_Connection):
    """Blocking client. Use as a context manager, or call close().

    `address` is HOST[:PORT] (port 50051 when left out), a comma-separated list of
    them or a gRPC target URI such as dns:///NAME:PORT; calls are spread over every
    address with gRPC's round_robin (see crosswire.balancing). Settings: `timeout`
    (deadline per call, seconds), `tls` / `root_certificates` (encrypted channel),
    `retries` (extra attempts on UNAVAILABLE, at most 4). A server that checks who
    calls takes `api_key` (sent as `authorization: Bearer KEY` on every call) and/or,
    for mutual TLS, `certificate_chain` and `private_key` (PEM bytes).
    """

    def _open(self, address: str, credentials: grpc.ChannelCredentials | None, options: list) -> grpc.Channel:
        interceptor = BearerInterceptor(self._api_key) if self._api_key else None  # checks the key first
        if credentials is None:
            channel = grpc.insecure_channel(address, options)
        else:
            channel = grpc.secure_channel(address, credentials, options)
        return grpc.intercept_channel(channel, interceptor) if interceptor else channel

    def _call(self, method: Any, request: Any, timeout: float | None) -> Any:
        try:
            return method(request, timeout=timeout or self.timeout)
        except grpc.RpcError as error:
            raise CrosswireError.from_rpc(error) from None

    def translate(self, texts: Sequence[str], *, timeout: float | None = None,
                  **settings: Unpack[TranslateSettings]) -> list[Translation]:
        """Translate texts, one result per text in order; settings: see TranslateSettings."""
        if isinstance(texts, str):
            raise TypeError("translate() takes a sequence of texts; wrap a single text in a list")
        response = self._call(self._translation.Translate, translate_request(texts, **settings), timeout)
        return [translation_from_pb(r) for r in response.results]

    def translate_stream(self, items: Iterable[str | tuple[str, str]], *, timeout: float | None = None,
                         **settings: Unpack[TranslateSettings]) -> Iterator[StreamResult]:
        """Translate a stream of texts or (id, text) pairs; results arrive as soon as each is ready."""
        responses = self._translation.TranslateStream(stream_requests(items, **settings),
                                                      timeout=timeout or self.timeout)
        try:
            for message in responses:
                yield stream_result(message)
        except grpc.RpcError as error:
            raise CrosswireError.from_rpc(error) from None
        finally:
            responses.cancel()

    def models(self, *, timeout: float | None = None) -> list[ModelInfo]:
        """The models the server has loaded."""
        response = self._call(self._translation.ListModels, tr_pb.ListModelsRequest(), timeout)
        return [model_from_pb(m) for m in response.models]

    def segment(self, text: str, language: str | None = None, *, timeout: float | None = None) -> Document:
        """The server's segmentation of one text."""
        response = self._call(self._segmentation.Segment,
                              seg_pb.SegmentRequest(text=text, language=language or ""), timeout)
        return document_from_pb(response, text)

    def align(self, source: str, targets: Sequence[str], *, timeout: float | None = None,
              **settings: Unpack[AlignSettings]) -> Alignment:
        """Link the sentences of a source text with target texts; settings: see convert.align_request."""
        response = self._call(self._alignment.Align, align_request(source, targets, **settings), timeout)
        return alignment_from_pb(response, source, list(targets))

    def compare(self, report: str, articles: Sequence[str], *, timeout: float | None = None,
                **settings: Unpack[CompareSettings]) -> Comparison:
        """Rank articles by coverage shared with a report, with side-by-side rows; see convert.compare_request."""
        response = self._call(self._alignment.Compare, compare_request(report, articles, **settings), timeout)
        return comparison_from_pb(response, report, list(articles))

    def add_articles(self, articles: Iterable[Article], *, batch_size: int = ADD_BATCH_SIZE,
                     progress: Callable[[int], object] | None = None, timeout: float | None = None) -> list[AddResult]:
        """Add articles to the server's library, in batches; one result per article, in order.

        A refused article (empty, binary, too large, unsupported language, larger than the
        server takes in one message) gets a result saying why and the others go in.
        `progress(n)` is called after each batch of n.
        """
        results: list[AddResult] = []
        for request in add_requests(articles, batch_size):
            results += [add_result_from_pb(result) for result in self._add_batch(request, timeout)]
            if progress is not None:
                progress(len(request.articles))
        return results

    def _add_batch(self, request: lib_pb.AddArticlesRequest, timeout: float | None) -> list[lib_pb.AddArticleResult]:
        """One batch's results; a batch over the server's message limit is sent again in halves (see _split)."""
        try:
            return list(self._call(self._library.AddArticles, request, timeout).results)
        except CrosswireError as error:
            if len(request.articles) == 1:
                return _refused_alone(request, error)
            return [result for half in _split(request, error) for result in self._add_batch(half, timeout)]

    def get_article(self, key: str, *, timeout: float | None = None) -> Article:
        """One library article with its text, by id or name; CrosswireError NOT_FOUND when there is none."""
        return article_from_pb(self._call(self._library.GetArticle, lib_pb.GetArticleRequest(key=key), timeout).article)

    def delete_articles(self, keys: Sequence[str], *, timeout: float | None = None) -> int:
        """Remove library articles by id or name; returns how many went."""
        if isinstance(keys, str):
            raise TypeError("delete_articles() takes a sequence of ids or names; wrap a single one in a list")
        return self._call(self._library.DeleteArticles, lib_pb.DeleteArticlesRequest(keys=list(keys)), timeout).deleted

    def list_articles(self, *, outlet: str = "", page_size: int = 0,
                      timeout: float | None = None) -> Iterator[Article]:
        """Every library article (without text), most recently added first, fetched a page at a time."""
        token = ""
        while True:
            request = lib_pb.ListArticlesRequest(page_size=page_size, page_token=token, outlet=outlet)
            response = self._call(self._library.ListArticles, request, timeout)
            yield from (article_from_pb(a) for a in response.articles)
            token = response.next_page_token
            if not token:
                return

    def search(self, report: str, language: str | None = None, *, selection: LibrarySelection | None = None,
               timeout: float | None = None) -> list[SearchHit]:
        """The library articles sharing the most coverage with a report, best first (language None = identify it)."""
        response = self._call(self._library.Search, search_request(report, language or "", selection), timeout)
        return [search_hit_from_pb(hit) for hit in response.hits]

    def library_stats(self, *, timeout: float | None = None) -> LibraryStats:
        """How many articles and sentences the server's library holds, by outlet and language, and its size."""
        return stats_from_pb(self._call(self._library.Stats, lib_pb.StatsRequest(), timeout))

    def health(self, service: str = "", *, timeout: float | None = None) -> str:
        """The standard health status: "SERVING", "NOT_SERVING", …"""
        response = self._call(self._health.Check, health_pb2.HealthCheckRequest(service=service), timeout)
        return _HEALTH[response.status]

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncClient(_Connection):
    """asyncio client with the same methods and settings as `Client`, as coroutines."""

    def _open(self, address: str, credentials: grpc.ChannelCredentials | None, options: list) -> grpc.aio.Channel:
        interceptors = [AsyncBearerInterceptor(self._api_key)] if self._api_key else None
        if credentials is None:
            return grpc.aio.insecure_channel(address, options, interceptors=interceptors)
        return grpc.aio.secure_channel(address, credentials, options, interceptors=interceptors)

    async def _call(self, method: Any, request: Any, timeout: float | None) -> Any:
        try:
            return await method(request, timeout=timeout or self.timeout)
        except grpc.RpcError as error:
            raise CrosswireError.from_rpc(error) from None

    async def translate(self, texts: Sequence[str], *, timeout: float | None = None,
                        **settings: Unpack[TranslateSettings]) -> list[Translation]:
        """Translate texts, one result per text in order; settings: see TranslateSettings."""
        if isinstance(texts, str):
            raise TypeError("translate() takes a sequence of texts; wrap a single text in a list")
        response = await self._call(self._translation.Translate, translate_request(texts, **settings), timeout)
        return [translation_from_pb(r) for r in response.results]

    async def translate_stream(self, items: Iterable | AsyncIterable, *, timeout: float | None = None,
                               **settings: Unpack[TranslateSettings]) -> AsyncIterator[StreamResult]:
        """Translate a (possibly async) stream of texts or (id, text) pairs as results become ready."""
        call = self._translation.TranslateStream(astream_requests(items, **settings), timeout=timeout or self.timeout)
        try:
            async for message in call:
                yield stream_result(message)
        except grpc.RpcError as error:
            raise CrosswireError.from_rpc(error) from None
        finally:
            call.cancel()

    async def models(self, *, timeout: float | None = None) -> list[ModelInfo]:
        response = await self._call(self._translation.ListModels, tr_pb.ListModelsRequest(), timeout)
        return [model_from_pb(m) for m in response.models]

    async def segment(self, text: str, language: str | None = None, *, timeout: float | None = None) -> Document:
        response = await self._call(self._segmentation.Segment,
                                    seg_pb.SegmentRequest(text=text, language=language or ""), timeout)
        return document_from_pb(response, text)

    async def align(self, source: str, targets: Sequence[str], *, timeout: float | None = None,
                    **settings: Unpack[AlignSettings]) -> Alignment:
        response = await self._call(self._alignment.Align, align_request(source, targets, **settings), timeout)
        return alignment_from_pb(response, source, list(targets))

    async def compare(self, report: str, articles: Sequence[str], *, timeout: float | None = None,
                      **settings: Unpack[CompareSettings]) -> Comparison:
        response = await self._call(self._alignment.Compare, compare_request(report, articles, **settings), timeout)
        return comparison_from_pb(response, report, list(articles))

    async def add_articles(self, articles: Iterable[Article], *, batch_size: int = ADD_BATCH_SIZE,
                           progress: Callable[[int], object] | None = None,
                           timeout: float | None = None) -> list[AddResult]:
        results: list[AddResult] = []
        for request in add_requests(articles, batch_size):
            results += [add_result_from_pb(result) for result in await self._add_batch(request, timeout)]
            if progress is not None:
                progress(len(request.articles))
        return results

    async def _add_batch(self, request: lib_pb.AddArticlesRequest,
                         timeout: float | None) -> list[lib_pb.AddArticleResult]:
        try:
            return list((await self._call(self._library.AddArticles, request, timeout)).results)
        except CrosswireError as error:
            if len(request.articles) == 1:
                return _refused_alone(request, error)
            return [result for half in _split(request, error) for result in await self._add_batch(half, timeout)]

    async def get_article(self, key: str, *, timeout: float | None = None) -> Article:
        response = await self._call(self._library.GetArticle, lib_pb.GetArticleRequest(key=key), timeout)
        return article_from_pb(response.article)

    async def delete_articles(self, keys: Sequence[str], *, timeout: float | None = None) -> int:
        if isinstance(keys, str):
            raise TypeError("delete_articles() takes a sequence of ids or names; wrap a single one in a list")
        response = await self._call(self._library.DeleteArticles, lib_pb.DeleteArticlesRequest(keys=list(keys)), timeout)
        return response.deleted

    async def list_articles(self, *, outlet: str = "", page_size: int = 0,
                            timeout: float | None = None) -> AsyncIterator[Article]:
        token = ""
        while True:
            request = lib_pb.ListArticlesRequest(page_size=page_size, page_token=token, outlet=outlet)
            response = await self._call(self._library.ListArticles, request, timeout)
            for article in response.articles:
                yield article_from_pb(article)
            token = response.next_page_token
            if not token:
                return

    async def search(self, report: str, language: str | None = None, *, selection: LibrarySelection | None = None,
                     timeout: float | None = None) -> list[SearchHit]:
        response = await self._call(self._library.Search, search_request(report, language or "", selection), timeout)
        return [search_hit_from_pb(hit) for hit in response.hits]

    async def library_stats(self, *, timeout: float | None = None) -> LibraryStats:
        return stats_from_pb(await self._call(self._library.Stats, lib_pb.StatsRequest(), timeout))

    async def health(self, service: str = "", *, timeout: float | None = None) -> str:
        response = await self._call(self._health.Check, health_pb2.HealthCheckRequest(service=service), timeout)
        return _HEALTH[response.status]

    async def close(self) -> None:
        await self._channel.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
