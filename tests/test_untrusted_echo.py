"""What a client sends comes back into errors and logs only clipped and escaped: a huge field
cannot blow the metadata limit or the log, a newline cannot forge a log line, and a strange
x-request-id is replaced."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import grpc
import pytest

from crosswire.v1 import translation_pb2, translation_pb2_grpc
from crosswire_server.logs import MAX_FIELD_CHARS, JsonFormatter, TextFormatter, clip
from support.server import ServerThread


@pytest.fixture(scope="module")
def server(tiny_models_dir: Path):
    with ServerThread(tiny_models_dir) as handle:
        yield handle


def call_translate(server: ServerThread, request: translation_pb2.TranslateRequest, request_id: str | None = None):
    with grpc.insecure_channel(server.address) as channel:
        stub = translation_pb2_grpc.TranslationServiceStub(channel)
        metadata = (("x-request-id", request_id),) if request_id is not None else None
        try:
            stub.Translate(request, timeout=30, metadata=metadata)
        except grpc.RpcError as error:
            return error
    raise AssertionError("the request was expected to fail")


def test_a_huge_field_gets_a_short_invalid_argument(server: ServerThread) -> None:
    error = call_translate(server, translation_pb2.TranslateRequest(texts=["Привет."], source_language="x" * 20_000))
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert len(error.details()) < 2 * MAX_FIELD_CHARS
    assert "more characters" in error.details()


def test_a_request_id_that_is_not_an_id_is_replaced(server: ServerThread) -> None:
    for given in ("a" * 4000, "has spaces; and=more", ""):  # gRPC itself refuses newlines in metadata
        error = call_translate(server, translation_pb2.TranslateRequest(texts=["x"], source_language="qq"), given)
        echoed = dict(error.trailing_metadata())["x-request-id"]
        assert echoed != given and len(echoed) == 16
    error = call_translate(server, translation_pb2.TranslateRequest(texts=["x"], source_language="qq"), "req-42.a/b")
    assert dict(error.trailing_metadata())["x-request-id"] == "req-42.a/b"


def record(**fields: object) -> logging.LogRecord:
    entry = logging.LogRecord("crosswire.server", logging.INFO, __file__, 1, "request", None, None)
    entry.fields = fields
    return entry


def test_a_newline_cannot_forge_a_text_log_line() -> None:
    line = TextFormatter().format(record(error="bad language\n2026-12-02 info request id=forged status=OK"))
    assert "\n" not in line and "\\n" in line


def test_a_megabyte_field_makes_a_short_json_log_line() -> None:
    line = JsonFormatter().format(record(error="x" * 2**20, id="ok"))
    assert len(line) < 2 * MAX_FIELD_CHARS
    assert json.loads(line)["error"].endswith("more characters)")


def test_clip_escapes_controls_and_says_what_it_cut() -> None:
    assert clip("a\nb\x1b[31m") == "a\\nb\\x1b[31m"
    assert clip("x" * 1005, 1000) == "x" * 1000 + "… (5 more characters)"
