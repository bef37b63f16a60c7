"""TranslateStream flow control: while its answers are not taken, the server stops reading the stream,
so a client that never reads cannot grow the server beyond max_stream_in_flight items."""

from __future__ import annotations

import asyncio
from pathlib import Path

from crosswire.v1 import translation_pb2
from crosswire_server.config import ServerConfig
from crosswire_server.rpc.common import Runtime
from crosswire_server.rpc.translation import TranslationServicer
from crosswire_server.translation import TranslationEngine
from support.gate import wait_until_async

IN_FLIGHT = 4
ITEMS = 20


class Context:
    """The parts of a grpc.aio.ServicerContext the servicer uses, for a call that goes well."""

    def invocation_metadata(self) -> tuple:
        return ()

    def set_trailing_metadata(self, metadata: tuple) -> None:
        self.trailers = metadata

    def time_remaining(self) -> None:
        return None

    async def abort(self, code, details, trailers=()) -> None:
        raise AssertionError(f"the stream failed: {code} {details}")


def test_unread_answers_stop_the_reading(tiny_models_dir: Path) -> None:
    config = ServerConfig.from_env({}, models_dir=tiny_models_dir, max_stream_in_flight=IN_FLIGHT,
                                   max_decoding_length=4, cache_size=0)
    pulled = []

    async def requests():
        for i in range(ITEMS):
            pulled.append(i)
            yield translation_pb2.TranslateStreamRequest(text=f"Новость номер {i}.", source_language="ru")

    async def body() -> tuple[int, list[int]]:
        runtime = Runtime(config)
        runtime.set_engine(await asyncio.to_thread(TranslationEngine.load, config))
        answers = TranslationServicer(runtime).TranslateStream(requests(), Context())
        try:
            sequences = [(await anext(answers)).sequence]  # the client takes one answer, then stops reading
            await wait_until_async(lambda: len(pulled) >= IN_FLIGHT, "the stream to be read")
            await asyncio.sleep(1.0)  # room for the translations to finish and any further reading to happen
            stalled_at = len(pulled)
            sequences += [answer.sequence async for answer in answers]  # reading again lets it go on
        finally:
            await runtime.engine.close()
        return stalled_at, sequences

    stalled_at, sequences = asyncio.run(body())
    # The answer the client holds keeps its slot until the next one is asked for: IN_FLIGHT read, no more.
    assert stalled_at == IN_FLIGHT
    assert sorted(sequences) == list(range(ITEMS))


def test_through_grpc_a_client_that_never_reads_stops_the_server(tiny_models_dir: Path) -> None:
    """The unread answers fill the transport's flow-control windows, then the server stops translating.

    Each answer is about 40 KB, so HTTP/2's windows (a few MB on loopback) hold a few hundred; the
    server must then stop, far short of the 3,000 messages the client has for it. Before flow control,
    answers queued up in the server without bound and every message was translated.
    """
    import time

    import grpc

    from crosswire.v1 import translation_pb2_grpc
    from support.server import ServerThread

    text = "Правительство объявило о новых мерах поддержки экономики. " * 150
    with ServerThread(tiny_models_dir, max_stream_in_flight=IN_FLIGHT, max_decoding_length=4, max_chars=100_000,
                      cache_size=0) as handle:
        engine = handle.server.runtime.engine
        translated = []
        translate = engine.translate

        async def counting(*args, **kwargs):
            translated.append(1)
            return await translate(*args, **kwargs)

        engine.translate = counting
        items = (translation_pb2.TranslateStreamRequest(id=str(i), text=f"{text}{i}", source_language="ru")
                 for i in range(3000))
        with grpc.insecure_channel(handle.address) as channel:
            call = translation_pb2_grpc.TranslationServiceStub(channel).TranslateStream(items, timeout=120)
            seen, steady, deadline = -1, 0, time.monotonic() + 90
            while steady < 6 and time.monotonic() < deadline:  # until the count holds still for 3 s
                time.sleep(0.5)
                steady = steady + 1 if len(translated) == seen else 0
                seen = len(translated)
            call.cancel()
    assert steady >= 6, f"the server kept translating ({seen} messages)"
    assert IN_FLIGHT <= seen < 1000


def test_unsent_answers_keep_their_items_charged_to_the_budget(tiny_models_dir: Path) -> None:
    config = ServerConfig.from_env({}, models_dir=tiny_models_dir, max_stream_in_flight=IN_FLIGHT,
                                   max_decoding_length=4, cache_size=0)
    items = [translation_pb2.TranslateStreamRequest(text=f"Новость номер {i}.", source_language="ru")
             for i in range(ITEMS)]

    async def requests():
        for item in items:
            yield item

    async def body() -> tuple[int, int, int]:
        runtime = Runtime(config)
        runtime.set_engine(await asyncio.to_thread(TranslationEngine.load, config))
        answers = TranslationServicer(runtime).TranslateStream(requests(), Context())
        try:
            await anext(answers)  # the client takes one answer, then stops reading
            await asyncio.sleep(1.0)  # room for the items in flight to be translated
            stalled = runtime.budget.used
            rest = [answer async for answer in answers]
        finally:
            await runtime.engine.close()
        return stalled, len(rest), runtime.budget.used

    stalled, rest, after = asyncio.run(body())
    per_byte = config.memory_per_request_byte
    assert stalled >= (IN_FLIGHT - 1) * per_byte * items[0].ByteSize()  # translated, unsent, still charged
    assert rest == ITEMS - 1 and after == 0
