"""Server reflection in both protocol versions, v1 and v1alpha, over one descriptor pool.

grpcio-reflection implements only grpc.reflection.v1alpha; v1 has the same messages
under another package, so its service is the v1alpha servicer registered under the
v1 name. The pool names the health file grpc/health/v1/health.proto, as upstream
and proto/ do, instead of the grpc_health/v1/health.proto of the Python package.
"""

from __future__ import annotations

from collections.abc import Iterable

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, text_format
from google.protobuf.descriptor import FileDescriptor
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha import reflection
from grpc_reflection.v1alpha import reflection_pb2 as v1alpha_pb2
from grpc_reflection.v1alpha import reflection_pb2_grpc as v1alpha_grpc

HEALTH_FILE = "grpc/health/v1/health.proto"
V1ALPHA_SERVICE = reflection.SERVICE_NAME
V1_SERVICE = "grpc.reflection.v1.ServerReflection"
V1_FILE = "grpc/reflection/v1/reflection.proto"
V1ALPHA_FILE = "grpc/reflection/v1alpha/reflection.proto"
# Python packages' file names -> the names upstream gRPC and other languages use.
_RENAMED = {health_pb2.DESCRIPTOR.name: HEALTH_FILE, v1alpha_pb2.DESCRIPTOR.name: V1ALPHA_FILE}


def _v1_file() -> descriptor_pb2.FileDescriptorProto:
    """The v1 reflection file: the v1alpha one with its package and language options renamed, not deprecated."""
    v1alpha = descriptor_pb2.FileDescriptorProto()
    v1alpha_pb2.DESCRIPTOR.CopyToProto(v1alpha)
    v1 = text_format.Parse(text_format.MessageToString(v1alpha).replace("v1alpha", "v1"),
                           descriptor_pb2.FileDescriptorProto())
    v1.name = V1_FILE
    v1.options.ClearField("deprecated")
    return v1


def reflection_pool(files: Iterable[FileDescriptor]) -> descriptor_pool.DescriptorPool:
    """A pool with files, their imports and both reflection files, under the standard file names."""
    pool = descriptor_pool.DescriptorPool()
    added: set[str] = set()

    def add(file: FileDescriptor) -> None:
        if file.name in added:
            return
        added.add(file.name)
        for dependency in file.dependencies:
            add(dependency)
        proto = descriptor_pb2.FileDescriptorProto()
        file.CopyToProto(proto)
        proto.name = _RENAMED.get(proto.name, proto.name)
        proto.dependency[:] = [_RENAMED.get(name, name) for name in proto.dependency]
        pool.Add(proto)

    for file in (*files, health_pb2.DESCRIPTOR, v1alpha_pb2.DESCRIPTOR):
        add(file)
    pool.Add(_v1_file())
    return pool


def enable_reflection(services: Iterable[str], files: Iterable[FileDescriptor], server: grpc.aio.Server) -> None:
    """Serve reflection v1 and v1alpha for services (plus health and reflection), described from files."""
    names = [*services, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, V1_SERVICE, V1ALPHA_SERVICE]
    servicer = reflection.aio.ReflectionServicer(names, pool=reflection_pool(files))
    v1alpha_grpc.add_ServerReflectionServicer_to_server(servicer, server)
    # The same messages on the wire: the v1alpha (de)serialisers read and write v1.
    handlers = {
        "ServerReflectionInfo": grpc.stream_stream_rpc_method_handler(
            servicer.ServerReflectionInfo,
            request_deserializer=v1alpha_pb2.ServerReflectionRequest.FromString,
            response_serializer=v1alpha_pb2.ServerReflectionResponse.SerializeToString,
        )
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(V1_SERVICE, handlers),))
