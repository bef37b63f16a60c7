"""Load: 64 clients mixing the largest requests the default limits allow, against a real `crosswire serve`.

    python benchmarks/load.py [--minutes 10] [--clients 64] [--channels 4] [--tiny] [--per-call] [--server-log F]

Starts `crosswire serve` on loopback with its default limits, the real zh->en
model (translate-zh_en-1_9; the tiny ru->en model the tests build, with a
decoding length of 16, when it is unavailable or with --tiny, and says so) and
a library in a temporary SQLite file. After one small request of each kind it
measures the idle RSS, then derives the memory bound from the limits
(`memory_bound`, the arithmetic printed) and runs the clients for --minutes
(at most 30): the largest Translate (max_texts texts, as many characters as
max_chars and max_response_bytes allow), the largest Segment, Align and Compare
at max_align_sentences / max_align_target_sentences / max_align_targets,
TranslateStreams open a minute each, one TranslateStream that never reads,
AddArticles of max_library_batch articles and Search for max_library_results,
and requests deliberately one over a limit. The server's VmRSS is sampled every
second (VmHWM read at the end). Prints the peak, the bound, their ratio and the
status codes per request kind; exits 1 on any status but OK and the documented
RESOURCE_EXHAUSTED (INVALID_ARGUMENT only for the over-limit requests, counted
apart; a call past the script's own deadline, DEADLINE_S, fails the run too), on
a peak over the bound, on a server that is no longer SERVING, or on one that
has not exited within its grace period and margin after SIGTERM.
With --per-call it sends each of the largest requests alone instead and prints
its peak growth against the budget's estimate for it.
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from grpc_health.v1 import health_pb2, health_pb2_grpc

from _setup import DATA, ServerProcess, peak_rss_mb, real_model_dir, rss_mb, tiny_models_dir

from crosswire.v1 import (
    alignment_pb2,
    alignment_pb2_grpc,
    article_pb2,
    library_pb2,
    library_pb2_grpc,
    segmentation_pb2,
    segmentation_pb2_grpc,
    translation_pb2,
    translation_pb2_grpc,
)
from crosswire_server.alignment.encoder import CACHED_PIECES
from crosswire_server.config import ServerConfig
from crosswire_server.exiting import EXIT_MARGIN_S

MIB = 1024 * 1024
MAX_MINUTES = 30.0
#: What one open stream may hold outside the memory budget: gRPC's HTTP/2 receive window (64 KiB: `serve`
#: turns BDP probing off) and the call itself; its items stay charged to the budget until their answers are
#: sent. `python benchmarks/stream_memory.py --variants in-flight-1 --modes never-read --streams 0,16,64`,
#: never-read streams with one item in flight: 1.06 MiB a stream (VmRSS) and 1.18 (VmHWM) with 64 open,
#: 1.0 for each stream past 16 (with BDP probing, as gRPC ships, 7.2 MiB a stream).
STREAM_BUFFER_MIB = 1.25
#: CTranslate2's working memory per source token of a batch being decoded (encoder output, attention caches,
#: beam states, logits, and what glibc keeps of them): translate-zh_en-1_9 at the default beam of 2, two
#: batches of 1,024 tokens at a time over 960 sentences, grew a fresh process by 342-347 MiB (167-170 KiB
#: a token; 150-154 at 2,048, 190-195 at 512; `python benchmarks/batch_size.py`), 180 with room.
#: Shared by the requests whose sentences a batch holds, so no request's estimate includes it.
BATCH_TOKEN_KIB = 180
#: Caches that fill with use after the idle RSS is measured, at their fullest: the encoder's piece
#: projections (3 KiB each, alignment/encoder.py) and the dictionary's three word caches (32,768 words
#: each; 62,000 news words took 10 MB, so 16 MiB).
FILLING_CACHES_MIB = CACHED_PIECES * 3 / 1024 + 16
#: A call's deadline: every request of the mix is answered well within it on an idle 2-core machine.
DEADLINE_S = 300.0
#: How long one of the reading TranslateStreams stays open before it is closed and another opened.
STREAM_LIFE_S = 60.0
#: Keep this share of max_response_bytes free when sizing a request from its measured bytes per character.
RESPONSE_MARGIN = 0.85
ARTICLES = 1000  # library articles, names reused by AddArticles so the library stays this size
ARTICLE_SENTENCES = 10
SERVICE_ALIGN = "crosswire.v1.AlignmentService"

#: How many of the 64 clients do what (scaled to --clients).
MIX = {"Translate": 14, "Segment": 10, "Align": 10, "Compare": 6, "TranslateStream": 10, "never-reading stream": 1,
       "AddArticles": 4, "Search": 6, "over a limit": 3}


def memory_bound(idle_mib: float, config: ServerConfig) -> tuple[float, list[tuple[str, float]]]:
    """The peak RSS the limits allow, in MiB, and its terms: what is loaded, plus what each limit lets requests hold."""
    batches, _ = config.threads("cpu")
    terms = [
        ("idle RSS (models, encoder, library open; measured at start)", idle_mib),
        (f"memory_budget_mb: requests in progress, estimated {config.memory_per_request_byte:g} B per request byte",
         float(config.memory_budget_mb)),
        (f"cache_bytes {config.cache_bytes:,}: translation cache", config.cache_bytes / MIB),
        ("embedding_cache_mb: sentence vectors", float(config.embedding_cache_mb)),
        ("encoder pieces and dictionary words: caches that fill with use", FILLING_CACHES_MIB),
        (f"max_open_streams {config.max_open_streams} x {STREAM_BUFFER_MIB:g} MiB transport buffers",
         config.max_open_streams * STREAM_BUFFER_MIB),
        (f"inter_threads {batches} batches of batch_tokens {config.batch_tokens:,} x {BATCH_TOKEN_KIB} KiB decoding",
         batches * config.batch_tokens * BATCH_TOKEN_KIB / 1024),
    ]
    return sum(value for _, value in terms), terms


@dataclass
class Corpus:
    """Source sentences for the model's language and English ones for the targets and the library."""

    language: str
    source: list[str]
    english: list[str]

    @property
    def joiner(self) -> str:
        return "" if self.language == "zh" else " "

    def text(self, chars: int, offset: int = 0, paragraph: int = 5) -> str:
        """Source text of about `chars` characters: pool sentences from `offset` on, in paragraphs."""
        return _text(self.source, self.joiner, chars, offset, paragraph)

    def sentences(self, pool: list[str], count: int, offset: int = 0) -> str:
        """`count` sentences of `pool` from `offset`, one per line (a document for Align and Compare)."""
        return "\n".join(pool[(offset + n) % len(pool)] for n in range(count))


def _text(pool: list[str], joiner: str, chars: int, offset: int, paragraph: int) -> str:
    parts, size, n = [], 0, offset
    while size < chars:
        sentence = pool[n % len(pool)]
        parts.append(sentence + ("\n\n" if (n - offset) % paragraph == paragraph - 1 else joiner))
        size += len(parts[-1])
        n += 1
    return "".join(parts)[:chars].rstrip()


def _lines_of(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load_corpus(language: str) -> Corpus:
    """newstest2019 from ../shared/data, or made-up sentences when the data is absent."""
    folder = DATA / "eval" / f"{language}-en"
    source, english = folder / f"newstest2019.{language}", folder / "newstest2019.en"
    if source.exists() and english.exists():
        return Corpus(language, _lines_of(source), _lines_of(english))
    made = {"zh": "部长宣布了第{}项经济措施。", "ru": "Министр объявил о новых мерах номер {}."}[language]
    return Corpus(language, [made.format(n) for n in range(2000)],
                  [f"The minister announced new measures number {n}." for n in range(2000)])


class Tally:
    """Status codes per request kind, and call times, from all clients."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.codes: collections.Counter[tuple[str, str]] = collections.Counter()
        self.seconds: dict[str, list[float]] = collections.defaultdict(list)
        self.details: dict[tuple[str, str], str] = {}

    def add(self, kind: str, code: str, seconds: float | None = None, detail: str = "") -> None:
        with self.lock:
            self.codes[(kind, code)] += 1
            if seconds is not None and code == "OK":
                self.seconds[kind].append(seconds)
            if detail:
                self.details.setdefault((kind, code), detail[:160])


ALLOWED = {"OK", "RESOURCE_EXHAUSTED"}
ALLOWED_OVER_LIMIT = {"INVALID_ARGUMENT", "RESOURCE_EXHAUSTED"}
EXPECTED_END = "CANCELLED (by this script at the end)"
SIZING = "INVALID_ARGUMENT (answer over max_response_bytes: sizing the request)"


@dataclass
class Requests:
    """The largest requests of each kind within the limits, built once (a few parts vary per call)."""

    corpus: Corpus
    config: ServerConfig
    translate_chars: int = 0
    segment_chars: int = 0
    translate_texts: list[str] = field(default_factory=list)
    segment: segmentation_pb2.SegmentRequest | None = None
    align: list = field(default_factory=list)  # the two shapes of AlignRequest
    compare: alignment_pb2.CompareRequest | None = None

    def build_translate(self, chars: int) -> None:
        texts, per_text = self.config.max_texts, max(1, chars // self.config.max_texts)
        self.translate_chars = chars
        self.translate_texts = [self.corpus.text(per_text, offset=n * 7) for n in range(texts)]

    def translate(self, n: int) -> translation_pb2.TranslateRequest:
        """The largest Translate, its last text with one sentence never seen before (the model decodes every call)."""
        fresh = f"{self.corpus.source[n % len(self.corpus.source)]}{self.corpus.joiner}({n})"
        return translation_pb2.TranslateRequest(texts=[*self.translate_texts[:-1], fresh],
                                                source_language=self.corpus.language, target_language="en")

    def build_segment(self, chars: int) -> None:
        self.segment_chars = chars
        self.segment = segmentation_pb2.SegmentRequest(text=self.corpus.text(chars, offset=3), language=self.corpus.language)

    def align_shapes(self, scale: float = 1.0) -> list[tuple[int, int]]:
        """(documents, sentences each) of the two Align shapes: documents of max_align_sentences, and as many
        small ones as max_align_targets and max_align_source_by_targets allow against max_align_sentences,
        max_align_target_sentences in all (times `scale`, for max_response_bytes)."""
        limit = self.config
        per_doc = limit.max_align_sentences
        total = limit.max_align_target_sentences
        many = min(limit.max_align_targets, limit.max_align_source_by_targets // limit.max_align_sentences)
        return [(max(1, int(total * scale) // per_doc), per_doc), (many, max(1, int(total * scale) // many))]

    def align_request(self, docs: int, size: int) -> alignment_pb2.AlignRequest:
        c = self.corpus
        source = alignment_pb2.InputDocument(name="report", text=c.sentences(c.source, self.config.max_align_sentences))
        return alignment_pb2.AlignRequest(
            source=source, source_language=c.language, target_language="en", presegmented=True,
            targets=[alignment_pb2.InputDocument(name=f"t{d}", text=c.sentences(c.english, size, offset=d * size))
                     for d in range(docs)])

    def compare_request(self, docs: int, size: int) -> alignment_pb2.CompareRequest:
        c = self.corpus
        return alignment_pb2.CompareRequest(
            report=self.align_request(1, 1).source, source_language=c.language, target_language="en",
            presegmented=True,
            articles=[alignment_pb2.InputDocument(name=f"a{d}", text=c.sentences(c.english, size, offset=d * 131))
                      for d in range(docs)])

    def articles(self, batch: int, first: int, variant: int) -> library_pb2.AddArticlesRequest:
        """`batch` articles named from a fixed set (the library keeps its size); a new variant replaces them."""
        c, published = self.corpus, Timestamp(seconds=1_570_000_000)
        items = []
        for k in range(batch):
            n = (first + k) % ARTICLES
            sentences = [c.english[(n * ARTICLE_SENTENCES + j) % len(c.english)] for j in range(ARTICLE_SENTENCES)]
            if variant % 2:
                sentences.reverse()
            items.append(article_pb2.Article(name=f"load-{n}", outlet=f"outlet-{n % 7}", title=sentences[0][:80],
                                             published=published, language="en", text=" ".join(sentences)))
        return library_pb2.AddArticlesRequest(articles=items)

    def search(self, n: int) -> library_pb2.SearchRequest:
        c = self.corpus
        return library_pb2.SearchRequest(report=c.text(1500, offset=(n * 37) % len(c.source)), language=c.language,
                                         selection=article_pb2.LibrarySelection(k=self.config.max_library_results))

    def over_limit(self, n: int) -> tuple[str, object]:
        """A request one over a limit, in turn: texts, characters, targets, a library batch."""
        c, limit = self.corpus, self.config
        which = n % 4
        if which == 0:
            return "Translate", translation_pb2.TranslateRequest(texts=["x"] * (limit.max_texts + 1),
                                                                 source_language=c.language, target_language="en")
        if which == 1:
            return "Segment", segmentation_pb2.SegmentRequest(text="a" * (limit.max_chars + 1), language=c.language)
        if which == 2:
            return "Align", alignment_pb2.AlignRequest(
                source=alignment_pb2.InputDocument(name="s", text=c.source[0]), source_language=c.language,
                target_language="en",
                targets=[alignment_pb2.InputDocument(name=f"t{d}", text=c.english[d % len(c.english)])
                         for d in range(limit.max_align_targets + 1)])
        return "AddArticles", self.articles(limit.max_library_batch + 1, 0, 0)


class Stubs:
    def __init__(self, channel: grpc.Channel) -> None:
        self.translation = translation_pb2_grpc.TranslationServiceStub(channel)
        self.segmentation = segmentation_pb2_grpc.SegmentationServiceStub(channel)
        self.alignment = alignment_pb2_grpc.AlignmentServiceStub(channel)
        self.library = library_pb2_grpc.LibraryServiceStub(channel)

    def method(self, kind: str):  # noqa: ANN201 - a gRPC multicallable
        return {"Translate": self.translation.Translate, "Segment": self.segmentation.Segment,
                "Align": self.alignment.Align, "Compare": self.alignment.Compare,
                "AddArticles": self.library.AddArticles, "Search": self.library.Search}[kind]


def call(stubs: Stubs, kind: str, request: object, timeout: float = DEADLINE_S) -> tuple[str, object, str]:
    """(code name, response or None, details) of one unary call."""
    try:
        return "OK", stubs.method(kind)(request, timeout=timeout), ""
    except grpc.RpcError as error:
        return error.code().name, None, error.details() or ""


class Sampler(threading.Thread):
    """The server's VmRSS every second, in MiB."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.samples, self.done = pid, [], threading.Event()

    def run(self) -> None:
        while not self.done.wait(1.0):
            try:
                self.samples.append(rss_mb(self.pid))
            except OSError:
                return


def serving(channel: grpc.Channel) -> str:
    try:
        answer = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=30)
        return health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status)
    except grpc.RpcError as error:
        return error.code().name


def size_for(stubs: Stubs, kind: str, request: object, chars: int, config: ServerConfig, tally: Tally) -> int:
    """The most characters of this kind whose answer fits max_response_bytes, from one request's bytes per character."""
    code, response, detail = call(stubs, kind, request, timeout=1800)
    tally.add(f"warm-up {kind}", code, detail=detail)
    if code != "OK":
        raise RuntimeError(f"warm-up {kind} failed: {code} {detail}")
    per_char = response.ByteSize() / chars
    return int(min(config.max_chars, RESPONSE_MARGIN * config.max_response_bytes / per_char))


def check_largest(stubs: Stubs, kind: str, build, chars: int, tally: Tally) -> int:  # noqa: ANN001
    """Send the largest request once; shrink it while its answer is refused as too large."""
    for _ in range(5):
        code, _, detail = call(stubs, kind, build(chars), timeout=1800)
        sizing = code == "INVALID_ARGUMENT" and "max_response_bytes" in detail
        tally.add(f"warm-up {kind}", SIZING if sizing else code, detail=detail)
        if code == "OK":
            return chars
        if code != "INVALID_ARGUMENT" or "max_response_bytes" not in detail:
            raise RuntimeError(f"warm-up {kind} of {chars} characters failed: {code} {detail}")
        chars = int(chars * 0.85)
    raise RuntimeError(f"warm-up {kind}: no size found within max_response_bytes")


def warm_up(stubs: Stubs, requests: Requests, tally: Tally) -> None:
    """Fill the caches with the pools and size the Translate and Segment requests to the response limit."""
    c, config = requests.corpus, requests.config
    pool_text = [c.text(2000, offset=n * 60, paragraph=60) for n in range(len(c.source) // 60 + 1)]
    pool_chars = sum(len(text) for text in pool_text)
    translate_chars = size_for(stubs, "Translate", translation_pb2.TranslateRequest(
        texts=pool_text, source_language=c.language, target_language="en"), pool_chars, config, tally)
    segment_chars = size_for(stubs, "Segment", segmentation_pb2.SegmentRequest(
        text=c.text(100_000), language=c.language), 100_000, config, tally)

    def translate(chars: int) -> translation_pb2.TranslateRequest:
        requests.build_translate(chars)
        return requests.translate(0)

    def segment(chars: int) -> segmentation_pb2.SegmentRequest:
        requests.build_segment(chars)
        return requests.segment

    requests.build_translate(check_largest(stubs, "Translate", translate, translate_chars, tally))
    requests.build_segment(check_largest(stubs, "Segment", segment, segment_chars, tally))
    batch = config.max_library_batch
    for first in range(0, ARTICLES, batch):
        code, _, detail = call(stubs, "AddArticles", requests.articles(min(batch, ARTICLES - first), first, 0), 1800)
        tally.add("warm-up AddArticles", code, detail=detail)
    for shape in range(2):
        requests.align.append(fit(stubs, "Align", lambda scale: requests.align_request(
            *requests.align_shapes(scale)[shape]), config, tally))
    requests.compare = fit(stubs, "Compare", lambda scale: requests.compare_request(*requests.align_shapes(scale)[0]),
                           config, tally)


def fit(stubs: Stubs, kind: str, build, config: ServerConfig, tally: Tally) -> object:  # noqa: ANN001
    """The request `build(scale)` at the largest scale up to 1 whose answer fits max_response_bytes (sent once)."""
    scale = 1.0
    for _ in range(5):
        request = build(scale)
        code, _, detail = call(stubs, kind, request, timeout=1800)
        found = re.search(r"response would be (\d+) bytes", detail)
        tally.add(f"warm-up {kind}", SIZING if found and code == "INVALID_ARGUMENT" else code, detail=detail)
        if code == "OK":
            return request
        if code != "INVALID_ARGUMENT" or not found:
            raise RuntimeError(f"warm-up {kind} failed: {code} {detail}")
        scale *= RESPONSE_MARGIN * config.max_response_bytes / int(found.group(1))
    raise RuntimeError(f"warm-up {kind}: no size found within max_response_bytes")


def first_touch(stubs: Stubs, corpus: Corpus, tally: Tally) -> None:
    """One small request of each kind: what loads on first use (language identifier, dictionary, library) loads."""
    c, small = corpus, corpus.text(200)
    touches = [
        ("Translate", translation_pb2.TranslateRequest(texts=[small], source_language=c.language, target_language="en")),
        ("Segment", segmentation_pb2.SegmentRequest(text=small, language=c.language)),
        ("Align", alignment_pb2.AlignRequest(source=alignment_pb2.InputDocument(name="s", text=small),
                                             targets=[alignment_pb2.InputDocument(name="t", text=c.english[0])],
                                             source_language=c.language, target_language="en")),
        ("Compare", alignment_pb2.CompareRequest(report=alignment_pb2.InputDocument(name="s", text=small),
                                                 articles=[alignment_pb2.InputDocument(name="t", text=c.english[0])],
                                                 source_language=c.language, target_language="en")),
        ("Search", library_pb2.SearchRequest(report=small, language=c.language)),
    ]
    for kind, request in touches:
        code, _, detail = call(stubs, kind, request, timeout=600)
        tally.add(f"warm-up {kind}", code, detail=detail)


class Load:
    """The clients: each loops on its kind of request until the end of the run."""

    def __init__(self, channels: list[grpc.Channel], requests: Requests, tally: Tally, seconds: float) -> None:
        self.channels, self.requests, self.tally = channels, requests, tally
        self.stop = threading.Event()
        self.seconds = seconds
        self.counter = iter(range(10**9))
        self.never_read_sent = 0

    def unary(self, stubs: Stubs, kind: str) -> None:
        n = next(self.counter)
        r = self.requests
        request = {"Translate": lambda: r.translate(n), "Segment": lambda: r.segment,
                   "Align": lambda: r.align[n % 2], "Compare": lambda: r.compare,
                   "AddArticles": lambda: r.articles(r.config.max_library_batch, n * 97, n),
                   "Search": lambda: r.search(n)}[kind]()
        began = time.perf_counter()
        code, response, detail = call(stubs, kind, request)
        self.tally.add(kind, code, time.perf_counter() - began, detail)
        if kind == "AddArticles" and response is not None:
            for result in response.results:
                self.tally.add("AddArticles item", library_pb2.AddStatus.Name(result.status), detail=result.reason)
        if code == "RESOURCE_EXHAUSTED":
            self.stop.wait(1.0)  # the RetryInfo's default delay

    def over_limit(self, stubs: Stubs) -> None:
        kind, request = self.requests.over_limit(next(self.counter))
        code, _, detail = call(stubs, kind, request)
        self.tally.add(f"{kind} over a limit", code, detail=detail)
        self.stop.wait(2.0)

    def stream(self, stubs: Stubs) -> None:
        """A TranslateStream open STREAM_LIFE_S, a text every quarter second, one in 20 of 50,000 characters."""
        r, stop = self.requests, self.stop

        def messages():  # noqa: ANN202
            end = time.monotonic() + STREAM_LIFE_S
            n = 0
            while time.monotonic() < end and not stop.is_set():
                size = 50_000 if n % 20 == 19 else 600
                yield translation_pb2.TranslateStreamRequest(id=str(n), text=r.corpus.text(size, offset=n * 11),
                                                             source_language=r.corpus.language, target_language="en")
                n += 1
                stop.wait(0.25)

        began = time.perf_counter()
        try:
            for answer in stubs.translation.TranslateStream(messages(), timeout=STREAM_LIFE_S + DEADLINE_S):
                code = "OK" if answer.WhichOneof("outcome") == "result" else grpc.StatusCode(
                    next(s for s in grpc.StatusCode if s.value[0] == answer.error.code)).name
                self.tally.add("TranslateStream item", code, detail=answer.error.message)
            self.tally.add("TranslateStream", "OK", time.perf_counter() - began)
        except grpc.RpcError as error:
            self.tally.add("TranslateStream", error.code().name, detail=error.details() or "")
            if error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED:
                stop.wait(1.0)

    def never_read(self, stubs: Stubs) -> None:
        """One stream that sends as fast as the transport takes its messages and never reads an answer."""
        r, stop = self.requests, self.stop

        def messages():  # noqa: ANN202
            n = 0
            while not stop.is_set():
                yield translation_pb2.TranslateStreamRequest(id=str(n), text=r.corpus.text(3000, offset=n * 13),
                                                             source_language=r.corpus.language, target_language="en")
                n += 1
                self.never_read_sent = n

        answers = stubs.translation.TranslateStream(messages(), timeout=self.seconds + 2 * DEADLINE_S)
        stop.wait()
        answers.cancel()
        code = answers.code()
        self.tally.add("never-reading stream", EXPECTED_END if code == grpc.StatusCode.CANCELLED else code.name,
                       detail=answers.details() or "")

    def client(self, index: int, kind: str) -> None:
        stubs = Stubs(self.channels[index % len(self.channels)])
        if kind == "never-reading stream":
            self.never_read(stubs)
            return
        random.seed(index)
        self.stop.wait(random.random() * 2)  # not all at the same instant
        while not self.stop.is_set():
            if kind == "TranslateStream":
                self.stream(stubs)
            elif kind == "over a limit":
                self.over_limit(stubs)
            else:
                self.unary(stubs, kind)

    def run(self, clients: int) -> float:
        """Run the clients for the given seconds; returns the seconds the calls in flight took to finish after."""
        kinds = [kind for kind, count in MIX.items() for _ in range(max(1, round(count * clients / 64)))][:clients]
        threads = [threading.Thread(target=self.client, args=(i, kind), daemon=True) for i, kind in enumerate(kinds)]
        for thread in threads:
            thread.start()
        self.stop.wait(self.seconds)
        self.stop.set()
        ended = time.perf_counter()
        for thread in threads:
            thread.join()
        return time.perf_counter() - ended


def start_server(tiny: bool, folder: Path, log: Path | None) -> tuple[ServerProcess, str, str, list[str]]:
    """The server process, its model's description, the source language and the flags that differ from defaults."""
    library = ["--library", str(folder / "library.sqlite3")]
    note = ""
    if not tiny:
        try:
            models = real_model_dir()
            server = ServerProcess.start(models, *library, service=SERVICE_ALIGN, log=log)
            return server, "translate-zh_en-1_9 (zh->en)", "zh", []
        except Exception as exc:  # offline without the model: the tiny one, said so
            note = f"; the real model is unavailable ({str(exc)[:120]})"
    flags = ["--max-decoding-length", "16"]
    server = ServerProcess.start(tiny_models_dir(folder), *library, *flags, service=SERVICE_ALIGN, log=log)
    return server, f"TINY ru->en model (random weights){note}", "ru", flags


def _lines(documents) -> int:  # noqa: ANN001
    return sum(d.text.count("\n") + 1 for d in documents)


def report(args: argparse.Namespace, model: str, flags: list[str], requests: Requests, idle: float, peak: float,
           hwm: float, tally: Tally, timing: dict[str, float], health: str, never_read_sent: int) -> list[str]:
    """Print the summary; returns the reasons the run failed (none: it passed)."""
    config = requests.config
    bound, terms = memory_bound(idle, config)
    load = os.getloadavg()
    print(f"model: {model}; server: default limits{' except ' + ' '.join(flags) if flags else ''}, "
          "library in a temporary SQLite file, on 127.0.0.1")
    print(f"machine: {os.cpu_count()} cores, load average {load[0]:.1f} at the end (shared with other work; "
          "the mix keeps both cores busy on its own)")
    print(f"run: {args.minutes:g} min of load, {args.clients} clients over {args.channels} channels; "
          f"warm-up {timing['warm-up']:.0f} s; calls in flight at the end finished in {timing['drain']:.0f} s")
    c = requests
    print(f"largest requests: Translate {config.max_texts} texts, {c.translate_chars:,} characters "
          f"({sum(len(t.encode()) for t in c.translate_texts) / 1e6:.2f} MB); Segment {c.segment_chars:,} characters "
          f"({len(c.segment.text.encode()) / 1e6:.2f} MB); Align {config.max_align_sentences} source sentences against "
          + " or ".join(f"{_lines(a.targets):,} in {len(a.targets)} documents" for a in c.align)
          + f"; Compare against {_lines(c.compare.articles):,} in {len(c.compare.articles)}; "
          f"the never-reading stream sent {never_read_sent} messages")
    print("bound (MiB), from the limits:")
    for i, (name, value) in enumerate(terms):
        print(f"  {'+' if i else ' '} {value:8.0f}  {name}")
    print(f"  = {bound:8.0f}  ({bound / 1024:.2f} GiB)")
    top = max(peak, hwm)
    print(f"peak RSS: {peak:.0f} MiB sampled every second, VmHWM {hwm:.0f} MiB; "
          f"peak / bound = {top / bound:.2f}; growth over idle {top - idle:.0f} MiB")
    print("status codes:")
    failures = []
    for (kind, code), count in sorted(tally.codes.items()):
        times = tally.seconds.get(kind) if code == "OK" else None
        timing_note = f"  median {statistics.median(times):.1f} s, max {max(times):.1f} s" if times else ""
        detail = tally.details.get((kind, code), "")
        print(f"  {kind:28} {code:22} {count:7}{timing_note}{'  ' + detail[:100] if detail and code != 'OK' else ''}")
        if kind.endswith("over a limit"):
            if code not in ALLOWED_OVER_LIMIT:
                failures.append(f"{kind}: {code} (expected INVALID_ARGUMENT)")
        elif kind == "AddArticles item":
            if code not in ("ADD_STATUS_ADDED", "ADD_STATUS_UNCHANGED", "ADD_STATUS_REPLACED"):
                failures.append(f"{kind}: {code} {detail[:80]}")
        elif kind.startswith("warm-up") and code == SIZING:
            pass
        elif kind == "never-reading stream":
            if code != EXPECTED_END:
                failures.append(f"{kind}: {code}")
        elif code not in ALLOWED:
            failures.append(f"{kind}: {code} {detail[:80]}")
    if health != "SERVING":
        failures.append(f"health after the run: {health}")
    if top > bound:
        failures.append(f"peak RSS {top:.0f} MiB is over the bound {bound:.0f} MiB")
    print(f"health after the run: {health}")
    print("load: " + ("PASS" if not failures else "FAIL: " + "; ".join(failures)))
    return failures


def per_call(stubs: Stubs, requests: Requests, pid: int) -> None:
    """Each of the largest requests alone: its peak growth of RSS against the memory budget's estimate for it."""
    r, per_byte = requests, requests.config.memory_per_request_byte
    print(f"each largest request alone: growth of the peak over the RSS before it, against the budget's estimate "
          f"({per_byte:g} B per request byte)")
    for kind, request in [("Translate", r.translate(10**6)), ("Segment", r.segment), ("Align", r.align[0]),
                          ("Align", r.align[1]), ("Compare", r.compare),
                          ("AddArticles", r.articles(r.config.max_library_batch, 0, 1)), ("Search", r.search(0))]:
        time.sleep(1)
        before = rss_mb(pid)
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM back to the current RSS (Linux)
        code, _, _ = call(stubs, kind, request, timeout=1800)
        growth, estimate = peak_rss_mb(pid) - before, request.ByteSize() * per_byte / MIB
        print(f"  {kind:12} {request.ByteSize() / 1e6:5.2f} MB  estimate {estimate:5.0f} MiB  "
              f"growth {growth:5.0f} MiB  growth/estimate {growth / max(estimate, 1):5.1f}  {code}", flush=True)


def stop_server(server: ServerProcess) -> list[str]:
    """SIGTERM the server and wait for its exit: the reasons to fail (not gone within grace + margin, bad status)."""
    limit = ServerConfig().grace_period_s + EXIT_MARGIN_S + 5
    began = time.perf_counter()
    server.process.terminate()
    try:
        status = server.process.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
        print(f"server: still running {limit:.0f} s after SIGTERM; killed")
        return [f"the server did not exit within {limit:.0f} s of SIGTERM"]
    print(f"server: exited with status {status} {time.perf_counter() - began:.1f} s after SIGTERM")
    return [f"the server exited with status {status} after SIGTERM"] if status else []


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help=f"how long the load runs (at most {MAX_MINUTES:g})")
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--channels", type=int, default=4)
    parser.add_argument("--tiny", action="store_true", help="the tiny ru->en model the tests build, not the real one")
    parser.add_argument("--per-call", action="store_true", help="instead of the load, send each of the largest "
                        "requests alone and print its memory against the budget's estimate")
    parser.add_argument("--server-log", type=Path, help="keep the server's request log in this file")
    args = parser.parse_args()
    if not 0 < args.minutes <= MAX_MINUTES:
        parser.error(f"--minutes must be over 0 and at most {MAX_MINUTES:g}")
    if args.clients < len(MIX):
        parser.error(f"--clients must be at least {len(MIX)}, one of each kind")
    tally, timing, failures = Tally(), {}, []
    with tempfile.TemporaryDirectory() as tmp:
        began = time.perf_counter()
        server, model, language, flags = start_server(args.tiny, Path(tmp), args.server_log)
        pid = server.process.pid
        options = [("grpc.max_receive_message_length", 64 * MIB), ("grpc.max_send_message_length", 64 * MIB)]
        channels = [grpc.insecure_channel(server.address, options=options) for _ in range(args.channels)]
        try:
            corpus = load_corpus(language)
            requests = Requests(corpus, ServerConfig())
            stubs = Stubs(channels[0])
            first_touch(stubs, corpus, tally)
            time.sleep(2)
            idle = rss_mb(pid)
            touched = ", ".join(f"{kind[8:]} {code}" for (kind, code) in tally.codes)
            print(f"{model}; first requests: {touched}; idle RSS {idle:.0f} MiB", file=sys.stderr, flush=True)
            sampler = Sampler(pid)
            sampler.start()
            warm_up(stubs, requests, tally)
            timing["warm-up"] = time.perf_counter() - began
            print(f"warm-up done in {timing['warm-up']:.0f} s; load for {args.minutes:g} min", file=sys.stderr,
                  flush=True)
            if args.per_call:
                per_call(stubs, requests, pid)
                return 0
            load = Load(channels, requests, tally, args.minutes * 60)
            timing["drain"] = load.run(args.clients)
            sampler.done.set()
            sampler.join()
            hwm = peak_rss_mb(pid)
            peak = max(sampler.samples, default=rss_mb(pid))
            health = serving(channels[0])
            failures = report(args, model, flags, requests, idle, peak, hwm, tally, timing, health,
                              load.never_read_sent)
        finally:
            for channel in channels:
                channel.close()
            failures += stop_server(server)
    print("RESULT: " + ("PASS" if not failures else "FAIL: " + "; ".join(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
