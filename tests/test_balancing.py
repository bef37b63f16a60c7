"""Several replicas behind one client: address lists as targets, round_robin, retries on another replica, TLS."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from concurrent import futures
from pathlib import Path

import grpc
import pytest

from crosswire import Client, CrosswireError
from crosswire.balancing import service_config, tls_name
from crosswire.client import target
from crosswire.v1 import translation_pb2, translation_pb2_grpc
from support.certificates import needs_openssl, self_signed
from support.server import ServerThread

SENTENCE = "Правительство объявило о новых мерах поддержки экономики."


def test_an_address_list_becomes_one_static_target() -> None:
    assert target("127.0.0.1:5001, 127.0.0.2") == "ipv4:127.0.0.1:5001,127.0.0.2:50051"
    assert target("[::1]:5001,::2") == "ipv6:[::1]:5001,[::2]:50051"
    # One family per static target: IPv4 joins an IPv6 list mapped (::ffff:a.b.c.d).
    assert target("[::1]:5001,127.0.0.1:5002") == "ipv6:[::1]:5001,[::ffff:127.0.0.1]:5002"
    assert target("127.0.0.1:5001,127.0.0.1:5001") == "ipv4:127.0.0.1:5001"
    resolved = target("localhost:5001,127.0.0.1:5002")
    assert resolved.startswith(("ipv4:", "ipv6:")) and "localhost" not in resolved
    assert "127.0.0.1]:5001" in resolved or "127.0.0.1:5001" in resolved or "[::1]:5001" in resolved
    assert target("dns:///crosswire.news.svc.cluster.local:50051") == "dns:///crosswire.news.svc.cluster.local:50051"


@pytest.mark.parametrize(("address", "message"), [
    ("127.0.0.1:5001,,127.0.0.1:5002", "an entry between commas is empty"),
    ("127.0.0.1:5001,127.0.0.1:99999", "'127.0.0.1:99999': the port must be a number"),
    ("127.0.0.1:5001,no-such-host.invalid:5002", "cannot resolve 'no-such-host.invalid'"),
])
def test_a_bad_list_is_refused_naming_the_entry(address: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        target(address)


def test_the_command_line_refuses_a_bad_list_as_a_usage_error() -> None:
    done = subprocess.run([sys.executable, "-m", "crosswire", "segment", "--server", "127.0.0.1:1,,x", "-"],
                          capture_output=True, text=True, timeout=60, input="")
    assert done.returncode == 2 and "argument --server: invalid address list" in done.stderr


def test_the_service_config_balances_and_retries_unavailable_within_limits() -> None:
    config = json.loads(service_config(9))
    assert config["loadBalancingConfig"] == [{"round_robin": {}}]
    (method,) = config["methodConfig"]
    assert method["name"] == [{}], "every method, present and future, gets the policy"
    assert method["retryPolicy"]["retryableStatusCodes"] == ["UNAVAILABLE"]
    assert method["retryPolicy"]["maxAttempts"] == 5, "gRPC allows at most 5 attempts"
    assert config["retryThrottling"]["maxTokens"] > 2 * 16, "a dead replica's in-flight calls must not exhaust it"
    single = json.loads(service_config(1, "pick_first"))
    assert single == {"loadBalancingConfig": [{"pick_first": {}}]}


def test_the_certificate_name_of_a_list_is_its_first_host() -> None:
    assert tls_name("news-a.example:443,news-b.example:443") == "news-a.example"
    assert tls_name("[::1]:5001,[::1]:5002") == "::1"
    assert tls_name("ipv4:127.0.0.1:5001,127.0.0.1:5002") == "127.0.0.1"
    assert tls_name("news.example:443") is None and tls_name("dns:///news.example:443") is None


class CountingService(translation_pb2_grpc.TranslationServiceServicer):
    """Answers ListModels, counting the calls it served."""

    def __init__(self, served: Counter, name: str) -> None:
        self.served, self.name = served, name

    def ListModels(self, request, context):
        self.served[self.name] += 1
        return translation_pb2.ListModelsResponse(models=[translation_pb2.ModelInfo(name=self.name)])


@pytest.fixture
def replicas():
    """Three counting gRPC servers on loopback: (their addresses, calls served per replica)."""
    served: Counter = Counter()
    servers, addresses = [], []
    for index in range(3):
        server = grpc.server(futures.ThreadPoolExecutor(2))
        translation_pb2_grpc.add_TranslationServiceServicer_to_server(CountingService(served, f"r{index}"), server)
        addresses.append(f"127.0.0.1:{server.add_insecure_port('127.0.0.1:0')}")
        server.start()
        servers.append(server)
    yield addresses, served
    for server in servers:
        server.stop(0)


def test_calls_are_spread_over_every_address_of_a_list(replicas) -> None:
    addresses, served = replicas
    with Client(",".join(addresses), timeout=10) as client:
        for _ in range(60):
            client.models()
    assert set(served) == {"r0", "r1", "r2"} and sum(served.values()) == 60
    assert min(served.values()) >= 12, f"round_robin spreads the calls: {dict(served)}"


def test_a_dead_address_in_the_list_is_passed_over(replicas) -> None:
    addresses, served = replicas
    with Client(",".join(["127.0.0.1:1", *addresses[:2]]), timeout=10) as client:
        names = [client.models()[0].name for _ in range(20)]
    assert set(names) == {"r0", "r1"} and sum(served.values()) == 20


def test_unavailable_is_retried_on_another_replica(tiny_models_dir: Path, tmp_path: Path) -> None:
    # A replica without models answers Translate UNAVAILABLE; the retry policy resends to the one with a model.
    with ServerThread(tmp_path / "empty") as bare, ServerThread(tiny_models_dir, max_decoding_length=16) as ready:
        listed = f"{bare.address},{ready.address}"
        with Client(listed, timeout=30) as client:
            assert all(client.translate([SENTENCE], source="ru")[0].text for _ in range(10))
        with Client(listed, timeout=30, retries=0) as once:
            outcomes = []
            for _ in range(10):
                try:
                    outcomes.append(once.translate([SENTENCE], source="ru")[0].text)
                except CrosswireError as error:
                    outcomes.append(error.code)
        assert grpc.StatusCode.UNAVAILABLE in outcomes, "without retries the bare replica's answers reach the caller"


@needs_openssl
def test_tls_over_an_address_list(tiny_models_dir: Path, tmp_path: Path) -> None:
    key, cert = self_signed(tmp_path)
    tls = {"tls_cert": str(cert), "tls_key": str(key), "wait_ready": False}
    with ServerThread(tmp_path / "a", **tls) as first, ServerThread(tmp_path / "b", **tls) as second:
        for host in ("localhost", "127.0.0.1"):
            listed = f"{host}:{first.port},{host}:{second.port}"
            with Client(listed, root_certificates=cert.read_bytes(), timeout=10) as client:
                assert {client.health("crosswire.v1.SegmentationService") for _ in range(4)} == {"SERVING"}
                assert client.segment("Первое предложение. Второе.", "ru").sentences


@needs_openssl
def test_a_command_runs_on_an_address_list_over_tls(tmp_path: Path) -> None:
    key, cert = self_signed(tmp_path)
    tls = {"tls_cert": str(cert), "tls_key": str(key), "wait_ready": False}
    with ServerThread(tmp_path / "a", **tls) as first, ServerThread(tmp_path / "b", **tls) as second:
        listed = f"localhost:{first.port},localhost:{second.port}"
        done = subprocess.run([sys.executable, "-m", "crosswire", "segment", "--lang", "ru", "--server", listed,
                               "--tls-ca", str(cert), "-"], input="Первое предложение. Второе.", capture_output=True,
                              text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Первое предложение." in done.stdout and "Второе." in done.stdout


class Unavailable(translation_pb2_grpc.TranslationServiceServicer):
    """Answers every Translate and ListModels with UNAVAILABLE, counting the attempts."""

    def __init__(self) -> None:
        self.attempts: Counter = Counter()

    def Translate(self, request, context):
        self.attempts["Translate"] += 1
        context.abort(grpc.StatusCode.UNAVAILABLE, "down")

    def ListModels(self, request, context):
        self.attempts["ListModels"] += 1
        context.abort(grpc.StatusCode.UNAVAILABLE, "down")


def test_a_method_listed_as_not_retried_is_sent_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("crosswire.balancing.NOT_RETRIED", ("crosswire.v1.TranslationService/Translate",))
    service = Unavailable()
    server = grpc.server(futures.ThreadPoolExecutor(2))
    translation_pb2_grpc.add_TranslationServiceServicer_to_server(service, server)
    address = f"127.0.0.1:{server.add_insecure_port('127.0.0.1:0')}"
    server.start()
    try:
        with Client(address, timeout=20) as client:
            for call in (lambda: client.translate(["x"]), client.models):
                with pytest.raises(CrosswireError) as info:
                    call()
                assert info.value.code == grpc.StatusCode.UNAVAILABLE
    finally:
        server.stop(0)
    assert service.attempts == {"Translate": 1, "ListModels": 5}


def test_retries_stop_when_the_fleet_mostly_fails() -> None:
    service = Unavailable()
    server = grpc.server(futures.ThreadPoolExecutor(8))
    translation_pb2_grpc.add_TranslationServiceServicer_to_server(service, server)
    address = f"127.0.0.1:{server.add_insecure_port('127.0.0.1:0')}"
    server.start()
    calls = 60
    try:
        with Client(address, timeout=30) as client, futures.ThreadPoolExecutor(calls) as pool:
            outcomes = list(pool.map(lambda _: pytest.raises(CrosswireError, client.models).value.code, range(calls)))
    finally:
        server.stop(0)
    assert outcomes == [grpc.StatusCode.UNAVAILABLE] * calls
    # Five attempts each would be 300; the budget (100 tokens, none left below 50) stops retrying after about 50.
    assert calls <= service.attempts["ListModels"] < calls + 60, service.attempts
