"""A Segment answer sure to be over max_response_bytes is refused before it is built, by a floor that is
never above the real size; the leaner conversion gives the same messages as one built sentence by sentence."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from crosswire.convert import document_to_pb, sentence_to_pb, unit_offsets
from crosswire.v1 import segmentation_pb2, segmentation_pb2_grpc
from crosswire_server.rpc.segmentation import _check_floor
from crosswire_server.rpc.common import ResponseTooLarge
from crosswire_server.segmentation import segment
from support.server import ServerThread

TEXTS = [
    "Да. Нет. " * 500,
    "Правительство объявило о мерах.\n\nСуд вынес приговор. «Мы готовы», — заявил он.",
    "\U0001F4F0 Новость. " * 50 + "\u200bскрытый\u200b текст. Конец.",
    "МОСКВА, 5 мая — РИА Новости. Текст статьи. Ещё одно предложение!",
]


@pytest.mark.parametrize("text", TEXTS)
def test_the_floor_is_never_above_the_real_size(text: str) -> None:
    document = segment(text, "ru")
    size = document_to_pb(document).ByteSize()
    _check_floor(document, size)  # a limit equal to the real size must pass
    with pytest.raises(ResponseTooLarge, match="max_response_bytes"):
        _check_floor(document, len(document.sentences) * 10)


@pytest.mark.parametrize("text", TEXTS)
def test_the_response_is_what_sentence_by_sentence_conversion_gives(text: str) -> None:
    document = segment(text, "ru")
    offsets = unit_offsets(text, [(s.start, s.end) for s in document.sentences])
    expected = [sentence_to_pb(s, o) for s, o in zip(document.sentences, offsets)]
    assert list(document_to_pb(document).sentences) == expected


def test_a_segment_answer_sure_to_be_too_large_is_refused_naming_the_limit(tiny_models_dir: Path) -> None:
    with ServerThread(tiny_models_dir, wait_ready=False, max_response_bytes=20_000) as handle:
        with grpc.insecure_channel(handle.address) as channel:
            stub = segmentation_pb2_grpc.SegmentationServiceStub(channel)
            with pytest.raises(grpc.RpcError) as info:
                stub.Segment(segmentation_pb2.SegmentRequest(text="Да. Нет. " * 2000, language="ru"), timeout=60)
            small = stub.Segment(segmentation_pb2.SegmentRequest(text="Да. Нет. " * 100, language="ru"), timeout=60)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "4000 sentences" in info.value.details() and "max_response_bytes=20000" in info.value.details()
    assert len(small.sentences) == 200
