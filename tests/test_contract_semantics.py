"""What a caller in any language sees: the settings a request ran with, and stream answers told apart.

A mistyped enum name decodes to the zero value in JSON and in Node's proto-loader, so
responses echo the effective mode, roles and decoding options; a repeated stream id is
answered with ALREADY_EXISTS and the message's own sequence number.
"""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from google.protobuf import json_format

from crosswire import Client
from crosswire.types import DEFAULT_ROLES
from crosswire.v1 import alignment_pb2 as al_pb
from crosswire.v1 import alignment_pb2_grpc, translation_pb2_grpc
from crosswire.v1 import segmentation_pb2 as seg_pb
from crosswire.v1 import translation_pb2 as tr_pb
from support.server import ServerThread

SENTENCE = "Правительство объявило о новых мерах поддержки экономики."
HEADLINE_AND_BODY = [seg_pb.SEGMENT_ROLE_BODY, seg_pb.SEGMENT_ROLE_HEADLINE]


@pytest.fixture(scope="module")
def server(tiny_models_dir: Path):
    with ServerThread(tiny_models_dir, max_decoding_length=16) as handle:
        yield handle


@pytest.fixture(scope="module")
def channel(server: ServerThread):
    with grpc.insecure_channel(server.address) as channel:
        yield channel


def test_translate_echoes_the_defaults_it_filled_in(server: ServerThread, channel: grpc.Channel) -> None:
    stub = translation_pb2_grpc.TranslationServiceStub(channel)
    (result,) = stub.Translate(tr_pb.TranslateRequest(texts=[SENTENCE], source_language="ru"), timeout=60).results
    assert result.options == tr_pb.TranslationOptions(beam_size=server.config.beam_size, num_hypotheses=1,
                                                      max_decoding_length=16)
    assert list(result.roles) == HEADLINE_AND_BODY


def test_translate_echoes_the_settings_asked_for(channel: grpc.Channel) -> None:
    stub = translation_pb2_grpc.TranslationServiceStub(channel)
    request = tr_pb.TranslateRequest(
        texts=[SENTENCE], source_language="ru", roles=[seg_pb.SEGMENT_ROLE_CAPTION],
        options=tr_pb.TranslationOptions(beam_size=1, return_scores=True, max_decoding_length=8),
    )
    (result,) = stub.Translate(request, timeout=60).results
    assert result.options == tr_pb.TranslationOptions(beam_size=1, num_hypotheses=1, return_scores=True,
                                                      max_decoding_length=8)
    assert list(result.roles) == [seg_pb.SEGMENT_ROLE_CAPTION]


def align(channel: grpc.Channel, request: al_pb.AlignRequest) -> al_pb.AlignResponse:
    return alignment_pb2_grpc.AlignmentServiceStub(channel).Align(request, timeout=120)


def test_a_mistyped_mode_name_is_seen_to_run_as_comparable(channel: grpc.Channel) -> None:
    """JSON with "PARALLEL" for "ALIGN_MODE_PARALLEL" decodes, leniently, to the zero value."""
    document = {"source": {"text": SENTENCE}, "targets": [{"text": "The government announced new measures."}]}
    mistyped = json_format.ParseDict({**document, "mode": "PARALLEL"}, al_pb.AlignRequest(),
                                     ignore_unknown_fields=True)
    assert mistyped.mode == al_pb.ALIGN_MODE_UNSPECIFIED
    answer = align(channel, mistyped)
    assert answer.mode == al_pb.ALIGN_MODE_COMPARABLE
    assert list(answer.roles) == HEADLINE_AND_BODY
    spelled = json_format.ParseDict({**document, "mode": "ALIGN_MODE_PARALLEL", "roles": ["SEGMENT_ROLE_BODY"]},
                                    al_pb.AlignRequest())
    answer = align(channel, spelled)
    assert answer.mode == al_pb.ALIGN_MODE_PARALLEL
    assert list(answer.roles) == [seg_pb.SEGMENT_ROLE_BODY]


def test_compare_echoes_its_roles(channel: grpc.Channel) -> None:
    request = al_pb.CompareRequest(report=al_pb.InputDocument(text=SENTENCE),
                                   articles=[al_pb.InputDocument(text="The government announced new measures.")])
    answer = alignment_pb2_grpc.AlignmentServiceStub(channel).Compare(request, timeout=120)
    assert list(answer.alignment.roles) == HEADLINE_AND_BODY


def test_an_unknown_mode_number_is_invalid_argument_naming_mode(channel: grpc.Channel) -> None:
    request = al_pb.AlignRequest(source=al_pb.InputDocument(text=SENTENCE),
                                 targets=[al_pb.InputDocument(text="The government.")], mode=9)
    with pytest.raises(grpc.RpcError) as info:
        align(channel, request)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "mode=9" in info.value.details()


def test_a_repeated_stream_id_is_already_exists_with_its_own_sequence(channel: grpc.Channel) -> None:
    stub = translation_pb2_grpc.TranslationServiceStub(channel)
    ids = ["a", "b", "a", "", "3"]  # the empty id becomes "3", its sequence, which message 4 then repeats
    requests = [tr_pb.TranslateStreamRequest(id=i, text=SENTENCE, source_language="ru") for i in ids]
    answers = sorted(stub.TranslateStream(iter(requests), timeout=120), key=lambda answer: answer.sequence)
    assert [answer.sequence for answer in answers] == [0, 1, 2, 3, 4]
    assert [answer.id for answer in answers] == ["a", "b", "a", "3", "3"]
    assert [answer.WhichOneof("outcome") for answer in answers] == ["result", "result", "error", "result", "error"]
    for repeated, first in ((answers[2], 0), (answers[4], 3)):
        assert repeated.error.code == grpc.StatusCode.ALREADY_EXISTS.value[0]
        assert f"already used by message {first}" in repeated.error.message
    assert answers[0].result.options.beam_size > 0 and list(answers[0].result.roles) == HEADLINE_AND_BODY


def test_an_item_error_keeps_its_sequence(channel: grpc.Channel) -> None:
    stub = translation_pb2_grpc.TranslationServiceStub(channel)
    requests = [tr_pb.TranslateStreamRequest(id="ok", text=SENTENCE, source_language="ru"),
                tr_pb.TranslateStreamRequest(id="bad", text=SENTENCE, source_language="fr")]
    answers = {answer.id: answer for answer in stub.TranslateStream(iter(requests), timeout=120)}
    assert answers["bad"].sequence == 1 and answers["bad"].error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert answers["ok"].sequence == 0 and answers["ok"].HasField("result")


def test_an_unknown_role_number_is_invalid_argument_naming_its_position(channel: grpc.Channel) -> None:
    stub = translation_pb2_grpc.TranslationServiceStub(channel)
    request = tr_pb.TranslateRequest(texts=[SENTENCE], source_language="ru", roles=[seg_pb.SEGMENT_ROLE_BODY, 42])
    with pytest.raises(grpc.RpcError) as info:
        stub.Translate(request, timeout=60)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "roles[1]=42" in info.value.details()


def test_the_python_client_reads_the_roles_that_took_part(server: ServerThread) -> None:
    with Client(server.address, timeout=120) as client:
        alignment = client.align(SENTENCE, ["The government announced new measures."])
    assert alignment.roles == DEFAULT_ROLES
