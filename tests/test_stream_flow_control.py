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
