"""No reply larger than a stock gRPC client accepts (4 MiB): such an answer is refused, naming the limit.

Without the bound, Segment of a text well within max_chars answered 5 MB: the
server logged OK while every default-configured client failed with "Received
message larger than max".
"""

from __future__ import annotations

import logging
from pathlib import Path

import grpc
import pytest

from crosswire import Client, CrosswireError
from crosswire.v1 import segmentation_pb2, segmentation_pb2_grpc, translation_pb2, translation_pb2_grpc
from support.server import ServerThread

SENTENCE = "Правительство объявило о новых мерах поддержки экономики."
# 700,000 characters (under the default max_chars, a 1 MB request) whose segmentation,
# 175,000 sentences, is 7.1 MB (4.35 MB before the offsets in other units were added).
MANY_SHORT_SENTENCES = "Да. " * 175_000


def test_a_default_client_gets_a_clear_refusal_instead_of_a_transport_error(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="crosswire.requests")
    with ServerThread(tmp_path / "no-models", wait_ready=False) as server:
        assert server.config.max_response_bytes == 4 * 1024 * 1024
        with grpc.insecure_channel(server.address) as channel:  # gRPC's defaults: 4 MiB received at most
            stub = segmentation_pb2_grpc.SegmentationServiceStub(channel)
            with pytest.raises(grpc.RpcError) as info:
                stub.Segment(segmentation_pb2.SegmentRequest(text=MANY_SHORT_SENTENCES, language="ru"), timeout=120)
            assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            message = info.value.details()
            assert "over the limit max_response_bytes=4194304" in message and "send less text" in message
            size = int(message.split("the response would be ")[1].split()[0])
            assert size > 4 * 1024 * 1024
            # Half the text fits, and comes back.
            half = stub.Segment(segmentation_pb2.SegmentRequest(text=MANY_SHORT_SENTENCES[:350_000],
                                                                language="ru"), timeout=120)
            assert len(half.sentences) == 87_500
        with Client(server.address, timeout=120) as client:  # raises its own receive limit: same answer
            with pytest.raises(CrosswireError) as error:
                client.segment(MANY_SHORT_SENTENCES, "ru")
            assert error.value.code == grpc.StatusCode.INVALID_ARGUMENT
            assert error.value.limit == "max_response_bytes"
    statuses = [r.fields["status"] for r in caplog.records if r.name == "crosswire.requests"]
    assert sorted(statuses) == ["INVALID_ARGUMENT", "INVALID_ARGUMENT", "OK"]  # logged as refused, not OK


@pytest.fixture(scope="module")
def small_replies(tiny_models_dir: Path):
    with ServerThread(tiny_models_dir, max_response_bytes=120, max_decoding_length=8) as handle:
        yield handle


def test_translate_and_each_stream_item_are_bounded_too(small_replies: ServerThread) -> None:
    with grpc.insecure_channel(small_replies.address) as channel:
        stub = translation_pb2_grpc.TranslationServiceStub(channel)
        request = translation_pb2.TranslateRequest(texts=[SENTENCE], source_language="ru")
        with pytest.raises(grpc.RpcError) as info:
            stub.Translate(request, timeout=60)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "max_response_bytes=120" in info.value.details() and "num_hypotheses" in info.value.details()
        items = [translation_pb2.TranslateStreamRequest(id="long", text=SENTENCE, source_language="ru"),
                 translation_pb2.TranslateStreamRequest(id="empty", text="", source_language="ru")]
        replies = {r.id: r for r in stub.TranslateStream(iter(items), timeout=60)}
        assert replies["long"].error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
        assert "max_response_bytes=120" in replies["long"].error.message
        assert replies["empty"].HasField("result")
