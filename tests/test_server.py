"""Every RPC and error path of the gRPC server, on the tiny model, with status codes asserted."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import ctranslate2
import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from crosswire import Client, CrosswireError
from crosswire.types import Role
from crosswire.v1 import translation_pb2, translation_pb2_grpc
from crosswire_server.app import ServeError
from support.server import ServerThread

SENTENCE = "Правительство объявило о новых мерах поддержки экономики."
LIMITS = dict(max_texts=4, max_chars=2000, max_message_bytes=4000, max_decoding_length=16, max_queued_sentences=20)


@pytest.fixture(scope="module")
def server(tiny_models_dir: Path):
    with ServerThread(tiny_models_dir, **LIMITS) as handle:
        yield handle


@pytest.fixture
def client(server: ServerThread):
    with Client(server.address, timeout=30) as c:
        yield c


def code_of(call) -> grpc.StatusCode:
    with pytest.raises(CrosswireError) as info:
        call()
    return info.value.code, info.value.details


def test_translate_returns_one_result_per_text_in_order(client: Client) -> None:
    texts = [SENTENCE, "", f"{SENTENCE}\n\nСуд вынес приговор."]
    results = client.translate(texts, source="ru", return_scores=True)
    assert [len(r.segments) for r in results] == [1, 0, 2]
    assert results[2].text.count("\n\n") == 1
    assert results[0].model == "tiny-ru-en"
    assert all(s.score is not None and s.role is Role.BODY for r in results for s in r.segments)


def test_translate_alternatives(client: Client) -> None:
    (result,) = client.translate([SENTENCE], source="ru", beam_size=3, num_hypotheses=3)
    assert len(result.segments[0].alternatives) == 2


def test_list_models(client: Client) -> None:
    (model,) = client.models()
    assert model.name == "tiny-ru-en"
    assert [str(p) for p in model.pairs] == ["ru->en"]
    assert model.quantization == "int8" and model.compute_type == "int8" and model.device == "cpu"
    assert model.license and model.source and model.is_default


def test_health_and_reflection(server: ServerThread, client: Client) -> None:
    assert client.health() == "SERVING"
    assert client.health("crosswire.v1.TranslationService") == "SERVING"
    with grpc.insecure_channel(server.address) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        (answer,) = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
        names = {s.name for s in answer.list_services_response.service}
    assert {"crosswire.v1.TranslationService", "grpc.health.v1.Health",
            "grpc.reflection.v1alpha.ServerReflection"} <= names


def test_stream_answers_every_id_and_reports_errors_per_item(client: Client) -> None:
    items = [(f"id-{i}", SENTENCE) for i in range(6)] + [("id-0", SENTENCE), ("bad", "Bonjour.")]
    results = list(client.translate_stream(items, source="ru"))
    by_id: dict[str, list] = {}
    for result in results:
        by_id.setdefault(result.id, []).append(result)
    assert sorted(by_id) == ["bad"] + [f"id-{i}" for i in range(6)]
    assert sum(r.translation is not None for r in results) == 6
    duplicate = [r for r in by_id["id-0"] if r.error]
    assert duplicate and duplicate[0].code == "ALREADY_EXISTS" and "unique" in duplicate[0].error
    assert sorted(r.sequence for r in results) == list(range(len(items)))
    assert duplicate[0].sequence == 6  # the repeat, not the first "id-0" (sequence 0)
    # "bad" is Latin text declared Russian: an item error, as is a wrong pair; the stream goes on.
    (bad,) = by_id["bad"]
    assert bad.code == "INVALID_ARGUMENT" and "declared language is 'ru'" in bad.error
    errors = list(client.translate_stream([("x", "Bonjour.")], source="fr"))
    assert errors[0].code == "INVALID_ARGUMENT" and "fr->en" in errors[0].error


def test_stream_results_come_before_the_stream_ends(server: ServerThread) -> None:
    """The first answer arrives while the client is still holding the request stream open."""
    answered = threading.Event()
    closed_unanswered = threading.Event()

    def requests():
        yield translation_pb2.TranslateStreamRequest(id="early", text=SENTENCE, source_language="ru")
        if not answered.wait(30):
            closed_unanswered.set()  # the server waited for the end of the stream before answering

    with grpc.insecure_channel(server.address) as channel:
        stub = translation_pb2_grpc.TranslationServiceStub(channel)
        call = stub.TranslateStream(requests(), timeout=60)
        first = next(call)
        answered_while_open = not closed_unanswered.is_set()
        answered.set()
        assert answered_while_open, "the first answer came only after the request stream had closed"
        assert first.id == "early" and first.result.text
        assert list(call) == []


@pytest.mark.parametrize(
    "texts, limit",
    [(["a"] * 5, "max_texts=4"), (["a" * 1500, "a" * 600], "max_chars=2000"), (["ы" * 1999], "max_message_bytes=4000")],
)
def test_limits_are_invalid_argument_naming_the_limit(client: Client, texts, limit) -> None:
    code, details = code_of(lambda: client.translate(texts, source="ru"))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and limit in details


def test_bad_options_and_pairs(client: Client) -> None:
    code, details = code_of(lambda: client.translate([SENTENCE], source="ru", beam_size=50))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "max_beam_size" in details
    code, details = code_of(lambda: client.translate(["Hallo."], source="de"))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "available pairs: ru->en" in details
    code, details = code_of(lambda: client.translate([SENTENCE], model="missing"))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "tiny-ru-en" in details
    code, details = code_of(lambda: client.translate([SENTENCE], source="ru", target="de"))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "ru->de" in details


def test_unspecified_role_is_rejected(server: ServerThread) -> None:
    with grpc.insecure_channel(server.address) as channel:
        stub = translation_pb2_grpc.TranslationServiceStub(channel)
        with pytest.raises(grpc.RpcError) as info:
            stub.Translate(translation_pb2.TranslateRequest(texts=[SENTENCE], roles=[0]), timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "roles[0]" in info.value.details()


def test_more_sentences_than_the_queue_holds_is_invalid_argument(client: Client) -> None:
    # Not RESOURCE_EXHAUSTED "retry later": on an idle server too, it could never be queued.
    # A genuinely full queue is RESOURCE_EXHAUSTED (test_error_details.py, test_translation_engine.py).
    report = "\n".join(f"В отчете {i} сказано, что цены выросли на {3 * i} процента." for i in range(30))
    code, details = code_of(lambda: client.translate([report], source="ru"))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "max_queued_sentences=20" in details


def test_deadline_and_cancellation_stop_the_work(tiny_models_dir: Path) -> None:
    slow = dict(LIMITS, max_decoding_length=256, max_chars=100000, max_message_bytes=1 << 20, batch_window_ms=200)
    with ServerThread(tiny_models_dir, **slow) as handle, Client(handle.address) as client:
        code, _ = code_of(lambda: client.translate([SENTENCE], source="ru", timeout=0.05))
        assert code == grpc.StatusCode.DEADLINE_EXCEEDED
        with grpc.insecure_channel(handle.address) as channel:
            stub = translation_pb2_grpc.TranslationServiceStub(channel)
            future = stub.Translate.future(translation_pb2.TranslateRequest(texts=[SENTENCE], source_language="ru"))
            time.sleep(0.05)
            future.cancel()
            assert future.cancelled()
        time.sleep(0.5)
        scheduler = handle.server.runtime.engine.scheduler(handle.server.runtime.engine.pick_model("ru", "en"))
        assert scheduler.sentences == 0, "expired and cancelled sentences must not be decoded"
        assert client.translate([SENTENCE], source="ru")[0].text


def test_not_serving_and_unavailable_without_models(tmp_path: Path) -> None:
    with ServerThread(tmp_path / "empty") as handle, Client(handle.address, retries=0) as client:
        assert client.health() == "NOT_SERVING"
        assert client.health("crosswire.v1.TranslationService") == "NOT_SERVING"
        assert client.health("crosswire.v1.SegmentationService") == "SERVING"
        assert client.health("crosswire.v1.AlignmentService") == "SERVING"
        code, details = code_of(lambda: client.translate([SENTENCE]))
        assert code == grpc.StatusCode.UNAVAILABLE and "crosswire models" in details


def test_graceful_stop_finishes_in_flight_requests(tiny_models_dir: Path) -> None:
    handle = ServerThread(tiny_models_dir, **dict(LIMITS, batch_window_ms=300))
    client = Client(handle.address)
    results: list = []
    worker = threading.Thread(target=lambda: results.append(client.translate([SENTENCE], source="ru")))
    worker.start()
    time.sleep(0.1)
    handle.stop(grace=5)
    worker.join(10)
    assert results and results[0][0].text
    with health_channel(handle.address) as stub, pytest.raises(grpc.RpcError):
        stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
    client.close()


class health_channel:
    def __init__(self, address: str) -> None:
        self.channel = grpc.insecure_channel(address)

    def __enter__(self):
        return health_pb2_grpc.HealthStub(self.channel)

    def __exit__(self, *exc: object) -> None:
        self.channel.close()


def test_a_taken_port_is_refused(server: ServerThread, tiny_models_dir: Path) -> None:
    with pytest.raises(ServeError, match=f"127.0.0.1:{server.port}: the port is in use"):
        ServerThread(tiny_models_dir, wait_ready=False, port=server.port)


def serve_command(*args: str) -> subprocess.CompletedProcess:
    """Run `crosswire serve ARGS` to its end; a server that keeps listening fails the test by timing out."""
    return subprocess.run([sys.executable, "-m", "crosswire", "serve", "--host", "127.0.0.1", *args],
                          capture_output=True, text=True, timeout=120)


def assert_one_line_failure(done: subprocess.CompletedProcess, *expected: str) -> None:
    last = done.stderr.strip().splitlines()[-1]
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert last.startswith("crosswire: error: ") and all(part in last for part in expected), done.stderr


def test_serve_exits_when_its_models_do_not_load(tiny_models_dir: Path) -> None:
    done = serve_command("--port", "0", "--models-dir", str(tiny_models_dir), "--compute-type", "no_such_type")
    assert_one_line_failure(done, "loading the models", str(tiny_models_dir), "no_such_type")


@pytest.mark.skipif(ctranslate2.get_cuda_device_count() > 0, reason="a CUDA device is visible here")
def test_serve_on_cuda_without_a_gpu_exits(tiny_models_dir: Path) -> None:
    done = serve_command("--port", "0", "--models-dir", str(tiny_models_dir), "--device", "cuda")
    assert_one_line_failure(done, "loading the models", "device=cuda")


def test_serve_on_a_taken_port_says_so_in_one_line(tiny_models_dir: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as holder:
        port = holder.getsockname()[1]
        done = serve_command("--port", str(port), "--models-dir", str(tiny_models_dir))
    assert_one_line_failure(done, f"127.0.0.1:{port}", "in use")
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
