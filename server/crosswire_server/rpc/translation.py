"""TranslationService: protobuf requests → TranslationEngine calls → protobuf responses."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc

from crosswire.convert import model_to_pb, translation_to_pb
from crosswire.v1 import translation_pb2 as pb
from crosswire.v1 import translation_pb2_grpc as pb_grpc

from crosswire_server.batching import DecodeOptions
from crosswire_server.errors import CrosswireError, InvalidInput
from crosswire_server.rpc.common import Runtime, handling, roles_from_request, status_for
from crosswire_server.translation import TranslationEngine


_ASK_LESS = "send fewer or shorter texts, or ask for fewer hypotheses (options.num_hypotheses)"


def _options(engine: TranslationEngine, message: pb.TranslationOptions) -> DecodeOptions:
    return engine.decode_options(
        message.beam_size, message.num_hypotheses, message.return_scores, message.max_decoding_length
    )


class TranslationServicer(pb_grpc.TranslationServiceServicer):
    """Serves Translate, TranslateStream and ListModels over the shared runtime."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    async def Translate(self, request: pb.TranslateRequest, context: grpc.aio.ServicerContext) -> pb.TranslateResponse:
        async with handling(context, "Translate", self._runtime) as record:
            texts = list(request.texts)
            record.add(texts=len(texts), characters=sum(map(len, texts)))
            self._runtime.check_size(request)
            engine = self._runtime.engine
            results = await engine.translate(
                texts,
                source=request.source_language,
                target=request.target_language,
                model=request.model,
                options=_options(engine, request.options),
                presegmented=request.presegmented,
                roles=roles_from_request(request.roles),
                translate_duplicates=request.translate_duplicates,
            )
            record.add(sentences=sum(len(r.segments) for r in results))
            response = pb.TranslateResponse(results=[translation_to_pb(r, t) for r, t in zip(results, texts)])
            return self._runtime.check_response(response, _ASK_LESS)

    async def TranslateStream(
        self, request_iterator: AsyncIterator[pb.TranslateStreamRequest], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.TranslateStreamResponse]:
        async with handling(context, "TranslateStream", self._runtime) as record:
            engine = self._runtime.engine
            responses: asyncio.Queue[pb.TranslateStreamResponse | None] = asyncio.Queue()
            reader = asyncio.create_task(self._read_stream(engine, request_iterator, responses, record))
            try:
                while (response := await responses.get()) is not None:
                    yield response
                await reader
            finally:
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)

    async def _read_stream(self, engine: TranslationEngine, requests: AsyncIterator[pb.TranslateStreamRequest],
                           responses: asyncio.Queue, record) -> None:
        """Start a translation per incoming item (at most max_stream_in_flight at once)."""
        slots = asyncio.Semaphore(self._runtime.config.max_stream_in_flight)
        seen: set[str] = set()
        tasks: set[asyncio.Task] = set()
        counts = {"texts": 0, "characters": 0}

        async def one(item: pb.TranslateStreamRequest, item_id: str, duplicate: bool) -> None:
            try:
                if duplicate:
                    raise InvalidInput(f"id {item_id!r} was already used in this stream; ids must be unique")
                self._runtime.check_size(item)
                results = await engine.translate(
                    [item.text], source=item.source_language, target=item.target_language, model=item.model,
                    options=_options(engine, item.options), presegmented=item.presegmented,
                )
                response = pb.TranslateStreamResponse(id=item_id, result=translation_to_pb(results[0], item.text))
                self._runtime.check_response(response, _ASK_LESS)
            except CrosswireError as exc:
                error = pb.StreamError(code=status_for(exc).value[0], message=str(exc))
                response = pb.TranslateStreamResponse(id=item_id, error=error)
            finally:
                slots.release()
            await responses.put(response)

        try:
            position = 0
            async for item in requests:
                await slots.acquire()
                counts["texts"] += 1
                counts["characters"] += len(item.text)
                item_id = item.id or str(position)
                task = asyncio.create_task(one(item, item_id, item_id in seen))
                seen.add(item_id)
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                position += 1
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            record.add(**counts)
            await responses.put(None)

    async def ListModels(self, request: pb.ListModelsRequest, context: grpc.aio.ServicerContext) -> pb.ListModelsResponse:
        async with handling(context, "ListModels", self._runtime):
            return pb.ListModelsResponse(models=[model_to_pb(m) for m in self._runtime.engine.models()])
