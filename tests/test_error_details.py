"""Errors carry the standard google.rpc details, decoded here with gRPC's own tools (grpc_status).

Which field (BadRequest), which limit (ErrorInfo, QuotaFailure), when to retry
(RetryInfo) and the request id (RequestInfo), beside the unchanged code and message.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from crosswire import AsyncClient, Client, CrosswireError
from crosswire.v1 import alignment_pb2, alignment_pb2_grpc, segmentation_pb2, segmentation_pb2_grpc
from crosswire.v1 import translation_pb2, translation_pb2_grpc
from crosswire_server.errors import Overloaded
from crosswire_server.rpc.details import rich_status
from support.gate import gate, wait_until
from support.server import ServerThread

SENTENCES = "Правительство объявило о мерах. Суд вынес приговор. Все ушли."


@pytest.fixture(scope="module")
def server(tiny_models_dir: Path):
    # One replica and one queued sentence at most, no cache: full_queue() fills them for real.
    with ServerThread(tiny_models_dir, max_chars=100, max_queued_sentences=1, retry_after_s=2.5,
                      inter_threads=1, cache_size=0) as handle:
        gate(handle.server.runtime.engine)
        yield handle


@contextlib.contextmanager
def full_queue(server: ServerThread):
    """The model's one replica busy and its queue (one sentence) full, until the block ends."""
    engine = server.server.runtime.engine
    translator = gate(engine)
    with grpc.insecure_channel(server.address) as channel:
        stub = translation_pb2_grpc.TranslationServiceStub(channel)
        with translator.closed():
            busy = stub.Translate.future(translation_pb2.TranslateRequest(texts=["Переговоры продолжатся."],
                                                                         source_language="ru"), timeout=60)
            translator.wait_for_batches(1)
            waiting = stub.Translate.future(translation_pb2.TranslateRequest(texts=["Туристы вернулись."],
                                                                            source_language="ru"), timeout=60)
            wait_until(lambda: engine.queue_depths()["tiny-ru-en"][0] == 1, "one sentence queued")
            yield
        assert len(busy.result().results) == len(waiting.result().results) == 1


@pytest.fixture
def channel(server: ServerThread):
    with grpc.insecure_channel(server.address) as channel:
        yield channel


def failure(call) -> tuple[grpc.RpcError, status_pb2.Status]:
    """The error of a failing call and its google.rpc.Status, read as any gRPC user would."""
    with pytest.raises(grpc.RpcError) as info:
        call()
    status = rpc_status.from_call(info.value)  # also checks code and message match the status line
    assert status is not None, "no grpc-status-details-bin trailer"
    return info.value, status


def details_of(status: status_pb2.Status) -> dict[str, object]:
    """The packed details by type name, unpacked."""
    found = {}
    for packed in status.details:
        for kind in (error_details_pb2.BadRequest, error_details_pb2.ErrorInfo, error_details_pb2.QuotaFailure,
                     error_details_pb2.RetryInfo, error_details_pb2.RequestInfo):
            if packed.Is(kind.DESCRIPTOR):
                found[kind.__name__] = kind()
                packed.Unpack(found[kind.__name__])
    return found


def test_a_limit_names_the_field_and_the_limit(channel: grpc.Channel) -> None:
    stub = segmentation_pb2_grpc.SegmentationServiceStub(channel)
    error, status = failure(lambda: stub.Segment(segmentation_pb2.SegmentRequest(text="а" * 101), timeout=30))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == "text has 101 characters, over the limit max_chars=100"
    details = details_of(status)
    (violation,) = details["BadRequest"].field_violations
    assert (violation.field, violation.description) == ("text", error.details())
    info = details["ErrorInfo"]
    assert (info.reason, info.domain) == ("INVALID_INPUT", "crosswire.v1")
    assert dict(info.metadata) == {"limit": "max_chars", "limit_value": "100", "field": "text"}
    assert [v.subject for v in details["QuotaFailure"].violations] == ["max_chars"]
    assert "RetryInfo" not in details
    trailers = dict(error.trailing_metadata())
    assert details["RequestInfo"].request_id == trailers["x-request-id"]


def test_a_bad_field_inside_a_list_is_named_with_its_position(channel: grpc.Channel) -> None:
    stub = alignment_pb2_grpc.AlignmentServiceStub(channel)
    request = alignment_pb2.AlignRequest(source=alignment_pb2.InputDocument(text="Да."),
                                         targets=[alignment_pb2.InputDocument(text="Yes.")], roles=[1, 0])
    error, status = failure(lambda: stub.Align(request, timeout=60))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    (violation,) = details_of(status)["BadRequest"].field_violations
    assert violation.field == "roles[1]"
    assert "QuotaFailure" not in details_of(status)


def test_compare_names_its_own_fields(channel: grpc.Channel) -> None:
    stub = alignment_pb2_grpc.AlignmentServiceStub(channel)
    request = alignment_pb2.CompareRequest(report=alignment_pb2.InputDocument(text="Суд вынес приговор."),
                                           articles=[alignment_pb2.InputDocument(text="The court ruled."),
                                                     alignment_pb2.InputDocument(text="")])
    error, status = failure(lambda: stub.Compare(request, timeout=60))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    (violation,) = details_of(status)["BadRequest"].field_violations
    assert violation.field == "articles[1]"


def test_an_unsupported_pair_has_a_reason_of_its_own(channel: grpc.Channel) -> None:
    stub = translation_pb2_grpc.TranslationServiceStub(channel)
    request = translation_pb2.TranslateRequest(texts=["Hallo."], source_language="de")
    error, status = failure(lambda: stub.Translate(request, timeout=30))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert details_of(status)["ErrorInfo"].reason == "UNSUPPORTED_PAIR"


def test_a_full_queue_says_when_to_retry(server: ServerThread, channel: grpc.Channel) -> None:
    stub = translation_pb2_grpc.TranslationServiceStub(channel)
    request = translation_pb2.TranslateRequest(texts=["Правительство объявило о мерах."], source_language="ru")
    with full_queue(server):
        error, status = failure(lambda: stub.Translate(request, timeout=30))
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    details = details_of(status)
    assert details["RetryInfo"].retry_delay.ToTimedelta().total_seconds() == 2.5
    assert details["ErrorInfo"].reason == "OVERLOADED"
    assert [v.subject for v in details["QuotaFailure"].violations] == ["max_queued_sentences"]


def test_the_python_client_exposes_the_decoded_details(server: ServerThread) -> None:
    with Client(server.address, timeout=30) as client:
        with pytest.raises(CrosswireError) as info:
            client.segment("а" * 101)
        error = info.value
        assert error.details == "text has 101 characters, over the limit max_chars=100"
        assert (error.reason, error.limit, error.retry_after) == ("INVALID_INPUT", "max_chars", None)
        assert error.violations == [("text", error.details)]
        assert len(error.request_id) == 16 and error.status.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
        with full_queue(server), pytest.raises(CrosswireError) as info:
            client.translate(["Правительство объявило о мерах."], source="ru")
        assert (info.value.reason, info.value.retry_after) == ("OVERLOADED", 2.5)


def test_the_async_client_decodes_them_too(server: ServerThread) -> None:
    async def call() -> CrosswireError:
        async with AsyncClient(server.address, timeout=30) as client:
            with pytest.raises(CrosswireError) as info:
                await client.segment("а" * 101)
            return info.value

    error = asyncio.run(call())
    assert (error.limit, error.violations[0][0], len(error.request_id)) == ("max_chars", "text", 16)


def test_an_error_without_details_still_reads() -> None:
    error = CrosswireError(grpc.StatusCode.UNAVAILABLE, "connection refused")
    assert (error.status, error.violations, error.limit, error.retry_after) == (None, [], "", None)
    assert str(error) == "UNAVAILABLE: connection refused"


def test_the_message_is_not_mistaken_for_a_field() -> None:
    status = rich_status(grpc.StatusCode.RESOURCE_EXHAUSTED, "translation queue is full; limit max_queued_sentences=1",
                         "id", Overloaded("translation queue is full; limit max_queued_sentences=1"))
    assert "BadRequest" not in details_of(status) and "RetryInfo" not in details_of(status)
