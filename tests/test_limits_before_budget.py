"""A request over its own limits is INVALID_ARGUMENT naming the limit even while the memory budget is full:
it could never succeed, so a retry hint (RESOURCE_EXHAUSTED) would be wrong."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from crosswire.v1 import (alignment_pb2, alignment_pb2_grpc, segmentation_pb2, segmentation_pb2_grpc,
                          translation_pb2, translation_pb2_grpc)
from support.gate import WAIT_S
from support.server import ServerThread


@pytest.fixture(scope="module")
def full(tiny_models_dir: Path):
    """A server whose whole memory budget is held for the module's duration."""
    with ServerThread(tiny_models_dir, memory_budget_mb=1, max_texts=3, max_chars=200, max_align_targets=2,
                      inter_threads=1, cache_size=0) as handle:
        budget = handle.server.runtime.budget
        with budget.reserve(budget.capacity):
            yield handle


def refusal(call, request) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        call(request, timeout=WAIT_S)
    return info.value


def test_the_full_budget_refuses_a_request_within_the_limits(full: ServerThread) -> None:
    with grpc.insecure_channel(full.address) as channel:
        stub = translation_pb2_grpc.TranslationServiceStub(channel)
        error = refusal(stub.Translate, translation_pb2.TranslateRequest(texts=["Привет."], source_language="ru"))
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and "memory_budget_mb" in error.details()


@pytest.mark.parametrize("texts, limit", [(["Да."] * 4, "max_texts=3"), (["Да. " * 60], "max_chars=200")])
def test_translate_over_a_limit_is_invalid_argument(full: ServerThread, texts: list[str], limit: str) -> None:
    with grpc.insecure_channel(full.address) as channel:
        stub = translation_pb2_grpc.TranslationServiceStub(channel)
        error = refusal(stub.Translate, translation_pb2.TranslateRequest(texts=texts, source_language="ru"))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and limit in error.details()


def test_segment_over_max_chars_is_invalid_argument(full: ServerThread) -> None:
    with grpc.insecure_channel(full.address) as channel:
        stub = segmentation_pb2_grpc.SegmentationServiceStub(channel)
        error = refusal(stub.Segment, segmentation_pb2.SegmentRequest(text="Да. " * 60, language="ru"))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and "max_chars=200" in error.details()


def test_align_over_max_align_targets_is_invalid_argument(full: ServerThread) -> None:
    document = alignment_pb2.InputDocument
    request = alignment_pb2.AlignRequest(source=document(name="s", text="Да."),
                                         targets=[document(name=str(i), text="Yes.") for i in range(3)])
    with grpc.insecure_channel(full.address) as channel:
        error = refusal(alignment_pb2_grpc.AlignmentServiceStub(channel).Align, request)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and "max_align_targets" in error.details()
