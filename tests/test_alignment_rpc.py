"""AlignmentService over gRPC: Align and Compare through both clients, the translation signal, every bad input."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import pytest
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from crosswire import AsyncClient, Client, CrosswireError
from crosswire.convert import align_request, alignment_from_pb, alignment_to_pb, comparison_from_pb, comparison_to_pb
from crosswire.types import AlignMode, Grade, Role
from crosswire.v1 import alignment_pb2_grpc
from crosswire_server.alignment import Aligner, prepare
from support.server import ServerThread

RU = ("Генсек НАТО Йенс Столтенберг призвал Россию прекратить бои в Сирии. "
      "Госсекретарь США Джон Керри проинформировал союзников о ходе переговоров.")
EN = ("US Secretary of State John Kerry briefed the allies on the talks. "
      "Shares in the carmaker rose after the results. "
      "NATO Secretary General Jens Stoltenberg called on Russia to stop the fighting in Syria.")
SPORT = "Manchester United beat Chelsea 2-1 on Saturday. The winning goal came in the final minute."


@pytest.fixture(scope="module")
def server(tiny_models_dir: Path):
    with ServerThread(tiny_models_dir, max_decoding_length=16, max_message_bytes=200_000) as handle:
        yield handle


@pytest.fixture
def client(server: ServerThread):
    with Client(server.address, timeout=60) as c:
        yield c


def failure(call) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(CrosswireError) as info:
        call()
    return info.value.code, info.value.details


def test_align_returns_typed_links_with_the_translation_signal(client: Client) -> None:
    result = client.align(RU, [EN], names=["tass"], mode="comparable")
    assert result.mode is AlignMode.COMPARABLE and result.target_names == ["tass"]
    same = {(link.source[0], link.target[0]) for link in result.links if link.grade is Grade.SAME}
    assert same == {(0, 2), (1, 0)}
    assert result.unaligned_targets == [[1]]
    # The tiny ru->en model is loaded, so the source was machine-translated (badly) for the signal.
    assert all(link.evidence.translation_similarity is not None for link in result.links)
    assert {(t.source, t.target) for link in result.links for t in link.evidence.names} >= {("Керри", "Kerry")}
    assert result.source.sentences[1].text.startswith("Госсекретарь") and result.targets[0].text == EN


def test_align_parallel_presegmented(client: Client) -> None:
    result = client.align("Первая строка о Керри.\nВторая строка о НАТО.", ["First line about Kerry.\nSecond line about NATO."],
                          mode="parallel", presegmented=True)
    assert [(link.source, link.target) for link in result.links] == [([0], [0]), ([1], [1])]


def test_compare_ranks_and_builds_rows(client: Client) -> None:
    comparison = client.compare(RU, [SPORT, EN], names=["sport", "tass"])
    assert [d.name for d in comparison.documents] == ["tass", "sport"]
    assert comparison.documents[0].linked_source == 2
    assert [row.source for row in comparison.rows] == [0, 1]
    assert all(row.translation for row in comparison.rows)  # from the loaded model
    assert comparison.only_in_report == []
    assert [(r.target_doc, r.index) for r in comparison.only_in_coverage] == [(1, 1)]


def test_async_client(server: ServerThread) -> None:
    async def run():
        async with AsyncClient(server.address, timeout=60) as client:
            return await client.align(RU, [EN]), await client.compare(RU, [EN])

    alignment, comparison = asyncio.run(run())
    assert len(alignment.links) == 2 and comparison.documents[0].target_doc == 0


def test_identical_and_unrelated_documents_are_not_errors(client: Client) -> None:
    same = client.align(EN, [EN], source_language="en", target_language="en")
    assert {(link.source[0], link.target[0]) for link in same.links} == {(0, 0), (1, 1), (2, 2)}
    apart = client.align(RU, [SPORT])
    assert apart.links == [] and apart.unaligned_source == [0, 1] and apart.unaligned_targets == [[0, 1]]


@pytest.mark.parametrize(
    ("call", "needle"),
    [
        (lambda c: c.align(RU, []), "targets: at least one target document is required"),
        (lambda c: c.compare(RU, []), "articles: at least one target document is required"),
        (lambda c: c.align("", [EN]), "source: the document has no sentence to align"),
        (lambda c: c.align(RU, [EN, " \n "]), "targets[1]: the document has no sentence to align"),
        (lambda c: c.align(RU, [RU]), "targets[0]: declared language is 'en' but the text looks 'ru'"),
        (lambda c: c.align(RU, [EN], source_language="xx"), "source_language: 'xx' is not supported"),
        (lambda c: c.align("\n".join(["Строка текста."] * 1500), [EN], presegmented=True),
         "source: 1500 sentences, the limit is 1000 per document"),
        (lambda c: c.align(RU, [EN] * 201), "targets: 201 documents, the limit is 200"),
        (lambda c: c.align(RU, ["x" * 300_000]), "max_message_bytes=200000"),
    ],
)
def test_bad_input_is_invalid_argument_naming_the_field(client: Client, call, needle: str) -> None:
    code, details = failure(lambda: call(client))
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert needle in details


def test_unspecified_role_is_invalid_argument(server: ServerThread) -> None:
    request = align_request(RU, [EN], roles=[Role.BODY])
    request.roles.append(0)
    with grpc.insecure_channel(server.address) as channel:
        with pytest.raises(grpc.RpcError) as info:
            alignment_pb2_grpc.AlignmentServiceStub(channel).Align(request, timeout=30)
    assert info.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "roles[1] is SEGMENT_ROLE_UNSPECIFIED" in info.value.details()


def test_configured_limits_and_translation_in_batches(tiny_models_dir: Path) -> None:
    settings = dict(max_decoding_length=8, max_texts=1, max_align_sentences=3, max_align_targets=1)
    with ServerThread(tiny_models_dir, **settings) as server, Client(server.address, timeout=60) as client:
        # Two report sentences go to the model one per call (max_texts=1) and still come back translated.
        assert all(row.translation for row in client.compare(RU, [EN]).rows)
        code, details = failure(lambda: client.align(RU, [EN, EN]))
        assert code is grpc.StatusCode.INVALID_ARGUMENT and "targets: 2 documents, the limit is 1" in details
        code, details = failure(lambda: client.align(RU, ["First one here. Second one here. Third one here. Fourth one here."]))
        assert "targets[0]: 4 sentences, the limit is 3 per document" in details


def test_reflection_lists_the_alignment_service(server: ServerThread) -> None:
    with grpc.insecure_channel(server.address) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        response = next(stub.ServerReflectionInfo(iter([request])))
    assert "crosswire.v1.AlignmentService" in {s.name for s in response.list_services_response.service}


def test_conversions_round_trip() -> None:
    aligner = Aligner()
    report, article = prepare(RU, "ru"), prepare(EN, "en")
    comparison = aligner.compare(report, [article], names=["tass"], translations=["a", "b"])
    back = comparison_from_pb(comparison_to_pb(comparison, "r"), RU, [EN])
    assert back == comparison
    alignment = comparison.alignment
    assert alignment_from_pb(alignment_to_pb(alignment), RU, [EN]) == alignment
