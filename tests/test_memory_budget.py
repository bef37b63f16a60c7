"""The memory budget across requests in progress: RESOURCE_EXHAUSTED with a retry delay while it is taken,
INVALID_ARGUMENT for a request estimated larger than all of it, and room again once a request ends."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from crosswire.v1 import segmentation_pb2, segmentation_pb2_grpc, translation_pb2, translation_pb2_grpc
from crosswire_server.alignment.jobs import PAIR_BYTES, ROW_DOCUMENT_BYTES
from crosswire_server.budget import CLAIM_S, MemoryBudget, in_thread
from crosswire_server.config import ServerConfig
from crosswire_server.errors import InvalidInput, Overloaded
from crosswire_server.segmentation import SENTENCE_BYTES
from support.gate import WAIT_S, gate
from support.server import ServerThread

MB = 1024 * 1024


def test_reservations_add_up_and_release() -> None:
    budget = MemoryBudget(10 * MB)
    first = budget.reserve(6 * MB)
    with budget.reserve(4 * MB):
        assert budget.used == 10 * MB
        with pytest.raises(Overloaded, match="memory_budget_mb") as full:
            budget.reserve(1 * MB)
        assert full.value.limit == "memory_budget_mb"
    first.release()
    first.release()  # twice is harmless
    assert budget.used == 0
    with pytest.raises(InvalidInput, match="more than the whole limit memory_budget_mb=10"):
        budget.reserve(11 * MB)
    assert MemoryBudget(0).reserve(10**12).size == 10**12  # 0 = no budget


def test_a_refused_large_request_is_not_starved_by_smaller_ones() -> None:
    """Its refusal keeps room free for it (CLAIM_S seconds): smaller requests that would fill that room wait,
    and it gets in once the requests before it end, however many small ones keep coming."""
    now = [0.0]
    budget = MemoryBudget(10 * MB, clock=lambda: now[0])
    running = budget.reserve(6 * MB)
    with pytest.raises(Overloaded):
        budget.reserve(5 * MB)  # the large one: only 4 MB free
    with pytest.raises(Overloaded, match="5 MB are kept for a request refused before"):
        budget.reserve(1 * MB)  # would fit, but would leave less than 5 MB once the 6 MB end
    running.release()
    small = budget.reserve(4 * MB)  # 4 + the 5 kept still fit in 10: it may run meanwhile
    with pytest.raises(Overloaded):
        budget.reserve(2 * MB)  # this one would not
    large = budget.reserve(5 * MB)  # the large one again: its room is there, and its claim ends
    assert budget.reserve(1 * MB).size == MB  # smaller ones are let in again
    for reservation in (small, large):
        reservation.release()


def test_a_claim_holds_while_its_request_comes_back_and_lapses_when_it_does_not() -> None:
    now = [0.0]
    budget = MemoryBudget(10 * MB, clock=lambda: now[0])
    running = budget.reserve(6 * MB)
    with pytest.raises(Overloaded):
        budget.reserve(5 * MB)
    with pytest.raises(Overloaded):
        budget.reserve(1 * MB)
    now[0] += CLAIM_S / 2
    with pytest.raises(Overloaded):
        budget.reserve(5 * MB)  # sent again: the claim holds on
    now[0] += CLAIM_S * 0.75
    with pytest.raises(Overloaded):
        budget.reserve(1 * MB)  # CLAIM_S after the first refusal, but not after the last
    now[0] += CLAIM_S
    assert budget.reserve(1 * MB).size == MB
    running.release()


def test_large_requests_get_in_in_the_order_they_were_first_refused_whatever_their_sizes() -> None:
    """A smaller large request refused first is not starved by larger ones that keep coming (a claim per size)."""
    now = [0.0]
    budget = MemoryBudget(10 * MB, clock=lambda: now[0])
    running = budget.reserve(6 * MB)
    with pytest.raises(Overloaded):
        budget.reserve(6 * MB)  # A, first
    now[0] = 1.0
    with pytest.raises(Overloaded):
        budget.reserve(5 * MB)  # B: no claim, since A's and B's together would not fit in the budget
    running.release()
    first = budget.reserve(6 * MB)  # A again: nothing was refused before it
    with pytest.raises(Overloaded):
        budget.reserve(5 * MB)  # B again: now it claims
    now[0] = 2.0
    with pytest.raises(Overloaded, match="5 MB are kept for a request refused before"):
        budget.reserve(6 * MB)  # another of A's size, after B
    first.release()
    with pytest.raises(Overloaded):
        budget.reserve(6 * MB)  # B is older: this one would leave it no room
    second = budget.reserve(5 * MB)  # B gets in
    assert budget.used == 5 * MB
    second.release()
    assert budget.reserve(6 * MB).size == 6 * MB  # then the later one


def test_a_request_charged_twice_claims_room_for_both_charges() -> None:
    """An Align's pairs are charged beside its estimate at the door: refused, it claims room for the two
    together, so small calls cannot keep it out by leaving room for its pairs but not for its door."""
    budget = MemoryBudget(10 * MB, clock=lambda: 0.0)
    running = budget.reserve(4 * MB)
    door = budget.reserve(2 * MB)
    with pytest.raises(Overloaded):
        budget.reserve(5 * MB, beside=2 * MB)  # its pairs: 4 + 2 + 5 > 10
    door.release()
    with pytest.raises(Overloaded, match="7 MB are kept for a request refused before"):
        budget.reserve(1 * MB)  # 4 + 1 would leave 5 for the pairs, not 7 for both charges
    with pytest.raises(Overloaded, match="needs about 7 MB"):
        budget.reserve(2 * MB)  # the Align again, at the door
    running.release()
    door = budget.reserve(2 * MB)
    assert budget.reserve(1 * MB).size == MB  # what the claim leaves beside the door
    with pytest.raises(Overloaded):
        budget.reserve(1 * MB)
    pairs = budget.reserve(5 * MB, beside=2 * MB)
    assert budget.used == 8 * MB
    for reservation in (door, pairs):
        reservation.release()
    assert budget.reserve(9 * MB).size == 9 * MB  # the claim ended with its second charge


def test_claims_never_hold_more_than_the_budget() -> None:
    """Refused requests that never come back leave claims that hold room for nothing until they lapse."""
    now = [0.0]
    budget = MemoryBudget(10 * MB, clock=lambda: now[0])
    running = budget.reserve(7 * MB)
    for size in (4, 5, 6, 3):
        with pytest.raises(Overloaded):
            budget.reserve(size * MB)  # 4 and 5 claim; 6 and 3 would take the claims past 10 MB
    running.release()
    with pytest.raises(Overloaded, match="9 MB are kept for 2 requests refused before"):
        budget.reserve(2 * MB)
    assert budget.reserve(1 * MB).size == MB  # what the claims leave is still used
    now[0] = CLAIM_S
    assert budget.reserve(9 * MB).size == 9 * MB  # the claims lapsed: their requests did not come back


def test_the_estimate_scales_with_the_request() -> None:
    assert MemoryBudget(MB, per_request_byte=96).estimate(1000) == 96_000


@pytest.fixture(scope="module")
def server(tiny_models_dir: Path):
    # 1 MB of budget at 100 bytes per request byte: a request of about 6 KB takes 60% of it.
    with ServerThread(tiny_models_dir, memory_budget_mb=1, memory_per_request_byte=100, inter_threads=1,
                      cache_size=0, max_decoding_length=4, retry_after_s=3) as handle:
        gate(handle.server.runtime.engine)
        yield handle


def text_of(size: int) -> str:
    sentence = "Правительство объявило о новых мерах поддержки. "
    return "".join(f"Новость {i}. {sentence}" for i in range(size // 100))[:size // 2]  # 2 bytes a letter


def details(error: grpc.RpcError) -> list[str]:
    found = []
    for packed in rpc_status.from_call(error).details:
        for kind in (error_details_pb2.RetryInfo, error_details_pb2.QuotaFailure):
            if packed.Is(kind.DESCRIPTOR):
                found.append(kind.__name__)
    return found


def test_a_request_larger_than_the_budget_is_invalid_argument(server: ServerThread) -> None:
    with grpc.insecure_channel(server.address) as channel:
        stub = segmentation_pb2_grpc.SegmentationServiceStub(channel)
        with pytest.raises(grpc.RpcError) as info:
            stub.Segment(segmentation_pb2.SegmentRequest(text=text_of(12_000), language="ru"), timeout=WAIT_S)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "memory_budget_mb=1" in info.value.details() and "RetryInfo" not in details(info.value)


def test_a_taken_budget_is_resource_exhausted_until_the_request_ends(server: ServerThread) -> None:
    translator = gate(server.server.runtime.engine)
    request = translation_pb2.TranslateRequest(texts=[text_of(6_000)], source_language="ru")
    with grpc.insecure_channel(server.address) as channel:
        stub = translation_pb2_grpc.TranslationServiceStub(channel)
        with translator.closed():
            running = stub.Translate.future(request, timeout=WAIT_S)
            translator.wait_for_batches(1)  # in flight, holding its part of the budget
            assert server.server.runtime.budget.used > 0.5 * MB
            with pytest.raises(grpc.RpcError) as info:
                stub.Translate(request, timeout=WAIT_S)
        assert running.result().results[0].text
        assert server.server.runtime.budget.used == 0
        assert stub.Translate(request, timeout=WAIT_S).results[0].text  # room again
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "memory_budget_mb" in info.value.details()
    assert set(details(info.value)) == {"RetryInfo", "QuotaFailure"}


@pytest.mark.parametrize("big", [text_of(12_000), "Да. " * 1_000], ids=["by its bytes", "by its sentences"])
def test_stream_messages_are_charged_one_by_one(server: ServerThread, big: str) -> None:
    """A message over the whole budget gets its own refusal and the stream goes on: 12 KB at 100 B a byte, or
    6 KB of one-word sentences, 1.25 MB at SENTENCE_BYTES each."""
    item = translation_pb2.TranslateStreamRequest
    items = [item(id="big", text=big, source_language="ru"),
             item(id="small", text="Суд вынес приговор.", source_language="ru")]
    with grpc.insecure_channel(server.address) as channel:
        stub = translation_pb2_grpc.TranslationServiceStub(channel)
        answers = {answer.id: answer for answer in stub.TranslateStream(iter(items), timeout=WAIT_S)}
    assert answers["big"].error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert "memory_budget_mb" in answers["big"].error.message
    assert answers["small"].WhichOneof("outcome") == "result"


async def _until(condition, what: str) -> None:
    """Wait (polling) for a condition another thread makes true; fail after WAIT_S."""
    for _ in range(int(WAIT_S / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"still waiting for {what}")


def test_a_cancelled_requests_memory_stays_charged_until_its_thread_is_done() -> None:
    budget = MemoryBudget(10 * MB)
    started, finish = threading.Event(), threading.Event()

    def work() -> str:
        started.set()
        finish.wait(WAIT_S)
        return "done"

    async def request() -> str:
        with budget.reserve(3 * MB), budget.reserve(1 * MB):
            return await in_thread(work)

    async def scenario() -> None:
        call = asyncio.create_task(request())
        await asyncio.to_thread(started.wait, WAIT_S)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        assert budget.used == 4 * MB  # the thread is still working on the request's data
        finish.set()
        await _until(lambda: budget.used == 0, "the thread's end to free the request's memory")

    asyncio.run(scenario())


def test_work_cancelled_before_it_started_never_runs_and_frees_at_once() -> None:
    budget = MemoryBudget(10 * MB)
    ran, busy, finish = [], threading.Event(), threading.Event()
    threads = ThreadPoolExecutor(max_workers=1)

    def occupy() -> None:
        busy.set()
        finish.wait(WAIT_S)

    async def request() -> None:
        with budget.reserve(2 * MB):
            await in_thread(ran.append, "ran", executor=threads)

    async def scenario() -> None:
        blocker = asyncio.get_running_loop().run_in_executor(threads, occupy)
        await asyncio.to_thread(busy.wait, WAIT_S)
        call = asyncio.create_task(request())
        await asyncio.sleep(0.05)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        assert budget.used == 0
        finish.set()
        await blocker
        await asyncio.get_running_loop().run_in_executor(threads, lambda: None)  # the queue has drained

    asyncio.run(scenario())
    threads.shutdown()
    assert ran == [] and budget.used == 0


def test_the_default_limits_let_the_largest_requests_run_alone() -> None:
    config = ServerConfig(models_dir=".")
    budget = MemoryBudget.from_config(config)
    assert budget.estimate(config.max_message_bytes) <= budget.capacity
    assert 4 * config.max_chars + 64 * 1024 <= config.max_message_bytes  # max_chars of any script, and framing
    # An Align at its sentence and document limits, with news-length sentences (200 bytes), charged at the
    # door (its bytes, or its sentences if more), for its pairs and for its rows in each document.
    sentences = config.max_align_sentences + config.max_align_target_sentences
    pairs = config.max_align_sentences * config.max_align_target_sentences
    rows = config.max_align_source_by_targets  # source sentences x target documents
    door = max(budget.estimate(200 * sentences), sentences * SENTENCE_BYTES)
    assert door + pairs * PAIR_BYTES + rows * ROW_DOCUMENT_BYTES <= budget.capacity
    # The largest Segment the default reply limit lets through, 16 bytes a sentence and 3 of text ("No."),
    # charged for its sentences.
    assert config.max_response_bytes // 19 * SENTENCE_BYTES <= budget.capacity
