"""The Python clients: typed results, async use, retry on UNAVAILABLE only, TLS."""

from __future__ import annotations

import asyncio
from concurrent import futures
from pathlib import Path

import grpc
import pytest

from crosswire import AsyncClient, Client, CrosswireError
from crosswire.types import ModelInfo, Translation
from crosswire.v1 import translation_pb2, translation_pb2_grpc
from support.certificates import needs_openssl, self_signed
from support.server import ServerThread

SENTENCE = "Правительство объявило о новых мерах поддержки экономики."


class FlakyService(translation_pb2_grpc.TranslationServiceServicer):
    """Fails ListModels with UNAVAILABLE `failures` times, and Translate always with INVALID_ARGUMENT."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = {"ListModels": 0, "Translate": 0}

    def ListModels(self, request, context):
        self.calls["ListModels"] += 1
        if self.calls["ListModels"] <= self.failures:
            context.abort(grpc.StatusCode.UNAVAILABLE, "warming up")
        return translation_pb2.ListModelsResponse(models=[translation_pb2.ModelInfo(name="m")])

    def Translate(self, request, context):
        self.calls["Translate"] += 1
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, "no")


@pytest.fixture
def flaky():
    service = FlakyService(failures=2)
    server = grpc.server(futures.ThreadPoolExecutor(2))
    translation_pb2_grpc.add_TranslationServiceServicer_to_server(service, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield service, f"127.0.0.1:{port}"
    server.stop(0)


def test_retries_unavailable_with_backoff(flaky) -> None:
    service, address = flaky
    with Client(address, retries=4) as client:
        assert [m.name for m in client.models()] == ["m"]
    assert service.calls["ListModels"] == 3


def test_does_not_retry_other_errors(flaky) -> None:
    service, address = flaky
    with Client(address, retries=4) as client, pytest.raises(CrosswireError) as info:
        client.translate(["x"])
    assert info.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert service.calls["Translate"] == 1


def test_gives_up_after_the_retry_budget(flaky) -> None:
    service, address = flaky
    with Client(address, retries=1) as client, pytest.raises(CrosswireError) as info:
        client.models()
    assert info.value.code == grpc.StatusCode.UNAVAILABLE
    assert service.calls["ListModels"] == 2


def test_unreachable_server_is_unavailable() -> None:
    with Client("127.0.0.1:1", timeout=5, retries=1) as client, pytest.raises(CrosswireError) as info:
        client.health()
    assert info.value.code == grpc.StatusCode.UNAVAILABLE


def test_single_string_is_refused_with_a_hint() -> None:
    with Client("127.0.0.1:1") as client, pytest.raises(TypeError, match="list"):
        client.translate(SENTENCE)


def test_async_client(tiny_models_dir: Path) -> None:
    async def body(address: str):
        async with AsyncClient(address) as client:
            health = await client.health()
            models = await client.models()
            (translation,) = await client.translate([SENTENCE], source="ru")

            async def items():
                for i in range(3):
                    yield (f"a{i}", SENTENCE)

            streamed = [r async for r in client.translate_stream(items(), source="ru")]
            return health, models, translation, streamed

    with ServerThread(tiny_models_dir, max_decoding_length=16) as handle:
        health, models, translation, streamed = asyncio.run(body(handle.address))
    assert health == "SERVING"
    assert isinstance(models[0], ModelInfo) and isinstance(translation, Translation)
    assert sorted(r.id for r in streamed) == ["a0", "a1", "a2"]
    assert all(r.translation.text for r in streamed)


@needs_openssl
def test_tls(tiny_models_dir: Path, tmp_path: Path) -> None:
    key, cert = self_signed(tmp_path)
    with ServerThread(tiny_models_dir, tls_cert=str(cert), tls_key=str(key)) as handle:
        with Client(handle.address, root_certificates=cert.read_bytes()) as client:
            assert client.health() == "SERVING"
        with Client(handle.address, retries=0, timeout=5) as plaintext, pytest.raises(CrosswireError):
            plaintext.health()
