"""Align and Compare charge the memory budget per sentence pair (their matrices grow with source x target)
and per source sentence and target document (each row's candidates in each document), after segmentation
and before scoring; a request over its own limits is refused as such, never as an overload."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import pytest

from crosswire.v1 import alignment_pb2, alignment_pb2_grpc
from crosswire_server.alignment import Aligner
from crosswire_server.alignment.aligner import AlignmentLimits
from crosswire_server.alignment.jobs import PAIR_BYTES, ROW_DOCUMENT_BYTES, AlignJob, align_texts, compare_texts
from crosswire_server.budget import MemoryBudget
from crosswire_server.errors import InvalidInput, Overloaded
from support.server import ServerThread


class Recording(MemoryBudget):
    """A budget that remembers what it was asked to reserve."""

    def __init__(self, capacity: int) -> None:
        super().__init__(capacity)
        self.sizes: list[int] = []

    def reserve(self, size: int, beside: int = 0, first: int = 0):
        self.sizes.append(size)
        return super().reserve(size, beside, first)


def lines(word: str, count: int) -> str:
    return "\n".join(f"{word} {i} {'x' * (i % 7)}." for i in range(count))


def job(sources: int, targets: int, documents: int = 1) -> AlignJob:
    return AlignJob(lines("Предложение", sources), [lines("Sentence", targets)] * documents, presegmented=True)


@pytest.fixture(scope="module")
def aligner() -> Aligner:
    return Aligner(limits=AlignmentLimits(max_targets=5, max_sentences_per_document=40))


def test_a_larger_align_is_charged_more_and_released(aligner: Aligner) -> None:
    budget = Recording(10**9)
    asyncio.run(align_texts(aligner, job(2, 3), budget=budget))
    asyncio.run(align_texts(aligner, job(10, 12, documents=2), budget=budget))
    asyncio.run(compare_texts(aligner, job(4, 5, documents=3), budget=budget))
    assert budget.sizes == [6 * PAIR_BYTES + 2 * ROW_DOCUMENT_BYTES, 240 * PAIR_BYTES + 20 * ROW_DOCUMENT_BYTES,
                            60 * PAIR_BYTES + 12 * ROW_DOCUMENT_BYTES]
    assert budget.used == 0


def test_the_same_pairs_in_more_documents_are_charged_more(aligner: Aligner) -> None:
    budget = Recording(10**9)
    asyncio.run(align_texts(aligner, job(10, 24), budget=budget))
    asyncio.run(align_texts(aligner, job(10, 8, documents=3), budget=budget))
    assert budget.sizes[1] - budget.sizes[0] == 2 * 10 * ROW_DOCUMENT_BYTES


def test_pairs_beyond_the_whole_budget_are_invalid_input(aligner: Aligner) -> None:
    budget = MemoryBudget(100 * PAIR_BYTES + 5 * ROW_DOCUMENT_BYTES)
    with pytest.raises(InvalidInput, match="memory_budget_mb") as refusal:
        asyncio.run(align_texts(aligner, job(10, 20), budget=budget))
    assert refusal.value.limit == "memory_budget_mb"
    assert asyncio.run(align_texts(aligner, job(5, 20), budget=budget)).links  # 100 pairs fit
    assert budget.used == 0


def test_a_full_budget_still_names_the_sentence_limit(aligner: Aligner) -> None:
    budget = MemoryBudget(10**6)
    other = budget.reserve(10**6)  # another request's (not made current here, as `with` would)
    with pytest.raises(Overloaded):
        asyncio.run(align_texts(aligner, job(2, 3), budget=budget))
    with pytest.raises(InvalidInput, match="the limit is 40 per document"):
        asyncio.run(align_texts(aligner, job(2, 41), budget=budget))
    other.release()


@pytest.mark.parametrize("per_request_byte, sentences", [(1, 150), (100, 120)],
                         ids=["pairs over the budget", "pairs over it beside the request's own estimate"])
def test_an_align_that_could_never_fit_the_budget_is_invalid_argument_over_grpc(
        tiny_models_dir: Path, per_request_byte: int, sentences: int) -> None:
    """1 MiB of budget: 150 x 150 pairs need 1.03 MiB; 120 x 120 pairs (0.66 MiB) fit alone, and so does the
    request's estimate at 100 B a byte, but the door holds that estimate while the pairs are charged."""
    with ServerThread(tiny_models_dir, memory_budget_mb=1, memory_per_request_byte=per_request_byte) as server:
        with grpc.insecure_channel(server.address) as channel:
            stub = alignment_pb2_grpc.AlignmentServiceStub(channel)
            document = alignment_pb2.InputDocument
            request = alignment_pb2.AlignRequest(
                source=document(name="s", text=lines("Предложение", sentences)),
                targets=[document(name="t", text=lines("Sentence", sentences))], presegmented=True)
            at_the_door = per_request_byte * request.ByteSize()
            pairs = sentences * sentences * PAIR_BYTES + sentences * ROW_DOCUMENT_BYTES
            assert pairs > 2**20 or max(at_the_door, pairs) < 2**20 < at_the_door + pairs
            with pytest.raises(grpc.RpcError) as info:
                stub.Align(request, timeout=120)  # never RESOURCE_EXHAUSTED: retrying could not help
            request.source.text = lines("Предложение", 20)
            assert stub.Align(request, timeout=120).links
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "memory_budget_mb=1" in info.value.details()


def test_source_sentences_times_documents_over_their_limit_is_invalid_input() -> None:
    aligner = Aligner(limits=AlignmentLimits(max_targets=5, max_sentences_per_document=40, max_source_by_targets=12))
    over = job(5, 2, documents=3)  # 5 x 3 = 15
    with pytest.raises(InvalidInput, match="5 sentences against 3 target documents") as refusal:
        asyncio.run(align_texts(aligner, over))
    assert refusal.value.limit == "max_align_source_by_targets"
    asyncio.run(align_texts(aligner, job(4, 2, documents=3)))  # 4 x 3 = 12, at the limit: aligned
