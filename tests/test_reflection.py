"""Reflection answers in both versions, v1 and v1alpha, and names files as proto/ and upstream gRPC do."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool
from grpc_reflection.v1alpha import reflection_pb2
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from support.server import ServerThread

SERVICES = {"crosswire.v1.TranslationService", "crosswire.v1.SegmentationService", "crosswire.v1.AlignmentService",
            "crosswire.v1.LibraryService", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection"}


@pytest.fixture(scope="module")
def address(tmp_path_factory: pytest.TempPathFactory):
    """A server without models: reflection does not need them."""
    with ServerThread(tmp_path_factory.mktemp("no-models"), wait_ready=False) as handle:
        yield handle.address


def ask(channel: grpc.Channel, version: str, **request) -> reflection_pb2.ServerReflectionResponse:
    """One request to grpc.reflection.<version>; the two versions' messages are the same on the wire."""
    call = channel.stream_stream(
        f"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo",
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )
    (answer,) = call(iter([reflection_pb2.ServerReflectionRequest(**request)]), timeout=10)
    return answer


@pytest.mark.parametrize("version", ["v1", "v1alpha"])
def test_both_versions_list_every_service(address: str, version: str) -> None:
    with grpc.insecure_channel(address) as channel:
        answer = ask(channel, version, list_services="")
    assert {service.name for service in answer.list_services_response.service} == SERVICES


@pytest.mark.parametrize("version", ["v1", "v1alpha"])
def test_health_and_reflection_files_have_their_standard_names(address: str, version: str) -> None:
    expected = {"grpc.health.v1.Health": "grpc/health/v1/health.proto",
                "grpc.reflection.v1.ServerReflection": "grpc/reflection/v1/reflection.proto",
                "crosswire.v1.TranslationService": "crosswire/v1/translation.proto"}
    with grpc.insecure_channel(address) as channel:
        for symbol, name in expected.items():
            answer = ask(channel, version, file_containing_symbol=symbol)
            (first, *_) = answer.file_descriptor_response.file_descriptor_proto
            assert descriptor_pb2.FileDescriptorProto.FromString(first).name == name
            assert ask(channel, version, file_by_filename=name).HasField("file_descriptor_response")


def test_v1_describes_the_whole_contract(address: str) -> None:
    """A pool built from v1 answers alone resolves every RPC's messages, imports included."""
    pool = descriptor_pool.DescriptorPool()
    with grpc.insecure_channel(address) as channel:
        for symbol in sorted(SERVICES):
            answer = ask(channel, "v1", file_containing_symbol=symbol)
            files = [descriptor_pb2.FileDescriptorProto.FromString(raw)
                     for raw in answer.file_descriptor_response.file_descriptor_proto]
            for file in reversed(files):  # the server sends a file before its imports
                try:
                    pool.FindFileByName(file.name)
                except KeyError:
                    pool.Add(file)
    translate = pool.FindServiceByName("crosswire.v1.TranslationService").methods_by_name["Translate"]
    assert translate.input_type.full_name == "crosswire.v1.TranslateRequest"
    search = pool.FindServiceByName("crosswire.v1.LibraryService").methods_by_name["Search"]
    assert search.output_type.fields_by_name["hits"].message_type.full_name == "crosswire.v1.SearchHit"
    assert pool.FindMessageTypeByName("crosswire.v1.CompareRequest").fields_by_name["library"].message_type.full_name \
        == "crosswire.v1.LibrarySelection"
    assert pool.FindServiceByName("grpc.reflection.v1.ServerReflection").methods_by_name["ServerReflectionInfo"]


def test_v1alpha_reflection_client_resolves_the_contract(address: str) -> None:
    """grpcio-reflection's own client (v1alpha) builds a working pool from the server."""
    with grpc.insecure_channel(address) as channel:
        database = ProtoReflectionDescriptorDatabase(channel)
        assert set(database.get_services()) == SERVICES
        pool = descriptor_pool.DescriptorPool(database)
        segment = pool.FindServiceByName("crosswire.v1.SegmentationService").methods_by_name["Segment"]
        assert segment.output_type.full_name == "crosswire.v1.SegmentResponse"
        assert pool.FindFileContainingSymbol("grpc.health.v1.Health").name == "grpc/health/v1/health.proto"


def test_unknown_file_is_not_found_in_v1(address: str) -> None:
    with grpc.insecure_channel(address) as channel:
        answer = ask(channel, "v1", file_by_filename="grpc_health/v1/health.proto")
    assert answer.error_response.error_code == grpc.StatusCode.NOT_FOUND.value[0]

