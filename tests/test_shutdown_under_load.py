"""Shutdown and progress under load: more concurrent library Searches than worker threads all get answered,
and a busy `crosswire serve` exits within its grace period after SIGTERM.

A Search translates its report on the engine while it holds a worker thread; the
translation itself needs a worker thread to segment and tokenise. With the
library's calls on the same pool as that preparation, as many Searches as the
pool has threads took them all and waited forever: every later Segment, Align and
library call hung too, and SIGTERM never ended the process.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from crosswire import Client
from crosswire.types import Article
from crosswire.v1 import library_pb2, library_pb2_grpc, segmentation_pb2, segmentation_pb2_grpc
from crosswire.v1 import translation_pb2, translation_pb2_grpc
from support.gate import WAIT_S, gate
from support.server import ServerThread

REPORT = ("Генсек НАТО Йенс Столтенберг призвал Россию прекратить бои в Сирии. "
          "Госсекретарь США Джон Керри проинформировал союзников о ходе переговоров.")
ARTICLES = [
    Article("nato.txt", "NATO Secretary General Jens Stoltenberg called on Russia to stop the fighting in Syria. "
            "US Secretary of State John Kerry briefed the allies on the talks.", outlet="Reuters"),
    Article("talks.txt", "Russia and the United States resumed talks on Syria. NATO allies were briefed on Monday.",
            outlet="BBC"),
]
#: More Searches at once than asyncio's default pool has threads (min(32, cores + 4)).
SEARCHES = min(32, (os.cpu_count() or 1) + 4) + 4
GRACE_S = 5.0
#: What the test allows exit beyond the grace period (the server allows itself exiting.EXIT_MARGIN_S; generous here).
EXIT_ALLOWANCE_S = 25.0


def search_request() -> library_pb2.SearchRequest:
    return library_pb2.SearchRequest(report=REPORT, language="ru")


def test_more_concurrent_searches_than_worker_threads_are_all_answered(tiny_models_dir: Path, tmp_path: Path) -> None:
    with ServerThread(tiny_models_dir, max_decoding_length=8, library=str(tmp_path / "library.sqlite3")) as handle:
        with Client(handle.address, timeout=WAIT_S) as client:
            client.add_articles(ARTICLES)
            assert client.search(REPORT, "ru")  # the report finds the articles: each Search translates it
        translator = gate(handle.server.runtime.engine)
        with grpc.insecure_channel(handle.address) as channel:
            search = library_pb2_grpc.LibraryServiceStub(channel).Search
            with translator.closed():  # no Search can finish before all of them have arrived
                calls = [search.future(search_request(), timeout=WAIT_S) for _ in range(2 * SEARCHES)]
                time.sleep(1)  # time to arrive (a shorter wait only makes this test easier to pass)
            answers = [call.result() for call in calls]
            assert all(answer.hits for answer in answers)
            # The worker threads are free again: a Segment (which needs one) is answered too.
            segment = segmentation_pb2_grpc.SegmentationServiceStub(channel).Segment
            assert segment(segmentation_pb2.SegmentRequest(text=REPORT, language="ru"), timeout=WAIT_S).sentences


def test_sigterm_while_busy_exits_within_the_grace_period(tiny_models_dir: Path, tmp_path: Path) -> None:
    port = free_port()
    command = [sys.executable, "-m", "crosswire", "serve", "--host", "127.0.0.1", "--port", str(port),
               "--models-dir", str(tiny_models_dir), "--library", str(tmp_path / "library.sqlite3"),
               "--grace-period-s", str(GRACE_S), "--max-decoding-length", "8", "--log-format", "text"]
    log = tmp_path / "serve.log"
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log.open("w"))
    address = f"127.0.0.1:{port}"
    channel = grpc.insecure_channel(address)
    pool = ThreadPoolExecutor(SEARCHES + 8)
    try:
        wait_serving(channel, "crosswire.v1.AlignmentService")  # the encoder loaded: the library can embed
        wait_serving(channel, "")
        with Client(address, timeout=WAIT_S) as client:
            client.add_articles(ARTICLES)
        library = library_pb2_grpc.LibraryServiceStub(channel)
        segment = segmentation_pb2_grpc.SegmentationServiceStub(channel).Segment
        translate = translation_pb2_grpc.TranslationServiceStub(channel).Translate
        work = [pool.submit(outcome, library.Search, search_request()) for _ in range(SEARCHES)]
        work += [pool.submit(outcome, segment, segmentation_pb2.SegmentRequest(text=REPORT * 200, language="ru"))
                 for _ in range(4)]
        work += [pool.submit(outcome, translate, translation_pb2.TranslateRequest(texts=[REPORT] * 50,
                                                                                   source_language="ru"))
                 for _ in range(4)]
        # Time for the calls to reach their handlers (a shorter wait only makes this test easier to pass).
        time.sleep(3)
        server.send_signal(signal.SIGTERM)
        try:
            code = server.wait(timeout=GRACE_S + EXIT_ALLOWANCE_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the server still ran {GRACE_S + EXIT_ALLOWANCE_S:.0f} s after SIGTERM "
                        f"(grace period {GRACE_S:g} s)")
        assert code == 0, f"exit status {code}"
        # Every call ended, answered or told the server is going away (never left hanging).
        codes = {future.result(timeout=WAIT_S) for future in work}
        assert codes <= {"OK", "UNAVAILABLE", "CANCELLED", "RESOURCE_EXHAUSTED"}, codes
    finally:
        channel.close()
        if server.poll() is None:
            server.kill()
        server.wait()
        pool.shutdown(wait=False, cancel_futures=True)
    assert "stopped" in log.read_text()


def outcome(method, request) -> str:  # noqa: ANN001 - a gRPC multicallable and its message
    """The status code name one call ends with."""
    try:
        method(request, timeout=WAIT_S)
        return "OK"
    except grpc.RpcError as error:
        return error.code().name


def wait_serving(channel: grpc.Channel, service: str) -> None:
    watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=service),
                                                      timeout=WAIT_S, wait_for_ready=True)
    for answer in watch:
        if answer.status == health_pb2.HealthCheckResponse.SERVING:
            watch.cancel()
            return


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_worker_thread_that_never_ends_does_not_keep_the_process_past_the_exit_bound() -> None:
    program = ("import threading, time\n"
               "from crosswire_server.exiting import exit_within\n"
               "threading.Thread(target=time.sleep, args=(3600,), name='stuck').start()\n"
               "exit_within(0.5)\n")
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=WAIT_S)
    assert done.returncode == 0
    assert "exiting without waiting for worker threads" in done.stderr
