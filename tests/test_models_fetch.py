"""Fetching against a local HTTP server on 127.0.0.1 that serves the tiny OPUS-MT release zip."""

from __future__ import annotations

import hashlib
import socket
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from crosswire_models.errors import FetchError, UnknownModelError
from crosswire_models.fetch import fetch_model
from crosswire_models.registry import Registry
from crosswire_models.store import installed_models

NAME = "tiny-ru-en"


@dataclass
class Route:
    """What the server answers for one path: the body, and where to hang up (None: send it all)."""

    body: bytes
    cut_at: int | None = None


@dataclass
class Server:
    url: str
    routes: dict[str, Route] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        server: Server = self.server.state  # type: ignore[attr-defined]
        server.hits.append(self.path)
        route = server.routes.get(self.path)
        if route is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/zip")
        self.send_header("Content-Length", str(len(route.body)))
        self.end_headers()
        self.wfile.write(route.body[: route.cut_at])
        if route.cut_at is not None:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[Server]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.state = Server(url=f"http://127.0.0.1:{httpd.server_address[1]}")  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield httpd.state  # type: ignore[attr-defined]
    httpd.shutdown()
    httpd.server_close()


def registry_file(tmp_path: Path, *urls_and_hashes: tuple[str, str]) -> Registry:
    """A registry whose tiny-ru-en comes from the given URLs (tried in order), in the packaged file's format."""
    sources = "".join(
        f'\n[[model.sources]]\nkind = "url"\nformat = "opus-mt"\nurl = "{url}"\nsha256 = "{sha}"\n'
        for url, sha in urls_and_hashes
    )
    path = tmp_path / "registry.toml"
    model = f'[[model]]\nname = "{NAME}"\npairs = ["ru-en"]\nlicense = "CC-BY-4.0"\n'
    path.write_text(model + sources, encoding="utf-8")
    return Registry.from_toml(path)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_nothing_installed(models_dir: Path) -> None:
    assert not models_dir.exists() or list(models_dir.iterdir()) == []


def test_fetch_downloads_verifies_converts_and_installs(server: Server, tiny_marian_zip: Path, tmp_path: Path) -> None:
    server.routes["/ru-en/opus-tiny.zip"] = Route(tiny_marian_zip.read_bytes())
    url = f"{server.url}/ru-en/opus-tiny.zip"
    registry = registry_file(tmp_path, (url, sha256(tiny_marian_zip)))
    models_dir = tmp_path / "models"
    model = fetch_model(NAME, models_dir, progress=False, registry=registry)
    assert (model.name, model.pairs, model.source, model.quantization) == (NAME, [("ru", "en")], url, "int8")
    assert model.converter == "OpusMTConverter"
    assert [m.name for m in installed_models(models_dir)] == [NAME]
    assert [p.name for p in models_dir.iterdir()] == [NAME]  # no staging or download left behind
    again = fetch_model(NAME, models_dir, progress=False, registry=registry)
    assert again == model and server.hits == ["/ru-en/opus-tiny.zip"]  # already installed: no second download


def test_checksum_mismatch_installs_nothing(server: Server, tiny_marian_zip: Path, tmp_path: Path) -> None:
    server.routes["/opus-tiny.zip"] = Route(tiny_marian_zip.read_bytes())
    registry = registry_file(tmp_path, (f"{server.url}/opus-tiny.zip", "0" * 64))
    with pytest.raises(FetchError, match="checksum mismatch for opus-tiny.zip: expected sha256 0{64}") as caught:
        fetch_model(NAME, tmp_path / "models", progress=False, registry=registry)
    assert not caught.value.offline
    assert_nothing_installed(tmp_path / "models")


@pytest.mark.parametrize("failure", ["404", "refused"])
def test_unreachable_source_says_how_to_import_instead(server: Server, tmp_path: Path, failure: str) -> None:
    if failure == "refused":
        with socket.socket() as probe:  # a port that nothing listens on once closed
            probe.bind(("127.0.0.1", 0))
            url = f"http://127.0.0.1:{probe.getsockname()[1]}/ru-en/opus-tiny.zip"
    else:
        url = f"{server.url}/ru-en/opus-tiny.zip"
    registry = registry_file(tmp_path, (url, ""))
    with pytest.raises(FetchError) as caught:
        fetch_model(NAME, tmp_path / "models", progress=False, registry=registry, timeout=5)
    message = str(caught.value)
    assert caught.value.offline
    assert "the network is unreachable" in message
    assert ("HTTP 404" if failure == "404" else "cannot connect") in message
    assert f"download {url}" in message
    assert f"crosswire models import opus-tiny.zip --name {NAME}" in message
    assert "\n" not in message
    assert_nothing_installed(tmp_path / "models")


def test_interrupted_download_installs_nothing(server: Server, tiny_marian_zip: Path, tmp_path: Path) -> None:
    body = tiny_marian_zip.read_bytes()
    server.routes["/opus-tiny.zip"] = Route(body, cut_at=len(body) // 2)
    registry = registry_file(tmp_path, (f"{server.url}/opus-tiny.zip", ""))
    with pytest.raises(FetchError, match=f"interrupted after {len(body) // 2} of {len(body)} bytes") as caught:
        fetch_model(NAME, tmp_path / "models", progress=False, registry=registry)
    assert caught.value.offline
    assert_nothing_installed(tmp_path / "models")


def test_sources_are_tried_in_order(server: Server, tiny_marian_zip: Path, tmp_path: Path) -> None:
    server.routes["/mirror/opus-tiny.zip"] = Route(tiny_marian_zip.read_bytes())
    first, second = f"{server.url}/gone/opus-tiny.zip", f"{server.url}/mirror/opus-tiny.zip"
    registry = registry_file(tmp_path, (first, ""), (second, sha256(tiny_marian_zip)))
    model = fetch_model(NAME, tmp_path / "models", progress=False, registry=registry)
    assert model.source == second and server.hits == ["/gone/opus-tiny.zip", "/mirror/opus-tiny.zip"]


def test_replace_fetches_again(server: Server, tiny_marian_zip: Path, tmp_path: Path) -> None:
    server.routes["/opus-tiny.zip"] = Route(tiny_marian_zip.read_bytes())
    registry = registry_file(tmp_path, (f"{server.url}/opus-tiny.zip", ""))
    fetch_model(NAME, tmp_path / "models", progress=False, registry=registry)
    fetch_model(NAME, tmp_path / "models", progress=False, registry=registry, replace=True)
    assert len(server.hits) == 2 and [p.name for p in (tmp_path / "models").iterdir()] == [NAME]


def test_hugging_face_source_without_torch_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # as if torch were not installed
    path = tmp_path / "registry.toml"
    path.write_text(
        '[[model]]\nname = "hub-ru-en"\npairs = ["ru-en"]\n'
        '[[model.sources]]\nkind = "huggingface"\nformat = "transformers"\nrepo = "Helsinki-NLP/opus-mt-ru-en"\n',
        encoding="utf-8",
    )
    with pytest.raises(FetchError, match="needs torch and transformers \\(torch is missing\\)") as caught:
        fetch_model("hub-ru-en", tmp_path / "models", progress=False, registry=Registry.from_toml(path))
    assert not caught.value.offline
    assert_nothing_installed(tmp_path / "models")


def test_unknown_model_name(tmp_path: Path) -> None:
    with pytest.raises(UnknownModelError, match="unknown model 'nope'; known models: .*opus-mt-ru-en"):
        fetch_model("nope", tmp_path, progress=False)
