"""TranslationService: protobuf requests → TranslationEngine calls → protobuf responses."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass

import grpc

from crosswire.convert import model_to_pb, role_to_pb, translation_to_pb
from crosswire.types import DEFAULT_ROLES, Role
from crosswire.v1 import translation_pb2 as pb
from crosswire.v1 import translation_pb2_grpc as pb_grpc

from crosswire_server.batching import DecodeOptions
from crosswire_server.budget import Reservation
from crosswire_server.errors import CrosswireError, NotReady, Overloaded
from crosswire_server.logs import clip
from crosswire_server.rpc.common import RequestRecord, Runtime, handling, roles_from_request, status_for
from crosswire_server.rpc.malformed import Undecodable
from crosswire_server.rpc.shutdown import ENDED, SHUTTING_DOWN, STOPPED, next_unless
from crosswire_server.translation import TranslationEngine


_ASK_LESS = "send fewer or shorter texts, or ask for fewer hypotheses (options.num_hypotheses)"


def _options(engine: TranslationEngine, message: pb.TranslationOptions) -> DecodeOptions:
    return engine.decode_options(
        message.beam_size, message.num_hypotheses, message.return_scores, message.max_decoding_length
    )


def _with_settings(result: pb.TranslationResult, options: DecodeOptions,
                   roles: Collection[Role]) -> pb.TranslationResult:
    """The result with the options and roles it was made with, defaults filled in: a caller sees what ran."""
    result.options.CopyFrom(pb.TranslationOptions(
        beam_size=options.beam_size, num_hypotheses=options.num_hypotheses,
        return_scores=options.return_scores, max_decoding_length=options.max_decoding_length,
    ))
    result.roles.extend(sorted(role_to_pb(role) for role in roles))
    return result


@dataclass
class _Answer:
    """A stream item's answer, waiting to be sent, and its item's budget reservation, released once it is."""

    response: pb.TranslateStreamResponse
    reservation: Reservation | None = None

    def sent(self) -> None:
        if self.reservation is not None:
            self.reservation.release()  # releasing twice is harmless


def _repeated_id(item_id: str, sequence: int, first: int) -> pb.TranslateStreamResponse:
    """The answer to a stream message reusing an earlier one's id: ALREADY_EXISTS, told apart by its sequence."""
    message = f"id {item_id!r} was already used by message {first} of this stream; ids must be unique"
    error = pb.StreamError(code=grpc.StatusCode.ALREADY_EXISTS.value[0], message=message)
    return pb.TranslateStreamResponse(id=item_id, sequence=sequence, error=error)


def _undecodable(item: Undecodable, sequence: int) -> pb.TranslateStreamResponse:
    """The answer to a stream message whose bytes did not parse: INVALID_ARGUMENT, no id (it could not be read)."""
    error = pb.StreamError(code=grpc.StatusCode.INVALID_ARGUMENT.value[0], message=clip(item.describe()))
    return pb.TranslateStreamResponse(sequence=sequence, error=error)


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
            options = _options(engine, request.options)
            roles = roles_from_request(request.roles) or DEFAULT_ROLES
            results = await engine.translate(
                texts,
                source=request.source_language,
                target=request.target_language,
                model=request.model,
                options=options,
                presegmented=request.presegmented,
                roles=roles,
                translate_duplicates=request.translate_duplicates,
            )
            record.add(sentences=sum(len(r.segments) for r in results))
            response = pb.TranslateResponse(results=[_with_settings(translation_to_pb(r, t), options, roles)
                                                    for r, t in zip(results, texts)])
            return self._runtime.check_response(response, _ASK_LESS)

    async def TranslateStream(
        self, request_iterator: AsyncIterator[pb.TranslateStreamRequest], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.TranslateStreamResponse]:
        """Translate each message as it comes, at most max_stream_in_flight unanswered at once.

        Flow control: a message holds its slot, and its share of the memory budget, until
        its answer has been handed to the transport, so a client that stops reading stops
        the server reading its stream (and gRPC's flow control stops the client sending):
        the stream's memory stays bounded by max_stream_in_flight items, all charged. On
        shutdown the stream stops reading, delivers what it has in flight and ends with
        UNAVAILABLE.
        """
        async with handling(context, "TranslateStream", self._runtime) as record:
            engine = self._runtime.engine
            slots = asyncio.Semaphore(self._runtime.config.max_stream_in_flight)
            responses: asyncio.Queue[_Answer | None] = asyncio.Queue()
            reader = asyncio.create_task(self._read_stream(engine, request_iterator, responses, slots, record))
            try:
                while (answer := await responses.get()) is not None:
                    try:
                        yield answer.response
                    finally:
                        answer.sent()
                    slots.release()
                if await reader:
                    raise NotReady(SHUTTING_DOWN)
            finally:
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)
                while not responses.empty():  # answers never sent: their items' memory is free
                    if (answer := responses.get_nowait()) is not None:
                        answer.sent()

    def _item_error(self, exc: CrosswireError) -> pb.StreamError:
        """A failed stream item's error; an item refused for load or rate says when to send it again."""
        error = pb.StreamError(code=status_for(exc).value[0], message=clip(str(exc)))
        if isinstance(exc, Overloaded):
            delay = getattr(exc, "retry_after_s", None) or self._runtime.config.retry_after_s
            error.retry_delay.FromNanoseconds(int(delay * 1e9))
        return error

    async def _read_stream(self, engine: TranslationEngine, requests: AsyncIterator[pb.TranslateStreamRequest],
                           responses: asyncio.Queue, slots: asyncio.Semaphore, record: RequestRecord) -> bool:
        """Start a translation per incoming item, each once it has a slot; True if shutdown stopped the reading."""
        first_use: dict[str, int] = {}  # id -> sequence of the message that used it first
        tasks: set[asyncio.Task] = set()
        counts = {"texts": 0, "characters": 0}
        stopped = False

        async def one(item: pb.TranslateStreamRequest, item_id: str, sequence: int) -> None:
            reservation = None
            try:
                self._runtime.check_size(item)
                options = _options(engine, item.options)
                reservation = self._runtime.budget.reserve_for(item.ByteSize())
                with reservation.kept():  # charged until the answer is sent, not only while translating
                    results = await engine.translate(
                        [item.text], source=item.source_language, target=item.target_language, model=item.model,
                        options=options, presegmented=item.presegmented,
                    )
                result = _with_settings(translation_to_pb(results[0], item.text), options, DEFAULT_ROLES)
                response = pb.TranslateStreamResponse(id=item_id, sequence=sequence, result=result)
                self._runtime.check_response(response, _ASK_LESS)
            except CrosswireError as exc:
                response = pb.TranslateStreamResponse(id=item_id, sequence=sequence,
                                                      error=self._item_error(exc))
            except BaseException:
                if reservation is not None:
                    reservation.release()
                raise
            await responses.put(_Answer(response, reservation))

        try:
            position = 0
            items = aiter(requests)
            while True:
                await slots.acquire()  # released once this message's answer is sent
                item = await next_unless(items, self._runtime.stopping)
                if item is ENDED or item is STOPPED:
                    stopped = item is STOPPED
                    break
                if isinstance(item, Undecodable):  # this frame only: the stream goes on
                    await responses.put(_Answer(_undecodable(item, position)))
                    position += 1
                    continue
                counts["texts"] += 1
                counts["characters"] += len(item.text)
                item_id = item.id or str(position)
                if item_id in first_use:
                    await responses.put(_Answer(_repeated_id(item_id, position, first_use[item_id])))
                else:
                    first_use[item_id] = position
                    task = asyncio.create_task(one(item, item_id, position))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                position += 1
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            record.add(**counts)
            await responses.put(None)
        return stopped

    async def ListModels(self, request: pb.ListModelsRequest, context: grpc.aio.ServicerContext) -> pb.ListModelsResponse:
        async with handling(context, "ListModels", self._runtime):
            return pb.ListModelsResponse(models=[model_to_pb(m) for m in self._runtime.engine.models()])
