"""Shutdown: idle streams (a Health Watch, a TranslateStream with nothing in flight) end at once with
UNAVAILABLE, while a unary call in flight still completes within the grace period."""

from __future__ import annotations

import asyncio
import queue
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from crosswire.v1 import translation_pb2, translation_pb2_grpc
from support.gate import WAIT_S, gate
from support.server import ServerThread

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class OpenStream:
    """A TranslateStream whose client sends when told and otherwise stays silent (never half-closes)."""

    def __init__(self, channel: grpc.Channel) -> None:
        self._outbox: queue.Queue = queue.Queue()
        stub = translation_pb2_grpc.TranslationServiceStub(channel)
        self.responses = stub.TranslateStream(self._requests(), timeout=WAIT_S)

    def _requests(self) -> Iterator[translation_pb2.TranslateStreamRequest]:
        while (item := self._outbox.get()) is not None:
            yield item

    def send(self, text: str) -> None:
        self._outbox.put(translation_pb2.TranslateStreamRequest(text=text, source_language="ru"))

    def close(self) -> None:
        self._outbox.put(None)


def ending_code(responses: Iterator) -> grpc.StatusCode:
    """Read a call's remaining responses; the status code it ends with."""
    try:
        for _ in responses:
            pass
    except grpc.RpcError as error:
        return error.code()
    return grpc.StatusCode.OK


def test_idle_streams_end_at_once_while_a_unary_call_finishes(tiny_models_dir: Path) -> None:
    handle = ServerThread(tiny_models_dir, inter_threads=1, cache_size=0, max_decoding_length=8)
    translator = gate(handle.server.runtime.engine)
    channel = grpc.insecure_channel(handle.address)
    stream = OpenStream(channel)
    try:
        watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(), timeout=WAIT_S)
        assert next(watch).status == SERVING
        stream.send("Суд вынес приговор.")
        assert next(stream.responses).WhichOneof("outcome") == "result"  # now idle: nothing in flight
        with translator.closed():
            unary = translation_pb2_grpc.TranslationServiceStub(channel).Translate.future(
                translation_pb2.TranslateRequest(texts=["Переговоры продолжатся."], source_language="ru"),
                timeout=WAIT_S)
            translator.wait_for_batches(1)  # the unary call is in flight, held at the gate
            stopping = asyncio.run_coroutine_threadsafe(handle.server.stop(grace=60), handle.loop)
            assert next(watch).status == NOT_SERVING
            assert ending_code(watch) == grpc.StatusCode.UNAVAILABLE
            assert ending_code(stream.responses) == grpc.StatusCode.UNAVAILABLE
            assert not unary.done() and not stopping.done()  # the idle streams did not wait for it
        assert len(unary.result(WAIT_S).results) == 1  # ... and it completed once released
        stopping.result(WAIT_S)
    finally:
        stream.close()
        channel.close()
        handle.loop.call_soon_threadsafe(handle.loop.stop)


def test_a_stream_with_work_in_flight_delivers_it_before_ending(tiny_models_dir: Path) -> None:
    handle = ServerThread(tiny_models_dir, inter_threads=1, cache_size=0, max_decoding_length=8)
    translator = gate(handle.server.runtime.engine)
    channel = grpc.insecure_channel(handle.address)
    stream = OpenStream(channel)
    try:
        with translator.closed():
            stream.send("Переговоры продолжатся.")
            translator.wait_for_batches(1)
            stopping = asyncio.run_coroutine_threadsafe(handle.server.stop(grace=60), handle.loop)
        first = next(stream.responses)
        assert first.WhichOneof("outcome") == "result" and first.sequence == 0
        assert ending_code(stream.responses) == grpc.StatusCode.UNAVAILABLE
        stopping.result(WAIT_S)
    finally:
        stream.close()
        channel.close()
        handle.loop.call_soon_threadsafe(handle.loop.stop)


def test_sigterm_with_an_open_watch_and_an_idle_stream_exits_long_before_the_grace_period(
        tiny_models_dir: Path, unused_port: int) -> None:
    command = [sys.executable, "-m", "crosswire", "serve", "--host", "127.0.0.1", "--port", str(unused_port),
               "--models-dir", str(tiny_models_dir), "--grace-period-s", "60", "--max-decoding-length", "8"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    channel = grpc.insecure_channel(f"127.0.0.1:{unused_port}")
    stream = None
    try:
        health = health_pb2_grpc.HealthStub(channel)
        watch = health.Watch(health_pb2.HealthCheckRequest(), timeout=120, wait_for_ready=True)
        while next(watch).status != SERVING:  # NOT_SERVING while the model loads
            pass
        # The sentence encoder loads in a worker thread that exit waits for: let it finish first.
        alignment = health_pb2_grpc.HealthStub(channel).Watch(
            health_pb2.HealthCheckRequest(service="crosswire.v1.AlignmentService"), timeout=120)
        while next(alignment).status != SERVING:
            pass
        stream = OpenStream(channel)
        stream.send("Суд вынес приговор.")
        assert next(stream.responses).WhichOneof("outcome") == "result"
        server.send_signal(signal.SIGTERM)
        # Well within the 60 s grace period: nothing was in flight, so nothing is waited for.
        assert server.wait(timeout=30) == 0
        assert ending_code(stream.responses) == grpc.StatusCode.UNAVAILABLE
        assert ending_code(watch) in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED)
    finally:
        if stream is not None:
            stream.close()
        channel.close()
        if server.poll() is None:
            server.kill()
        server.wait()
    log = server.stderr.read()
    assert '"grace_period_s": 60.0' in log and '"message": "stopped"' in log


@pytest.fixture
def unused_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
