"""Authentication and authorisation: API keys from a reloadable file, mutual TLS, and the refusal to serve open.

Real servers on loopback (segmentation needs no model), real TLS made with openssl.
"""

from __future__ import annotations

import io
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from crosswire.client import CrosswireError
from crosswire.v1 import segmentation_pb2, segmentation_pb2_grpc
from crosswire_server.access import MAX_UNLISTED_STATES, KeyStore, Limits, add_key, hash_token
from crosswire_server.app import CrosswireServer, ServeError
from crosswire_server.config import ServerConfig
from support.certificates import certificate_authority, needs_openssl, signed
from support.server import ServerThread

TEXT = "Суд вынес приговор. Стороны обжалуют его."


@pytest.fixture
def keys_file(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A keys file with 'everything' (all services) and 'translator' (translation only); their tokens by name."""
    path = tmp_path / "keys.toml"
    tokens = {"everything": add_key(path, "everything", ["*"]),
              "translator": add_key(path, "translator", ["translation"])}
    return path, tokens


@pytest.fixture
def server(tmp_path: Path, keys_file: tuple[Path, dict[str, str]]) -> Iterator[ServerThread]:
    with ServerThread(tmp_path / "no-models", wait_ready=False, api_keys=str(keys_file[0]),
                      reflection="keys") as handle:
        yield handle


@pytest.fixture
def channel(server: ServerThread) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(server.address) as channel:
        yield channel


def segment(channel: grpc.Channel, token: str | None = None) -> segmentation_pb2.SegmentResponse:
    metadata = (("authorization", f"Bearer {token}"),) if token is not None else None
    stub = segmentation_pb2_grpc.SegmentationServiceStub(channel)
    return stub.Segment(segmentation_pb2.SegmentRequest(text=TEXT, language="ru"), timeout=30, metadata=metadata)


def refused(call) -> CrosswireError:
    with pytest.raises(grpc.RpcError) as info:
        call()
    return CrosswireError.from_rpc(info.value)


def test_a_call_without_a_key_is_unauthenticated(channel: grpc.Channel) -> None:
    error = refused(lambda: segment(channel))
    assert error.code == grpc.StatusCode.UNAUTHENTICATED
    assert "authorization: Bearer" in error.details
    assert error.request_id


def test_an_unknown_key_is_unauthenticated_and_never_echoed(channel: grpc.Channel, request_log: io.StringIO) -> None:
    wrong = "cw_" + "x" * 43
    error = refused(lambda: segment(channel, wrong))
    assert error.code == grpc.StatusCode.UNAUTHENTICATED
    assert "not valid" in error.details and wrong not in error.details
    assert wrong not in request_log.getvalue()
    assert '"status": "UNAUTHENTICATED"' in request_log.getvalue()


def test_a_header_that_is_not_bearer_is_unauthenticated(channel: grpc.Channel) -> None:
    stub = segmentation_pb2_grpc.SegmentationServiceStub(channel)
    error = refused(lambda: stub.Segment(segmentation_pb2.SegmentRequest(text=TEXT), timeout=30,
                                         metadata=(("authorization", "Basic c2VjcmV0"),)))
    assert error.code == grpc.StatusCode.UNAUTHENTICATED and "Bearer" in error.details
    assert "c2VjcmV0" not in error.details


def test_a_key_without_the_service_is_permission_denied(channel: grpc.Channel, keys_file) -> None:
    error = refused(lambda: segment(channel, keys_file[1]["translator"]))
    assert error.code == grpc.StatusCode.PERMISSION_DENIED
    assert error.details == "key 'translator' may not call the segmentation service; it may call: translation"


def test_a_key_with_the_service_is_served(channel: grpc.Channel, keys_file) -> None:
    assert len(segment(channel, keys_file[1]["everything"]).sentences) == 2


def test_health_is_open_without_a_key(channel: grpc.Channel) -> None:
    stub = health_pb2_grpc.HealthStub(channel)
    response = stub.Check(health_pb2.HealthCheckRequest(service="crosswire.v1.SegmentationService"), timeout=30)
    assert response.status == health_pb2.HealthCheckResponse.SERVING


def test_reflection_can_be_put_behind_the_keys(channel: grpc.Channel, keys_file) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    ask = [reflection_pb2.ServerReflectionRequest(list_services="")]
    error = refused(lambda: list(stub.ServerReflectionInfo(iter(ask), timeout=30)))
    assert error.code == grpc.StatusCode.UNAUTHENTICATED
    metadata = (("authorization", f"Bearer {keys_file[1]['everything']}"),)
    (answer,) = stub.ServerReflectionInfo(iter(ask), timeout=30, metadata=metadata)
    assert "crosswire.v1.SegmentationService" in {s.name for s in answer.list_services_response.service}


def test_reflection_can_be_turned_off(tmp_path: Path) -> None:
    with ServerThread(tmp_path, wait_ready=False, reflection="off") as server, \
            grpc.insecure_channel(server.address) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        ask = [reflection_pb2.ServerReflectionRequest(list_services="")]
        error = refused(lambda: list(stub.ServerReflectionInfo(iter(ask), timeout=30)))
        assert error.code == grpc.StatusCode.UNIMPLEMENTED


def test_the_request_log_names_the_key_not_the_token(channel: grpc.Channel, keys_file,
                                                     request_log: io.StringIO) -> None:
    token = keys_file[1]["everything"]
    segment(channel, token)
    refused(lambda: segment(channel, keys_file[1]["translator"]))
    lines = [json.loads(line) for line in request_log.getvalue().splitlines()]
    assert [(line["method"], line["client"], line["status"]) for line in lines] == [
        ("Segment", "everything", "OK"), ("Segment", "translator", "PERMISSION_DENIED")]
    assert token not in request_log.getvalue() and keys_file[1]["translator"] not in request_log.getvalue()


def test_a_new_key_works_and_a_removed_one_stops_without_a_restart(server: ServerThread, channel: grpc.Channel,
                                                                   keys_file) -> None:
    path, tokens = keys_file
    added = add_key(path, "late", ["segmentation"])
    assert server.server.reload_keys()  # what SIGHUP does; the file's mtime is also checked once a second
    assert len(segment(channel, added).sentences) == 2
    kept = [block for block in path.read_text().split("\n\n") if 'name = "everything"' not in block]
    path.write_text("\n\n".join(kept))
    assert server.server.reload_keys()
    assert refused(lambda: segment(channel, tokens["everything"])).code == grpc.StatusCode.UNAUTHENTICATED
    assert len(segment(channel, added).sentences) == 2


def test_a_changed_file_is_reread_when_next_looked_at_a_second_later(tmp_path: Path) -> None:
    path = tmp_path / "keys.toml"
    first = add_key(path, "first", ["*"])
    now = [0.0]
    store = KeyStore(path, clock=lambda: now[0])
    second = add_key(path, "second", ["*"])
    now[0] = 0.5
    assert store.find(second) is None  # looked at less than a second ago
    now[0] = 1.0
    assert store.find(second)[0].name == "second" and store.find(first)[0].name == "first"


def test_a_broken_file_keeps_the_old_keys_and_logs_one_error(tmp_path: Path) -> None:
    path = tmp_path / "keys.toml"
    token = add_key(path, "kept", ["*"])
    now = [0.0]
    store = KeyStore(path, clock=lambda: now[0])
    path.write_text(path.read_text() + "[[key]]\nname = 'broken'\n")
    errors: list[str] = []
    handler = logging.Handler(logging.ERROR)
    handler.emit = lambda record: errors.append(record.getMessage())  # type: ignore[method-assign]
    logging.getLogger("crosswire.server").addHandler(handler)
    try:
        for second in (1.0, 2.0, 3.0):
            now[0] = second
            assert store.find(token)[0].name == "kept"
    finally:
        logging.getLogger("crosswire.server").removeHandler(handler)
    (error,) = errors
    assert "key 2 (broken): sha256 must be 64 lower-case hex digits" in error
    assert "keeping the 1 keys in force" in error


def test_a_bad_keys_file_stops_the_server_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "keys.toml"
    path.write_text('[[key]]\nname = "x"\nsha256 = "' + "0" * 64 + '"\nservices = ["translate"]\n')
    with pytest.raises(ServeError, match="unknown service 'translate'; known: translation"):
        CrosswireServer(ServerConfig.from_env({}, models_dir=tmp_path, port=0, api_keys=str(path)))


def test_the_keys_file_holds_hashes_not_tokens(keys_file) -> None:
    path, tokens = keys_file
    text = path.read_text()
    assert all(token not in text and hash_token(token) in text for token in tokens.values())
    assert path.stat().st_mode & 0o077 == 0


def test_keys_create_prints_the_token_once_and_appends_its_hash(tmp_path: Path, capsys) -> None:
    from crosswire.cli import main

    path = tmp_path / "keys.toml"
    assert main(["keys", "create", "newsroom", "--services", "translation,segmentation", "--file", str(path),
                 "--sentences-per-second", "20", "--max-concurrent-calls", "2"]) == 0
    out, err = capsys.readouterr()
    token = out.strip()
    assert token.startswith("cw_") and len(token) > 40 and token not in err
    (key,) = KeyStore(path).keys()
    assert (key.name, key.services, key.sha256) == ("newsroom", {"translation", "segmentation"}, hash_token(token))
    assert key.limits == Limits(max_concurrent_calls=2, sentences_per_second=20)
    assert main(["keys", "create", "newsroom", "--services", "*", "--file", str(path)]) == 1
    assert "exists already" in capsys.readouterr().err
    assert main(["keys", "create", "other", "--services", "transl", "--file", str(path)]) == 1
    assert "unknown service 'transl'" in capsys.readouterr().err


def test_keys_revoke_removes_one_key_and_keeps_the_rest(tmp_path: Path, keys_file, capsys) -> None:
    from crosswire.cli import main

    path, tokens = keys_file
    path.write_text("# newsroom keys\n\n" + path.read_text())
    assert main(["keys", "revoke", "everything", "--file", str(path)]) == 0
    store = KeyStore(path)
    assert [key.name for key in store.keys()] == ["translator"]
    assert store.find(tokens["everything"]) is None and store.find(tokens["translator"]) is not None
    assert path.read_text().startswith("# newsroom keys") and path.stat().st_mode & 0o077 == 0
    assert main(["keys", "revoke", "everything", "--file", str(path)]) == 1
    assert "no key or certificate named 'everything'" in capsys.readouterr().err
    assert main(["keys", "list", "--file", str(path)]) == 0
    assert capsys.readouterr().out == "translator\ttranslation\tno limits\n"


def test_the_python_client_sends_its_api_key(server: ServerThread, keys_file) -> None:
    from crosswire import Client

    with Client(server.address, api_key=keys_file[1]["everything"], timeout=30) as client:
        assert len(client.segment(TEXT, "ru").sentences) == 2
    with Client(server.address, timeout=30) as client, pytest.raises(CrosswireError) as info:
        client.segment(TEXT, "ru")
    assert info.value.code == grpc.StatusCode.UNAUTHENTICATED


def test_the_cli_reads_the_key_from_the_environment_or_a_file(server: ServerThread, keys_file, tmp_path: Path,
                                                             monkeypatch, capsys) -> None:
    from crosswire.cli import main

    source = tmp_path / "report.txt"
    source.write_text(TEXT)
    monkeypatch.delenv("CROSSWIRE_API_KEY", raising=False)
    assert main(["segment", "--server", server.address, "--lang", "ru", str(source)]) == 1
    assert "needs an API key" in capsys.readouterr().err
    monkeypatch.setenv("CROSSWIRE_API_KEY", keys_file[1]["everything"])
    assert main(["segment", "--server", server.address, "--lang", "ru", str(source)]) == 0
    assert "Стороны обжалуют его." in capsys.readouterr().out
    monkeypatch.delenv("CROSSWIRE_API_KEY")
    key_file = tmp_path / "key"
    key_file.write_text(keys_file[1]["everything"] + "\n")
    assert main(["segment", "--server", server.address, "--api-key-file", str(key_file), "--lang", "ru",
                 str(source)]) == 0


def test_metrics_can_be_put_behind_the_keys(tmp_path: Path, keys_file) -> None:
    path, tokens = keys_file
    scraper = add_key(path, "scraper", ["metrics"])
    with ServerThread(tmp_path, wait_ready=False, api_keys=str(path), metrics_port=_free_port(),
                      metrics_access="keys") as server:
        url = f"http://127.0.0.1:{server.server.metrics_port}/metrics"

        def scrape(token: str | None) -> int:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            try:
                return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30).status
            except urllib.error.HTTPError as exc:
                return exc.code

        assert [scrape(None), scrape(tokens["translator"]), scrape(scraper), scrape(tokens["everything"])] == \
            [401, 401, 200, 200]


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def logging_kept() -> Iterator[None]:
    """`crosswire serve` sets up logging to the (captured) stderr; later tests get the logging they had."""
    logger = logging.getLogger("crosswire")
    handlers, propagate, level = logger.handlers[:], logger.propagate, logger.level
    yield
    logger.handlers[:], logger.propagate = handlers, propagate
    logger.setLevel(level)


def test_a_non_loopback_bind_without_access_control_is_refused(tmp_path: Path, capsys, logging_kept) -> None:
    from crosswire.cli import main

    assert main(["serve", "--host", "0.0.0.0", "--port", "0", "--models-dir", str(tmp_path)]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("crosswire: error: refusing to serve on 0.0.0.0") and "--insecure" in line


def test_insecure_allows_a_non_loopback_bind(tmp_path: Path) -> None:
    with ServerThread(tmp_path, wait_ready=False, host="0.0.0.0", insecure=True) as server:
        with grpc.insecure_channel(server.address) as channel:
            assert len(segment(channel).sentences) == 2


def test_keys_allow_a_non_loopback_bind(tmp_path: Path, keys_file) -> None:
    with ServerThread(tmp_path, wait_ready=False, host="0.0.0.0", api_keys=str(keys_file[0])) as server:
        with grpc.insecure_channel(server.address) as channel:
            assert refused(lambda: segment(channel)).code == grpc.StatusCode.UNAUTHENTICATED


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """A CA, a server certificate for localhost and a client certificate it signed, and a stranger's client one."""
    folder = tmp_path_factory.mktemp("pki")
    ca = certificate_authority(folder)
    other_ca = certificate_authority(folder, "Other CA")
    return {"ca": ca, "server": signed(folder, ca, "localhost"), "client": signed(folder, ca, "reporter", client=True),
            "stranger": signed(folder, other_ca, "stranger", client=True)}


def _mtls_channel(port: int, pki, client: str | None) -> grpc.Channel:
    chain = key = None
    if client is not None:
        key, chain = (path.read_bytes() for path in pki[client])
    credentials = grpc.ssl_channel_credentials(pki["ca"][1].read_bytes(), key, chain)
    return grpc.secure_channel(f"localhost:{port}", credentials)


@needs_openssl
def test_mutual_tls_accepts_a_certificate_the_ca_signed(tmp_path: Path, pki, request_log: io.StringIO) -> None:
    key, cert = pki["server"]
    with ServerThread(tmp_path, wait_ready=False, tls_cert=str(cert), tls_key=str(key),
                      tls_client_ca=str(pki["ca"][1])) as server:
        with _mtls_channel(server.port, pki, "client") as channel:
            assert len(segment(channel).sentences) == 2
        (line,) = [json.loads(line) for line in request_log.getvalue().splitlines()]
        assert line["client"] == "CN=reporter"
        for client in (None, "stranger"):
            with _mtls_channel(server.port, pki, client) as channel:
                assert refused(lambda: segment(channel)).code == grpc.StatusCode.UNAVAILABLE


@needs_openssl
def test_mutual_tls_with_keys_still_checks_a_key_sent(tmp_path: Path, pki, keys_file) -> None:
    key, cert = pki["server"]
    with ServerThread(tmp_path, wait_ready=False, tls_cert=str(cert), tls_key=str(key),
                      tls_client_ca=str(pki["ca"][1]), api_keys=str(keys_file[0])) as server:
        with _mtls_channel(server.port, pki, "client") as channel:
            unlisted = refused(lambda: segment(channel))  # a keys file lists certificates too (tests/test_mtls_access.py)
            assert unlisted.code == grpc.StatusCode.PERMISSION_DENIED and "'CN=reporter'" in unlisted.details
            assert len(segment(channel, keys_file[1]["everything"]).sentences) == 2
            assert refused(lambda: segment(channel, keys_file[1]["translator"])).code == \
                grpc.StatusCode.PERMISSION_DENIED
            assert refused(lambda: segment(channel, "cw_revoked")).code == grpc.StatusCode.UNAUTHENTICATED


def test_the_client_ca_needs_a_server_certificate(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    with pytest.raises(ValueError, match="--tls-client-ca needs --tls-cert and --tls-key"):
        ServerConfig.from_env({}, tls_client_ca=str(ca))


@pytest.mark.parametrize(("per_key", "reached_the_model"), [(False, 1), (True, 2)])
def test_the_cache_can_be_partitioned_per_key(tiny_models_dir: Path, per_key: bool, reached_the_model: int) -> None:
    """A shared cache answers a second client's sentence from the first one's work (and faster: a timing leak)."""
    import asyncio

    from crosswire_server.access import Caller, set_caller
    from crosswire_server.translation import TranslationEngine

    config = ServerConfig.from_env({}, models_dir=tiny_models_dir, max_decoding_length=16, cache_per_key=per_key)
    engine = TranslationEngine.load(config)
    sentence = "Правительство объявило о новых мерах поддержки экономики."

    async def as_caller(name: str) -> str:
        set_caller(Caller(name, via="key"))
        (result,) = await engine.translate([sentence], source="ru", presegmented=True)
        return result.text

    async def body() -> tuple[list[str], int]:
        try:
            texts = [await asyncio.create_task(as_caller(name)) for name in ("alice", "bob", "alice")]
            return texts, engine.scheduler(engine.pick_model("ru", "en")).sentences
        finally:
            await engine.close()

    texts, sent = asyncio.run(body())
    assert len(set(texts)) == 1
    assert sent == reached_the_model
    assert engine.cache_stats().hits == 3 - reached_the_model


@needs_openssl
def test_keys_over_real_tls_none_wrong_good_and_revoked(tmp_path: Path, keys_file) -> None:
    from crosswire import Client
    from support.certificates import self_signed

    path, tokens = keys_file
    key, cert = self_signed(tmp_path)
    with ServerThread(tmp_path, wait_ready=False, tls_cert=str(cert), tls_key=str(key), api_keys=str(path)) as server:
        credentials = grpc.ssl_channel_credentials(cert.read_bytes())
        with grpc.secure_channel(f"localhost:{server.port}", credentials) as channel:
            assert refused(lambda: segment(channel)).code == grpc.StatusCode.UNAUTHENTICATED
            assert refused(lambda: segment(channel, "cw_" + "0" * 43)).code == grpc.StatusCode.UNAUTHENTICATED
            assert len(segment(channel, tokens["everything"]).sentences) == 2
            path.write_text("\n\n".join(block for block in path.read_text().split("\n\n")
                                        if 'name = "everything"' not in block))
            assert server.server.reload_keys()
            revoked = refused(lambda: segment(channel, tokens["everything"]))
            assert revoked.code == grpc.StatusCode.UNAUTHENTICATED and "revoked" in revoked.details
        with Client(f"localhost:{server.port}", tls=True, root_certificates=cert.read_bytes(),
                    api_key=tokens["translator"], timeout=30) as client, pytest.raises(CrosswireError) as info:
            client.segment(TEXT, "ru")
        assert info.value.code == grpc.StatusCode.PERMISSION_DENIED


def test_credentials_are_checked_before_the_request_is_decoded(channel: grpc.Channel, keys_file) -> None:
    """A caller without a key learns nothing about how its bytes parse."""
    call = channel.unary_unary("/crosswire.v1.SegmentationService/Segment")
    garbage = b"\x0a\xff\xff"
    assert refused(lambda: call(garbage, timeout=30)).code == grpc.StatusCode.UNAUTHENTICATED
    metadata = (("authorization", f"Bearer {keys_file[1]['everything']}"),)
    assert refused(lambda: call(garbage, timeout=30, metadata=metadata)).code == grpc.StatusCode.INVALID_ARGUMENT


def test_sighup_rereads_the_keys_file_of_a_running_server(tmp_path: Path, keys_file) -> None:
    """The file changes in place with its size, inode and mtime kept, so only the signal can make it reread."""
    import os
    import signal
    import subprocess
    import sys
    import time

    path, tokens = keys_file
    port = _free_port()
    env = dict(os.environ, CROSSWIRE_MODELS_DIR=str(tmp_path / "no-models"), CROSSWIRE_API_KEYS=str(path))
    process = subprocess.Popen([sys.executable, "-m", "crosswire", "serve", "--port", str(port)], env=env,
                               stderr=subprocess.DEVNULL)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            grpc.channel_ready_future(channel).result(timeout=60)
            assert len(segment(channel, tokens["everything"]).sentences) == 2
            replacement = add_key(tmp_path / "other.toml", "unused", ["*"])
            before = os.stat(path)
            text = path.read_text().replace(hash_token(tokens["everything"]), hash_token(replacement))
            with open(path, "r+", encoding="utf-8") as file:  # same inode, same size
                file.write(text)
            os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
            time.sleep(1.5)  # past the once-a-second look, which finds nothing changed
            assert len(segment(channel, tokens["everything"]).sentences) == 2
            process.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:  # the signal is handled by the server's loop, soon after
                try:
                    segment(channel, replacement)
                    break
                except grpc.RpcError:
                    time.sleep(0.1)
            assert len(segment(channel, replacement).sentences) == 2
            assert refused(lambda: segment(channel, tokens["everything"])).code == grpc.StatusCode.UNAUTHENTICATED
    finally:
        process.terminate()
        process.wait(30)


def test_the_async_client_sends_its_api_key(server: ServerThread, keys_file) -> None:
    import asyncio

    from crosswire import AsyncClient

    async def calls() -> tuple[int, grpc.StatusCode]:
        async with AsyncClient(server.address, api_key=keys_file[1]["everything"], timeout=30) as client:
            sentences = len((await client.segment(TEXT, "ru")).sentences)
        async with AsyncClient(server.address, api_key=keys_file[1]["translator"], timeout=30) as client:
            try:
                await client.segment(TEXT, "ru")
            except CrosswireError as exc:
                return sentences, exc.code
        return sentences, grpc.StatusCode.OK

    assert asyncio.run(calls()) == (2, grpc.StatusCode.PERMISSION_DENIED)


def test_an_api_key_with_spaces_is_refused_without_echoing_it() -> None:
    from crosswire import Client

    with pytest.raises(ValueError, match="contains spaces") as info:
        Client("localhost:1", api_key="cw_secret part")
    assert "secret" not in str(info.value)


def test_metrics_behind_keys_need_a_keys_file(tmp_path: Path) -> None:
    with pytest.raises(ServeError, match="--metrics-access keys needs --api-keys FILE"):
        CrosswireServer(ServerConfig.from_env({}, models_dir=tmp_path, port=0, metrics_access="keys"))


def test_counters_of_unlisted_certificates_are_forgotten_once_idle_past_a_cap(tmp_path: Path) -> None:
    path = tmp_path / "keys.toml"
    path.write_text('[unlisted_certificates]\nservices = ["*"]\nsentences_per_second = 10\nburst = 20\n')
    now = [0.0]
    store = KeyStore(path, clock=lambda: now[0])
    busy = store.find_certificate("busy", "CN=busy")[1]
    busy.active = 1
    owing = store.find_certificate("owing", "CN=owing")[1]
    assert owing.bucket is not None and owing.bucket.take(30) == 0.0  # 10 sentences owed for a second
    for number in range(3 * MAX_UNLISTED_STATES):
        store.find_certificate(f"visitor-{number}", f"CN=visitor-{number}")
    assert store.find_certificate("busy", "CN=busy")[1] is busy
    assert store.find_certificate("owing", "CN=owing")[1] is owing  # the debt is remembered ...
    now[0] = 10.0
    for number in range(MAX_UNLISTED_STATES):
        store.find_certificate(f"later-{number}", f"CN=later-{number}")
    assert store.find_certificate("owing", "CN=owing")[1] is not owing  # ... until it is paid off
    assert store.find_certificate("busy", "CN=busy")[1] is busy
    assert len(store._unlisted_states) <= MAX_UNLISTED_STATES + 2
