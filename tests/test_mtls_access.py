"""Client certificates named and limited like API keys: [[certificate]] entries of the keys file, over real mutual TLS.

A CA made with openssl signs the server's certificate and several client ones;
calls are held open by reflection streams the test controls (no clocks, no model),
except for the cache test, which uses the tiny model.
"""

from __future__ import annotations

import io
import json
import queue
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from crosswire.client import CrosswireError
from crosswire.v1 import segmentation_pb2, segmentation_pb2_grpc, translation_pb2, translation_pb2_grpc
from crosswire_server.access import (
    KeysFileError,
    KeyStore,
    Limits,
    add_certificate,
    add_key,
    certificate_fingerprint,
    parse_access_file,
    remove_key,
)
from support.certificates import certificate_authority, needs_openssl, signed
from support.server import ServerThread

pytestmark = needs_openssl
TEXT = "Суд вынес приговор. Стороны обжалуют его."
UNLISTED = '\n[unlisted_certificates]\nservices = ["segmentation", "reflection"]\nmax_concurrent_calls = 1\n'


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """A CA, a server certificate for localhost, and four client certificates the CA signed: (key, certificate)."""
    folder = tmp_path_factory.mktemp("pki")
    ca = certificate_authority(folder)
    made = {name: signed(folder, ca, name, client=True) for name in ("reporter", "editor", "intern", "temp")}
    return {"ca": ca, "server": signed(folder, ca, "localhost"), **made}


def fingerprint(pki, name: str) -> str:
    return certificate_fingerprint(pki[name][1].read_bytes())


@pytest.fixture
def keys_file(tmp_path: Path, pki) -> Path:
    """'reporter' listed by fingerprint (segmentation and reflection, one call at a time), 'editor' by subject
    (translation only); no [unlisted_certificates] table, so 'intern' and 'temp' are refused."""
    path = tmp_path / "keys.toml"
    add_certificate(path, "reporter", ["segmentation", "reflection"], Limits(max_concurrent_calls=1),
                    fingerprint=fingerprint(pki, "reporter"))
    add_certificate(path, "editor", ["translation"], subject="CN=editor")
    return path


def mtls_server(models_dir: Path, pki, keys: Path, **settings) -> ServerThread:
    key, cert = pki["server"]
    return ServerThread(models_dir, wait_ready=False, tls_cert=str(cert), tls_key=str(key),
                        tls_client_ca=str(pki["ca"][1]), api_keys=str(keys), reflection="keys", **settings)


@pytest.fixture
def server(tmp_path: Path, pki, keys_file: Path) -> Iterator[ServerThread]:
    with mtls_server(tmp_path / "no-models", pki, keys_file) as handle:
        yield handle


@pytest.fixture
def channels(server: ServerThread, pki) -> Iterator[dict[str, grpc.Channel]]:
    """One mutual-TLS channel per client certificate, by name."""
    opened = {}
    for name in ("reporter", "editor", "intern", "temp"):
        key, chain = (path.read_bytes() for path in pki[name])
        credentials = grpc.ssl_channel_credentials(pki["ca"][1].read_bytes(), key, chain)
        opened[name] = grpc.secure_channel(f"localhost:{server.port}", credentials)
    yield opened
    for channel in opened.values():
        channel.close()


class HeldCall:
    """A reflection stream held open: after `ask()` it is certainly admitted and counted; `close()` ends it."""

    def __init__(self, channel: grpc.Channel) -> None:
        self._items: queue.Queue = queue.Queue()
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        self._responses = stub.ServerReflectionInfo(iter(self._items.get, None), timeout=60)

    def ask(self) -> reflection_pb2.ServerReflectionResponse:
        self._items.put(reflection_pb2.ServerReflectionRequest(list_services=""))
        return next(self._responses)

    def close(self) -> None:
        self._items.put(None)
        assert list(self._responses) == []


def segment(channel: grpc.Channel) -> segmentation_pb2.SegmentResponse:
    stub = segmentation_pb2_grpc.SegmentationServiceStub(channel)
    return stub.Segment(segmentation_pb2.SegmentRequest(text=TEXT, language="ru"), timeout=30)


def refused(call) -> CrosswireError:
    with pytest.raises(grpc.RpcError) as info:
        call()
    return CrosswireError.from_rpc(info.value)


def test_a_listed_certificate_over_its_concurrent_calls_gets_resource_exhausted_with_retry_info(
        channels, request_log: io.StringIO) -> None:
    held = HeldCall(channels["reporter"])
    assert held.ask().HasField("list_services_response")
    error = refused(lambda: segment(channels["reporter"]))
    assert error.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error.limit == "max_concurrent_calls" and error.retry_after is not None and error.retry_after > 0
    assert "certificate 'reporter' has 1 calls in progress, its limit of max_concurrent_calls=1" in error.details
    held.close()
    assert len(segment(channels["reporter"]).sentences) == 2  # the stream's slot is free again
    clients = {json.loads(line)["client"] for line in request_log.getvalue().splitlines()}
    assert clients == {"reporter"}  # the entry's name, not the subject


def test_a_listed_certificate_without_the_service_is_permission_denied(channels) -> None:
    error = refused(lambda: segment(channels["editor"]))  # listed by subject, translation only
    assert error.code == grpc.StatusCode.PERMISSION_DENIED
    assert error.details == "certificate 'editor' may not call the segmentation service; it may call: translation"


def test_an_unlisted_certificate_is_refused_by_default(channels, pki, request_log: io.StringIO) -> None:
    error = refused(lambda: segment(channels["intern"]))
    assert error.code == grpc.StatusCode.PERMISSION_DENIED
    assert "client certificate 'CN=intern'" in error.details and "not listed" in error.details
    assert fingerprint(pki, "intern") in error.details  # what the operator lists it by
    (line,) = [json.loads(line) for line in request_log.getvalue().splitlines()]
    assert (line["client"], line["status"]) == ("CN=intern", "PERMISSION_DENIED")


def test_unlisted_certificates_get_the_default_table_each_counted_on_its_own(server: ServerThread, channels,
                                                                            keys_file: Path) -> None:
    keys_file.write_text(keys_file.read_text() + UNLISTED)
    assert server.server.reload_keys()
    held = HeldCall(channels["intern"])
    assert held.ask().HasField("list_services_response")
    error = refused(lambda: segment(channels["intern"]))
    assert error.code == grpc.StatusCode.RESOURCE_EXHAUSTED and error.limit == "max_concurrent_calls"
    assert "certificate 'CN=intern' has 1 calls in progress" in error.details
    assert len(segment(channels["temp"]).sentences) == 2  # another unlisted certificate has its own count
    held.close()
    assert len(segment(channels["intern"]).sentences) == 2
    assert refused(lambda: segment(channels["editor"])).code == grpc.StatusCode.PERMISSION_DENIED  # listed: its entry


def test_a_reload_changes_a_certificates_limits_without_a_restart(server: ServerThread, channels,
                                                                  keys_file: Path) -> None:
    first = HeldCall(channels["reporter"])
    assert first.ask().HasField("list_services_response")
    assert refused(lambda: segment(channels["reporter"])).code == grpc.StatusCode.RESOURCE_EXHAUSTED
    keys_file.write_text(keys_file.read_text().replace("max_concurrent_calls = 1", "max_concurrent_calls = 2"))
    assert server.server.reload_keys()  # what SIGHUP does; a changed file is also looked at once a second
    second = HeldCall(channels["reporter"])  # the call open since before the reload still counts
    assert second.ask().HasField("list_services_response")
    error = refused(lambda: segment(channels["reporter"]))
    assert "has 2 calls in progress, its limit of max_concurrent_calls=2" in error.details
    first.close()
    assert len(segment(channels["reporter"]).sentences) == 2
    second.close()
    remove_key(keys_file, "reporter")
    assert server.server.reload_keys()
    assert refused(lambda: segment(channels["reporter"])).code == grpc.StatusCode.PERMISSION_DENIED


def test_an_api_key_sent_over_a_listed_certificate_still_decides(server: ServerThread, channels,
                                                                 keys_file: Path) -> None:
    token = add_key(keys_file, "desk", ["segmentation"])
    assert server.server.reload_keys()
    stub = segmentation_pb2_grpc.SegmentationServiceStub(channels["editor"])
    request = segmentation_pb2.SegmentRequest(text=TEXT, language="ru")
    assert len(stub.Segment(request, timeout=30, metadata=(("authorization", f"Bearer {token}"),)).sentences) == 2


def test_the_cache_partition_is_per_certificate(tiny_models_dir: Path, pki, tmp_path: Path) -> None:
    """With --cache-per-key, two certificates translating one sentence each reach the model; one twice hits."""
    path = tmp_path / "keys.toml"
    for name in ("reporter", "editor"):
        add_certificate(path, name, ["translation"], fingerprint=fingerprint(pki, name))
    sentence = "Правительство объявило о новых мерах поддержки экономики."
    with mtls_server(tiny_models_dir, pki, path, cache_per_key=True, max_decoding_length=16) as server:
        server.call(server.server.wait_until_ready())
        for name in ("reporter", "editor", "reporter"):
            key, chain = (file.read_bytes() for file in pki[name])
            credentials = grpc.ssl_channel_credentials(pki["ca"][1].read_bytes(), key, chain)
            with grpc.secure_channel(f"localhost:{server.port}", credentials) as channel:
                stub = translation_pb2_grpc.TranslationServiceStub(channel)
                request = translation_pb2.TranslateRequest(texts=[sentence], source_language="ru")
                assert len(stub.Translate(request, timeout=60).results) == 1
        engine = server.server.runtime.engine
        assert engine.scheduler(engine.pick_model("ru", "en")).sentences == 2
        assert engine.cache_stats().hits == 1


def test_keys_create_lists_a_certificate_by_fingerprint_or_subject(tmp_path: Path, pki, capsys) -> None:
    from crosswire.cli import main

    path = tmp_path / "keys.toml"
    assert main(["keys", "create", "reporter", "--services", "translation", "--file", str(path),
                 "--certificate", str(pki["reporter"][1]), "--max-concurrent-calls", "2"]) == 0
    out, err = capsys.readouterr()
    assert out == "" and fingerprint(pki, "reporter") in err and "no key is made" in err
    assert main(["keys", "create", "editor", "--services", "*", "--file", str(path),
                 "--subject", 'CN=editor,O=News\\, "Ltd"']) == 0
    capsys.readouterr()
    (reporter, editor) = KeyStore(path).current().certificates
    assert (reporter.fingerprint, reporter.limits) == (fingerprint(pki, "reporter"), Limits(max_concurrent_calls=2))
    assert editor.subject == 'CN=editor,O=News\\, "Ltd"'  # quotes and backslashes kept through TOML
    assert main(["keys", "create", "again", "--services", "*", "--file", str(path),
                 "--certificate", str(pki["reporter"][1])]) == 1
    assert "another certificate has the same fingerprint" in capsys.readouterr().err
    assert main(["keys", "create", "bad", "--services", "*", "--file", str(path),
                 "--certificate", str(pki["reporter"][0])]) == 1  # the private key, not a certificate
    assert "no PEM certificate" in capsys.readouterr().err
    assert main(["keys", "list", "--file", str(path)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"reporter\ttranslation\tmax_concurrent_calls=2\tcertificate sha256={fingerprint(pki, 'reporter')}",
        'editor\t*\tno limits\tcertificate subject=CN=editor,O=News\\, "Ltd"',
        "(unlisted certificates)\trefused"]
    assert main(["keys", "revoke", "reporter", "--file", str(path)]) == 0
    assert [entry.name for entry in KeyStore(path).current().certificates] == ["editor"]


def test_certificate_entries_are_checked_when_the_file_is_read(pki) -> None:
    digits = fingerprint(pki, "reporter")
    colons = ":".join(digits[i:i + 2] for i in range(0, 64, 2)).upper()  # as openssl prints it
    text = f'[[certificate]]\nname = "r"\nfingerprint = "{colons}"\nservices = ["*"]\n'
    assert parse_access_file(text).certificates[0].fingerprint == digits
    bad = {
        f'[[certificate]]\nname = "r"\nfingerprint = "{digits}"\nsubject = "CN=r"\nservices = ["*"]\n':
            "certificate 1 (r): give exactly one of fingerprint",
        '[[certificate]]\nname = "r"\nfingerprint = "abc"\nservices = ["*"]\n': "fingerprint must be the certificate's",
        '[[certificate]]\nname = "r"\nsubject = ""\nservices = ["*"]\n': "subject must be the certificate's subject",
        '[unlisted_certificates]\nservices = ["*"]\nmax_calls = 1\n': "unlisted_certificates: unknown fields",
        f'[[key]]\nname = "r"\nsha256 = "{digits}"\nservices = ["*"]\n' + text: "the name 'r' is used twice",
    }
    for source, message in bad.items():
        with pytest.raises(KeysFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
            parse_access_file(source)
