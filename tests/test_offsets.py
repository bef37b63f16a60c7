"""Offsets a caller in any language slices with: code points, UTF-8 bytes and UTF-16 code units.

Text outside the Basic Multilingual Plane (emoji, 𝔘) makes all three differ:
JavaScript's text.slice(start, end) and Go's text[start:end] must give the
sentence exactly, with the offsets made for them.
"""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from crosswire.convert import alignment_to_pb, unit_offsets
from crosswire.types import Alignment, AlignMode
from crosswire.v1 import segmentation_pb2, segmentation_pb2_grpc, translation_pb2, translation_pb2_grpc
from crosswire_server.segmentation import segment
from support.server import ServerThread

# Emoji and a mathematical letter (4 UTF-8 bytes, 2 UTF-16 units each), Cyrillic (2 bytes, 1 unit).
TEXT = ("\U0001F4F0 Переговоры в Брюсселе закончились. Стороны \U0001D518 разошлись \U0001F91D.\n\n"
        "Суд вынес приговор. \U0001F600 Все ушли.")


def utf8_slice(text: str, start: int, end: int) -> str:
    """What Go's text[start:end] gives (a string is its UTF-8 bytes)."""
    return text.encode("utf-8")[start:end].decode("utf-8")


def utf16_slice(text: str, start: int, end: int) -> str:
    """What JavaScript's text.slice(start, end) or Java's substring gives (UTF-16 code units)."""
    return text.encode("utf-16-le")[2 * start:2 * end].decode("utf-16-le")


def assert_slices(text: str, sentence: object, expected: str) -> None:
    assert text[sentence.start:sentence.end] == expected
    assert utf8_slice(text, sentence.start_utf8, sentence.end_utf8) == expected
    assert utf16_slice(text, sentence.start_utf16, sentence.end_utf16) == expected


def test_unit_offsets_slice_each_language_s_strings() -> None:
    spans = [(0, 1), (2, 12), (1, 3), (len(TEXT), len(TEXT))]
    for (start, end), units in zip(spans, unit_offsets(TEXT, spans)):
        assert utf8_slice(TEXT, units["start_utf8"], units["end_utf8"]) == TEXT[start:end]
        assert utf16_slice(TEXT, units["start_utf16"], units["end_utf16"]) == TEXT[start:end]
    assert unit_offsets("\U0001F4F0x", [(1, 2)]) == [{"start_utf8": 4, "end_utf8": 5, "start_utf16": 2, "end_utf16": 3}]


@pytest.fixture(scope="module")
def server(tiny_models_dir: Path):
    with ServerThread(tiny_models_dir, max_chars=2000, max_decoding_length=8) as handle:
        yield handle


@pytest.fixture
def channel(server: ServerThread):
    """A channel with gRPC's default settings, as any other language's stock client has."""
    with grpc.insecure_channel(server.address) as channel:
        yield channel


def test_segment_offsets_outside_the_basic_multilingual_plane(channel: grpc.Channel) -> None:
    stub = segmentation_pb2_grpc.SegmentationServiceStub(channel)
    response = stub.Segment(segmentation_pb2.SegmentRequest(text=TEXT, language="ru"), timeout=30)
    assert len(response.sentences) == 4
    for sentence in response.sentences:
        assert_slices(TEXT, sentence, sentence.text)
    last = response.sentences[-1]
    assert (last.end, last.end_utf16, last.end_utf8) == (len(TEXT), len(TEXT) + 4, len(TEXT.encode()))


def test_translate_offsets_outside_the_basic_multilingual_plane(channel: grpc.Channel) -> None:
    stub = translation_pb2_grpc.TranslationServiceStub(channel)
    request = translation_pb2.TranslateRequest(texts=["", TEXT], source_language="ru")
    empty, result = stub.Translate(request, timeout=60).results
    assert not empty.segments and len(result.segments) == 4
    for segment_ in result.segments:
        assert_slices(TEXT, segment_, segment_.source)
    stream = translation_pb2.TranslateStreamRequest(id="a", text=TEXT, source_language="ru")
    (item,) = stub.TranslateStream(iter([stream]), timeout=60)
    assert [(s.start_utf8, s.end_utf16) for s in item.result.segments] == [
        (s.start_utf8, s.end_utf16) for s in result.segments]


def test_aligned_documents_carry_the_offsets_too() -> None:
    source, target = segment(TEXT, "ru"), segment("\U0001F4F0 Talks ended. Both sides left.", "en")
    message = alignment_to_pb(Alignment(source, [target], ["t"], AlignMode.COMPARABLE, [], [], [[]]))
    for document, text in ((message.source, source.text), (message.targets[0], target.text)):
        assert document.sentences
        for sentence in document.sentences:
            assert_slices(text, sentence, sentence.text)
