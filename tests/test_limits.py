"""Per-key and server-wide limits: RESOURCE_EXHAUSTED with RetryInfo and a QuotaFailure naming the limit.

No clocks in the assertions: calls are held open by streams the test controls,
and rates are so low (or the clock so fake) that no refill can happen meanwhile.
"""

from __future__ import annotations

import queue
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from crosswire.client import CrosswireError, stream_result
from crosswire.v1 import segmentation_pb2, segmentation_pb2_grpc, translation_pb2, translation_pb2_grpc
from crosswire_server.access import (
    Caller,
    CallerState,
    Limits,
    RateLimited,
    TokenBucket,
    add_key,
    charge_sentences,
    set_caller,
)
from support.server import ServerThread

SENTENCE = "Правительство объявило о новых мерах поддержки экономики."


def bearer(token: str) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {token}"),)


def refused(call) -> CrosswireError:
    with pytest.raises(grpc.RpcError) as info:
        call()
    return CrosswireError.from_rpc(info.value)


class OpenStream:
    """A TranslateStream held open: items go in when the test says, the stream ends on close()."""

    def __init__(self, channel: grpc.Channel, metadata=None) -> None:
        self._items: queue.Queue = queue.Queue()
        stub = translation_pb2_grpc.TranslationServiceStub(channel)
        self._responses = stub.TranslateStream(iter(self._items.get, None), timeout=60, metadata=metadata)

    def translate(self, text: str) -> translation_pb2.TranslateStreamResponse:
        """Send one item and wait for its answer: after this the call is certainly admitted and open."""
        self._items.put(translation_pb2.TranslateStreamRequest(text=text, source_language="ru"))
        return next(self._responses)

    def close(self) -> None:
        self._items.put(None)
        assert list(self._responses) == []


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    path = tmp_path_factory.mktemp("keys") / "keys.toml"
    tokens = {
        "single": add_key(path, "single", ["*"], Limits(max_concurrent_calls=1)),
        "slow": add_key(path, "slow", ["*"], Limits(sentences_per_second=0.001, burst=1)),
        "free": add_key(path, "free", ["*"]),
        "slow_stream": add_key(path, "slow_stream", ["*"], Limits(sentences_per_second=0.001, burst=1)),
    }
    return path, tokens


@pytest.fixture(scope="module")
def server(tiny_models_dir: Path, keys) -> Iterator[ServerThread]:
    with ServerThread(tiny_models_dir, api_keys=str(keys[0]), max_open_streams=2) as handle:
        yield handle


@pytest.fixture
def channel(server: ServerThread) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(server.address) as channel:
        yield channel


def segment(channel: grpc.Channel, token: str) -> segmentation_pb2.SegmentResponse:
    stub = segmentation_pb2_grpc.SegmentationServiceStub(channel)
    return stub.Segment(segmentation_pb2.SegmentRequest(text=SENTENCE, language="ru"), timeout=30,
                        metadata=bearer(token))


def test_a_key_over_its_concurrent_calls_gets_resource_exhausted_with_retry_info(channel, keys) -> None:
    token = keys[1]["single"]
    stream = OpenStream(channel, bearer(token))
    assert stream.translate(SENTENCE).HasField("result")
    error = refused(lambda: segment(channel, token))
    assert error.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error.limit == "max_concurrent_calls" and error.retry_after is not None and error.retry_after > 0
    assert "key 'single' has 1 calls in progress, its limit of max_concurrent_calls=1" in error.details
    assert len(segment(channel, keys[1]["free"]).sentences) == 1  # other keys are not held up
    stream.close()
    assert len(segment(channel, token).sentences) == 1  # the finished stream's slot is free again


def test_a_key_over_its_sentence_rate_gets_resource_exhausted_with_retry_info(channel, keys) -> None:
    token = keys[1]["slow"]
    stub = translation_pb2_grpc.TranslationServiceStub(channel)
    two = translation_pb2.TranslateRequest(texts=[SENTENCE, SENTENCE + " Суд вынес приговор."], source_language="ru")
    assert len(stub.Translate(two, timeout=60, metadata=bearer(token)).results) == 2  # the full bucket lets it in
    error = refused(lambda: stub.Translate(two, timeout=60, metadata=bearer(token)))
    assert error.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error.limit == "sentences_per_second"
    assert error.retry_after is not None and error.retry_after > 1000  # 3 sentences of debt at 0.001 per second
    assert "key 'slow' is over its limit of sentences_per_second=0.001" in error.details
    assert len(segment(channel, token).sentences) == 1  # segmentation translates nothing, so costs nothing


def test_a_stream_item_over_the_rate_says_when_to_send_it_again(channel, keys) -> None:
    stream = OpenStream(channel, bearer(keys[1]["slow_stream"]))
    assert stream.translate(SENTENCE).HasField("result")  # the full bucket lets a sentence in,
    assert stream.translate(SENTENCE).HasField("result")  # and one more while it is not quite empty
    refused_item = stream.translate(SENTENCE)
    assert refused_item.error.code == grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]
    assert "sentences_per_second=0.001" in refused_item.error.message
    assert refused_item.error.retry_delay.ToSeconds() > 100  # about a sentence of debt at 0.001 per second
    assert stream_result(refused_item).code == "RESOURCE_EXHAUSTED"
    assert stream_result(refused_item).retry_after_s == refused_item.error.retry_delay.ToNanoseconds() / 1e9
    assert stream.translate(SENTENCE).error.HasField("retry_delay")  # the stream goes on
    stream.close()


def test_the_server_caps_open_streams(channel, keys) -> None:
    token = keys[1]["free"]
    streams = [OpenStream(channel, bearer(token)) for _ in range(2)]
    for stream in streams:
        assert stream.translate(SENTENCE).HasField("result")
    third = OpenStream(channel, bearer(token))
    error = refused(lambda: third.translate(SENTENCE))
    assert error.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error.limit == "max_open_streams" and error.retry_after is not None
    assert "the server has 2 streams open, its limit of max_open_streams=2" in error.details
    assert len(segment(channel, token).sentences) == 1  # unary calls are not streams
    for stream in streams:
        stream.close()
    again = OpenStream(channel, bearer(token))
    assert again.translate(SENTENCE).HasField("result")
    again.close()


def test_the_server_caps_calls_in_progress_but_never_health_checks(tmp_path: Path) -> None:
    with ServerThread(tmp_path, wait_ready=False, max_concurrent_rpcs=1, max_open_streams=1) as server, \
            grpc.insecure_channel(server.address) as channel:
        asks: queue.Queue = queue.Queue()
        reflection = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(iter(asks.get, None),
                                                                                            timeout=60)
        asks.put(reflection_pb2.ServerReflectionRequest(list_services=""))
        assert next(reflection).list_services_response.service  # one call in progress, held open
        stub = segmentation_pb2_grpc.SegmentationServiceStub(channel)
        error = refused(lambda: stub.Segment(segmentation_pb2.SegmentRequest(text=SENTENCE), timeout=30))
        assert error.code == grpc.StatusCode.RESOURCE_EXHAUSTED and error.limit == "max_concurrent_rpcs"
        assert "the server has 1 calls open, its limit of max_concurrent_rpcs=1" in error.details
        health = health_pb2_grpc.HealthStub(channel)
        assert health.Check(health_pb2.HealthCheckRequest(), timeout=30) is not None  # never refused for load
        request = health_pb2.HealthCheckRequest(service="crosswire.v1.SegmentationService")
        watch = health.Watch(request, timeout=60)  # watches have slots of their own
        assert next(watch).status == health_pb2.HealthCheckResponse.SERVING
        second = health.Watch(request, timeout=60)
        error = refused(lambda: next(second))
        assert error.code == grpc.StatusCode.RESOURCE_EXHAUSTED and error.limit == "max_open_streams"
        watch.cancel()
        asks.put(None)
        assert list(reflection) == []
        assert len(stub.Segment(segmentation_pb2.SegmentRequest(text=SENTENCE), timeout=30).sentences) == 1


def test_a_bucket_lets_a_call_in_while_not_empty_and_then_charges_it_in_full() -> None:
    now = [0.0]
    bucket = TokenBucket(rate=2.0, size=4.0, clock=lambda: now[0])
    assert bucket.take(10) == 0.0  # level 4 -> -6: one big call after an idle spell
    assert bucket.take(1) == pytest.approx(3.0)  # 6 of debt at 2 per second
    now[0] = 2.5
    assert bucket.take(1) == pytest.approx(0.5)
    now[0] = 3.5
    assert bucket.take(1) == 0.0  # level 1 -> 0
    now[0] = 100.0
    assert bucket.take(0) == 0.0 and bucket.take(4) == 0.0  # refilled to the size, never above it
    assert bucket.take(1) == pytest.approx(0.001)


def test_sentences_are_charged_to_the_caller_in_context_only() -> None:
    now = [0.0]
    state = CallerState(Limits(sentences_per_second=1, burst=2), clock=lambda: now[0])
    charge_sentences(1000)  # outside a call: nothing to charge
    set_caller(Caller("newsroom", state=state, via="key"))
    try:
        charge_sentences(3)
        with pytest.raises(RateLimited) as info:
            charge_sentences(1)
        assert info.value.limit == "sentences_per_second" and info.value.retry_after_s == pytest.approx(1.0)
    finally:
        set_caller(None)


def test_a_connection_over_max_connections_is_closed_and_room_comes_back(tiny_models_dir: Path) -> None:
    def own_connection() -> grpc.Channel:  # channels in one process share a connection unless told not to
        return grpc.insecure_channel(server.address, options=[("grpc.use_local_subchannel_pool", 1)])

    def check(channel: grpc.Channel, wait_for_ready: bool = False) -> int:
        request = health_pb2.HealthCheckRequest()
        return health_pb2_grpc.HealthStub(channel).Check(request, timeout=30, wait_for_ready=wait_for_ready).status

    with ServerThread(tiny_models_dir, max_connections=2) as server:
        first, second, third = own_connection(), own_connection(), own_connection()
        assert check(first) == check(second) == health_pb2.HealthCheckResponse.SERVING
        with pytest.raises(grpc.RpcError) as info:
            check(third)
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE
        third.close()  # else it keeps trying to connect, and may take the room made next
        first.close()  # the server learns of it a moment later: the new connection retries until it gets in
        fourth = own_connection()
        assert check(fourth, wait_for_ready=True) == health_pb2.HealthCheckResponse.SERVING
        for channel in (second, fourth):
            channel.close()
