"""Random and mutated request bytes for every RPC the protos declare, and a tally of what came back.

Methods are read from the service descriptors of every crosswire.v1 module (and
the health service), so a new service is fuzzed without touching this file.
Messages are built from their descriptors: valid ones with odd values (unknown
enum numbers, extreme integers, NaN, long and empty strings, big repeated
fields), then serialized and bit-flipped, truncated, extended or spliced; or
plain random bytes. Used by tests/test_fuzz.py and benchmarks/fuzz.py.
"""

from __future__ import annotations

import collections
import importlib
import pkgutil
import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import grpc
from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor
from google.protobuf.message import Message

import crosswire.v1
from grpc_health.v1 import health_pb2

#: Status codes a server must never answer a request with, whatever its bytes.
FORBIDDEN = frozenset({grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL})

_WORDS = ("Правительство объявило о новых мерах", "Суд вынес приговор.", "The court ruled.", "Да.", "ru",
          "en", "zh", "tiny-ru-en", "«Мы готовы», — заявил он.", "中国经济增长", "\u200b", "\n\n", "",
          "😀 emoji", "a" * 300, "МОСКВА, 5 мая — РИА Новости.", "1.", "г.", "x\x00y")
_INT_EDGES = (0, 1, 2, 3, 7, 8, 9, 99, 255, 256, 1000, 2**31 - 1, -1, -2**31)
_UINT_EDGES = (0, 1, 2, 4, 8, 9, 16, 64, 256, 257, 1000, 100_000, 2**32 - 1)
_FLOATS = (0.0, 0.5, 1.0, -1.0, float("nan"), float("inf"), float("-inf"), 1e30)
_SIGNED = {FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_SINT32, FieldDescriptor.TYPE_SFIXED32,
           FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_SINT64, FieldDescriptor.TYPE_SFIXED64}
_UNSIGNED = {FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_FIXED32, FieldDescriptor.TYPE_UINT64,
             FieldDescriptor.TYPE_FIXED64}


@dataclass(frozen=True)
class Method:
    """One RPC: its full path, request class and whether each side streams."""

    path: str
    request: type[Message]
    client_streaming: bool
    server_streaming: bool


def methods() -> list[Method]:
    """Every RPC of every service in crosswire.v1, and the health service's Check."""
    found: list[MethodDescriptor] = []
    for info in pkgutil.iter_modules(crosswire.v1.__path__):
        if info.name.endswith("_pb2"):
            module = importlib.import_module(f"crosswire.v1.{info.name}")
            for service in module.DESCRIPTOR.services_by_name.values():
                found.extend(service.methods)
    found.append(health_pb2.DESCRIPTOR.services_by_name["Health"].methods_by_name["Check"])
    return [Method(f"/{m.containing_service.full_name}/{m.name}", message_factory.GetMessageClass(m.input_type),
                   m.client_streaming, m.server_streaming) for m in found]


class Fuzzer:
    """Deterministic (seeded) request bytes for a method."""

    def __init__(self, seed: int = 0, big_repeated: int = 2000) -> None:
        self.random = random.Random(seed)
        self.big_repeated = big_repeated

    def message(self, descriptor: Descriptor, depth: int = 0) -> Message:
        """A message whose fields hold valid but odd values."""
        message = message_factory.GetMessageClass(descriptor)()
        for field in descriptor.fields:
            if self.random.random() < 0.4:
                continue
            if field.is_repeated:
                count = self.random.choice((0, 1, 2, 3, 5)) if self.random.random() < 0.97 else self.big_repeated
                values = [self.value(field, depth) for _ in range(count)]
                target = getattr(message, field.name)
                if field.type == FieldDescriptor.TYPE_MESSAGE:
                    for value in values:
                        target.add().CopyFrom(value)
                else:
                    target.extend(values)
            elif field.type == FieldDescriptor.TYPE_MESSAGE:
                getattr(message, field.name).CopyFrom(self.value(field, depth))
            else:
                setattr(message, field.name, self.value(field, depth))
        return message

    def value(self, field: FieldDescriptor, depth: int) -> object:
        pick = self.random.choice
        kind = field.type
        if kind == FieldDescriptor.TYPE_MESSAGE:
            return self.message(field.message_type, depth + 1) if depth < 4 else message_factory.GetMessageClass(
                field.message_type)()
        if kind == FieldDescriptor.TYPE_STRING:
            return " ".join(pick(_WORDS) for _ in range(pick((1, 1, 2, 5, 40))))
        if kind == FieldDescriptor.TYPE_BYTES:
            return self.random.randbytes(pick((0, 1, 16)))
        if kind == FieldDescriptor.TYPE_BOOL:
            return pick((True, False))
        if kind == FieldDescriptor.TYPE_ENUM:  # known numbers, and unknown ones: open enums keep them
            return pick([v.number for v in field.enum_type.values] + [99, -1, 2**31 - 1])
        if kind in (FieldDescriptor.TYPE_FLOAT, FieldDescriptor.TYPE_DOUBLE):
            return pick(_FLOATS)
        if kind in _SIGNED:
            return pick(_INT_EDGES)
        if kind in _UNSIGNED:
            return pick(_UINT_EDGES)
        raise AssertionError(f"no values for field type {kind}")

    def mutate(self, data: bytes) -> bytes:
        """The bytes bit-flipped, truncated, extended, spliced or with a byte dropped or inserted."""
        data = bytearray(data)
        for _ in range(self.random.choice((1, 1, 2, 4))):
            how = self.random.randrange(6)
            if how == 0 and data:
                position = self.random.randrange(len(data))
                data[position] ^= 1 << self.random.randrange(8)
            elif how == 1 and data:
                del data[self.random.randrange(len(data)):]
            elif how == 2:
                data += self.random.randbytes(self.random.choice((1, 2, 5, 30)))
            elif how == 3 and data:
                start = self.random.randrange(len(data))
                data[start:start] = data[start:start + self.random.randrange(1, 40)]
            elif how == 4 and data:
                del data[self.random.randrange(len(data))]
            else:
                data.insert(self.random.randrange(len(data) + 1), self.random.randrange(256))
        return bytes(data)

    def request(self, method: Method) -> bytes:
        """One request's bytes: mostly mutated valid messages, some valid ones, some random bytes."""
        roll = self.random.random()
        if roll < 0.1:
            return self.random.randbytes(self.random.choice((0, 1, 3, 10, 100, 1000)))
        data = self.message(method.request.DESCRIPTOR).SerializeToString()
        return data if roll < 0.3 else self.mutate(data)


class Tally:
    """Counts of status codes per method, for calls and for stream items (safe to share between threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: collections.Counter[tuple[str, str]] = collections.Counter()
        self.items: collections.Counter[tuple[str, str]] = collections.Counter()
        self.examples: dict[tuple[str, str], str] = {}

    def call(self, method: str, code: grpc.StatusCode, details: str = "") -> None:
        with self._lock:
            self.calls[method, code.name] += 1
            self.examples.setdefault((method, code.name), details[:300])

    def item(self, method: str, code: int, details: str = "") -> None:
        name = grpc.StatusCode.OK.name if code == 0 else next(
            (c.name for c in grpc.StatusCode if c.value[0] == code), str(code))
        with self._lock:
            self.items[method, name] += 1
            self.examples.setdefault((method, "item " + name), details[:300])

    def forbidden(self) -> dict[str, str]:
        """{method and code: an example message} for every UNKNOWN or INTERNAL seen."""
        names = {code.name for code in FORBIDDEN} | {"DEADLINE_EXCEEDED"}
        return {f"{key[0]} {key[1]}": example for key, example in self.examples.items()
                if key[1].removeprefix("item ") in names}

    def by_code(self) -> collections.Counter[str]:
        counts: collections.Counter[str] = collections.Counter()
        for (_, code), count in self.calls.items():
            counts[code] += count
        return counts


def streams(fuzzer: Fuzzer, method: Method, frames: int) -> Iterator[bytes]:
    for _ in range(frames):
        yield fuzzer.request(method)


def run_one(channel: grpc.Channel, method: Method, fuzzer: Fuzzer, tally: Tally, timeout: float) -> None:
    """Send one fuzzed request (a stream of a few frames for a streaming method) and tally the outcome."""
    try:
        if method.client_streaming:
            frames = list(streams(fuzzer, method, fuzzer.random.choice((1, 2, 5))))
            call = channel.stream_stream(method.path) if method.server_streaming else channel.stream_unary(method.path)
            replies = call(iter(frames), timeout=timeout)
            for reply in replies if method.server_streaming else [replies]:
                _tally_item(method, reply, tally)
        else:
            data = fuzzer.request(method)
            if method.server_streaming:
                for _ in channel.unary_stream(method.path)(data, timeout=timeout):
                    pass
            else:
                channel.unary_unary(method.path)(data, timeout=timeout)
        tally.call(method.path, grpc.StatusCode.OK)
    except grpc.RpcError as error:
        tally.call(method.path, error.code(), error.details() or "")


def _tally_item(method: Method, reply: bytes, tally: Tally) -> None:
    """A stream reply's own outcome, when it carries a StreamError-like `error` field."""
    from crosswire.v1 import translation_pb2

    if method.path.endswith("/TranslateStream"):
        message = translation_pb2.TranslateStreamResponse.FromString(reply)
        if message.HasField("error"):
            tally.item(method.path, message.error.code, message.error.message)
        else:
            tally.item(method.path, 0)
