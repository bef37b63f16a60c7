"""Bytes that are not a valid message for the method: INVALID_ARGUMENT naming the method and the field,
a request log line, and for TranslateStream an error result for that frame only, the stream going on."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from crosswire.v1 import alignment_pb2, segmentation_pb2, translation_pb2
from crosswire_server.rpc.malformed import locate
from support.server import ServerThread

SEGMENT = "/crosswire.v1.SegmentationService/Segment"
TRANSLATE = "/crosswire.v1.TranslationService/Translate"
TRANSLATE_STREAM = "/crosswire.v1.TranslationService/TranslateStream"
ALIGN = "/crosswire.v1.AlignmentService/Align"
HEALTH_CHECK = "/grpc.health.v1.Health/Check"
BAD_UTF8 = b"\x0a\x04ab\xff\xfe"  # field 1 (a string), 4 bytes, not UTF-8


@pytest.fixture(scope="module")
def server(tiny_models_dir: Path):
    with ServerThread(tiny_models_dir) as handle:
        yield handle


@pytest.fixture
def channel(server: ServerThread):
    with grpc.insecure_channel(server.address) as channel:
        yield channel


def refused(channel: grpc.Channel, method: str, data: bytes) -> tuple[grpc.RpcError, list[str]]:
    """Send raw bytes to `method`; the error and the BadRequest field paths of its details."""
    with pytest.raises(grpc.RpcError) as info:
        channel.unary_unary(method)(data, timeout=30)
    status = rpc_status.from_call(info.value)
    fields = []
    for packed in status.details if status else ():
        if packed.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            packed.Unpack(bad)
            fields += [violation.field for violation in bad.field_violations]
    return info.value, fields


def test_bad_utf8_in_a_string_field_names_the_method_and_field(channel: grpc.Channel) -> None:
    data = segmentation_pb2.SegmentRequest(language="ru").SerializeToString() + b"\x0a\x02\xc3\x28"
    error, fields = refused(channel, SEGMENT, data)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert SEGMENT in error.details() and "crosswire.v1.SegmentRequest" in error.details()
    assert "text: is not valid UTF-8" in error.details()
    assert fields == ["text"]


def test_a_truncated_varint_is_invalid_argument(channel: grpc.Channel) -> None:
    data = translation_pb2.TranslateRequest(texts=["Да."]).SerializeToString() + b"\x30\xff"  # presegmented, cut
    error, fields = refused(channel, TRANSLATE, data)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "presegmented: the value is cut short (truncated varint)" in error.details()
    assert fields == ["presegmented"]


def test_a_bad_field_inside_a_nested_message_is_named_by_its_path(channel: grpc.Channel) -> None:
    good = alignment_pb2.AlignRequest(targets=[alignment_pb2.InputDocument(text="Yes.")] * 2).SerializeToString()
    bad_target = b"\x12\x06" + BAD_UTF8  # targets (field 2) whose name (field 1) is not UTF-8
    error, fields = refused(channel, ALIGN, good + bad_target)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert fields == ["targets[2].name"]


def test_a_length_past_the_end_and_plain_garbage(channel: grpc.Channel) -> None:
    error, fields = refused(channel, SEGMENT, b"\x0a\x7fshort")
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and fields == ["text"]
    assert "runs past the end" in error.details()
    error, _ = refused(channel, SEGMENT, b"\xff" * 11)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_every_service_is_covered_health_included(channel: grpc.Channel) -> None:
    error, fields = refused(channel, HEALTH_CHECK, BAD_UTF8)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "grpc.health.v1.HealthCheckRequest" in error.details() and fields == ["service"]


class Records(logging.Handler):
    """Collects request log lines; `wait` for one that matches (the line is written as the status goes out)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []
        self._changed = threading.Condition()

    def emit(self, record: logging.LogRecord) -> None:
        with self._changed:
            self.records.append(record)
            self._changed.notify_all()

    def wait(self, matches) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: any(matches(r.fields) for r in self.records), timeout=30)


def test_a_refused_request_leaves_a_log_line(channel: grpc.Channel) -> None:
    logger, records = logging.getLogger("crosswire.requests"), Records()
    level = logger.level
    logger.addHandler(records)
    logger.setLevel(logging.INFO)
    try:
        refused(channel, SEGMENT, BAD_UTF8)
        assert records.wait(lambda f: f["method"] == "Segment" and f["status"] == "INVALID_ARGUMENT"
                            and "UTF-8" in f["error"] and f["bytes"] == len(BAD_UTF8))
    finally:
        logger.removeHandler(records)
        logger.setLevel(level)


def test_a_bad_stream_frame_gets_its_own_error_and_the_stream_goes_on(channel: grpc.Channel) -> None:
    frames = [
        translation_pb2.TranslateStreamRequest(id="a", text="Суд вынес приговор.", source_language="ru"),
        None,
        translation_pb2.TranslateStreamRequest(id="c", text="Все ушли.", source_language="ru"),
    ]
    raw = [BAD_UTF8 if f is None else f.SerializeToString() for f in frames]
    decode = translation_pb2.TranslateStreamResponse.FromString
    call = channel.stream_stream(TRANSLATE_STREAM, response_deserializer=decode)
    responses = sorted(call(iter(raw), timeout=60), key=lambda r: r.sequence)
    assert [r.sequence for r in responses] == [0, 1, 2]
    assert [r.WhichOneof("outcome") for r in responses] == ["result", "error", "result"]
    assert responses[1].error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert "id: is not valid UTF-8" in responses[1].error.message
    assert [responses[0].id, responses[2].id] == ["a", "c"]


def test_locate_names_fields_and_finds_nothing_in_valid_bytes() -> None:
    options = translation_pb2.TranslationOptions(beam_size=2)
    request = translation_pb2.TranslateRequest(texts=["a", "b"], options=options)
    data = request.SerializeToString()
    assert locate(request.DESCRIPTOR, data) == ("", "")
    assert locate(request.DESCRIPTOR, data + b"\x0a\x01\x80")[0] == "texts[2]"
    assert locate(request.DESCRIPTOR, data + b"\x2a\x02\x08\x80")[0] == "options.beam_size"
    packed_roles = b"\x3a\x03\x01\x02\x80"  # roles 1 and 2, then a cut varint
    assert locate(request.DESCRIPTOR, data + packed_roles) == ("roles[2]", "the value is cut short (truncated varint)")
    assert locate(request.DESCRIPTOR, data + b"\x38\x01" + packed_roles)[0] == "roles[3]"
    assert "wire type 7" in locate(request.DESCRIPTOR, b"\x0f")[1]
