"""A request is charged for its sentences once segmentation has counted them: a text of one-word sentences
costs far more memory than its size's estimate at the door, and is refused or waits like any other request."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from crosswire.v1 import segmentation_pb2, segmentation_pb2_grpc
from crosswire_server.alignment.inputs import prepare
from crosswire_server.budget import MemoryBudget
from crosswire_server.errors import InvalidInput, Overloaded
from crosswire_server.segmentation import SENTENCE_BYTES, segment
from support.gate import WAIT_S
from support.server import ServerThread

MB = 1024 * 1024


def test_need_grows_a_reservation_by_what_passes_its_size_and_frees_it_all() -> None:
    budget = MemoryBudget(10 * MB)
    with budget.reserve(2 * MB) as door:
        door.need(1 * MB)  # within its estimate
        assert door.size == 2 * MB and budget.used == 2 * MB
        door.need(3 * MB)  # 4 MB said in all
        assert door.size == 4 * MB and budget.used == 4 * MB
    assert budget.used == 0


def test_need_beyond_the_room_is_overloaded_and_beyond_the_budget_invalid() -> None:
    budget = MemoryBudget(10 * MB)
    other = budget.reserve(5 * MB)
    with budget.reserve(2 * MB) as door:
        with pytest.raises(Overloaded, match="memory_budget_mb"):
            door.need(6 * MB)  # 4 more than its 2: only 3 free
        with pytest.raises(InvalidInput, match="more than the whole limit memory_budget_mb=10"):
            door.need(9 * MB)  # 15 said in all: never
        assert door.size == 2 * MB
    other.release()
    assert budget.used == 0


def test_segmenting_inside_a_request_charges_its_sentences_and_outside_charges_nothing() -> None:
    budget = MemoryBudget(100 * MB)
    text = "Да. " * 2_000
    with budget.reserve(1) as door:
        assert len(segment(text, "ru").sentences) == 2_000
        assert door.size == 2_000 * SENTENCE_BYTES
        prepare("line\n" * 1_000, "ru", presegmented=True)  # one sentence a line, charged the same way
        assert door.size == 3_000 * SENTENCE_BYTES
    assert budget.used == 0
    assert len(segment(text, "ru").sentences) == 2_000  # no request: no budget to charge


@pytest.fixture(scope="module")
def server(tiny_models_dir: Path):
    # 2 MB of budget at 48 bytes per request byte: a 30 KB request is estimated 1.4 MB at the door.
    with ServerThread(tiny_models_dir, memory_budget_mb=2, memory_per_request_byte=48) as handle:
        yield handle


def test_a_text_of_one_word_sentences_is_refused_for_its_sentences_not_its_bytes(server: ServerThread) -> None:
    one_word = "Да. " * 5_000  # 30 KB: 5,000 sentences, 6.1 MB at SENTENCE_BYTES each
    news = ("Правительство объявило о новых мерах поддержки экономики, сообщил министр. " * 400)[:len(one_word)]
    assert len(one_word.encode()) == 30_000 and len(news.encode()) > 27_000
    with grpc.insecure_channel(server.address) as channel:
        stub = segmentation_pb2_grpc.SegmentationServiceStub(channel)
        with pytest.raises(grpc.RpcError) as info:
            stub.Segment(segmentation_pb2.SegmentRequest(text=one_word, language="ru"), timeout=WAIT_S)
        assert len(stub.Segment(segmentation_pb2.SegmentRequest(text=news, language="ru"),
                                timeout=WAIT_S).sentences) > 200  # the same characters of news: accepted
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "more than the whole limit memory_budget_mb=2" in info.value.details()
    assert server.server.runtime.budget.used == 0



def test_a_request_grown_by_its_sentences_keeps_its_claim_under_its_estimate_at_the_door() -> None:
    """Refused at its pair charge after growing from 1 to 2 MB, it claims room for both charges (6 MB) under
    its door estimate: sent again, it is known and let in when those 6 MB are free, not asked for 1 + 6."""
    budget = MemoryBudget(6.5 * MB, clock=lambda: 0.0)
    other = budget.reserve(3 * MB)
    door = budget.reserve(1 * MB)
    door.need(2 * MB)
    with pytest.raises(Overloaded):
        budget.reserve(4 * MB, beside=door.size, first=door.first)  # as alignment/jobs.py charges its pairs
    door.release()
    other.release()
    again = budget.reserve(1 * MB)
    again.need(2 * MB)
    budget.reserve(4 * MB, beside=again.size, first=again.first).release()
    again.release()
    assert budget.used == 0
