"""Thousands of random and mutated messages over every RPC: never UNKNOWN or INTERNAL, and the server stays SERVING.

benchmarks/fuzz.py runs the same generator 100,000 times against a `crosswire serve` process.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from support.fuzzing import Fuzzer, Tally, methods, run_one
from support.server import ServerThread

ROUNDS_PER_METHOD = 200
# Small limits keep each call cheap (the tiny model decodes at most a few tokens), so thousands run in seconds.
LIMITS = dict(max_texts=8, max_chars=3000, max_message_bytes=64 * 1024, max_decoding_length=4,
              max_align_targets=4, max_align_sentences=40, max_align_target_sentences=100,
              max_queued_sentences=200, max_stream_in_flight=4, batch_window_ms=1)


@pytest.fixture(scope="module")
def server(tiny_models_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    library = tmp_path_factory.mktemp("fuzz-library") / "library.sqlite3"
    with ServerThread(tiny_models_dir, library=str(library), **LIMITS) as handle:
        yield handle


def test_methods_are_read_from_the_service_descriptors() -> None:
    paths = {method.path for method in methods()}
    assert {"/crosswire.v1.TranslationService/Translate", "/crosswire.v1.TranslationService/TranslateStream",
            "/crosswire.v1.SegmentationService/Segment", "/crosswire.v1.AlignmentService/Compare",
            "/grpc.health.v1.Health/Check"} <= paths


def test_fuzzed_requests_never_get_unknown_or_internal(server: ServerThread) -> None:
    tally = Tally()
    targets = methods()
    with grpc.insecure_channel(server.address) as channel:
        def batch(index: int) -> None:
            fuzzer = Fuzzer(seed=index, big_repeated=300)
            for _ in range(ROUNDS_PER_METHOD // 10):
                for method in targets:
                    run_one(channel, method, fuzzer, tally, timeout=60)

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(batch, range(10)))
        health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
    assert sum(tally.calls.values()) == ROUNDS_PER_METHOD * len(targets)
    assert tally.forbidden() == {}, "\n".join(f"{k}: {v}" for k, v in tally.forbidden().items())
    codes = tally.by_code()
    assert codes["INVALID_ARGUMENT"] > 0 and codes["OK"] > 0  # both decodable and undecodable requests were sent
    assert health.status == health_pb2.HealthCheckResponse.SERVING
