"""Request bytes that do not decode: INVALID_ARGUMENT naming the method and the field, never UNKNOWN.

gRPC decodes a request before any handler runs, and a DecodeError there reaches
the caller as UNKNOWN with no request log line. `DecodeGuard` (a server
interceptor) wraps every method's deserializer: bytes that do not parse become
an `Undecodable` stand-in, which the guard answers with INVALID_ARGUMENT through
the usual request handling (log line, google.rpc details). Methods that read a
stream item by item and answer each one (TranslateStream) opt in to receive the
stand-in themselves, so one bad frame gets its own error and the stream goes on.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable, Collection
from typing import Any

import grpc
from google.protobuf import descriptor_pool
from google.protobuf.descriptor import Descriptor, FieldDescriptor

from crosswire_server.errors import InvalidInput
from crosswire_server.rpc.common import Runtime, handling

# Looking for the faulty field walks the message in Python; past this many fields it gives up
# (the request is refused all the same, without naming the field).
_MAX_FIELDS_WALKED = 100_000
_MAX_DEPTH = 100  # protobuf's own recursion limit
_PACKABLE = {
    FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_UINT32,
    FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_SINT32, FieldDescriptor.TYPE_SINT64,
    FieldDescriptor.TYPE_BOOL, FieldDescriptor.TYPE_ENUM,
}


class Undecodable:
    """Stands in for a request message whose bytes did not parse; says where and why."""

    __slots__ = ("method", "message_type", "size", "field", "reason")

    def __init__(self, method: str, message_type: str, size: int, field: str, reason: str) -> None:
        self.method = method
        self.message_type = message_type
        self.size = size
        self.field = field
        self.reason = reason

    def describe(self) -> str:
        """One sentence for the caller: the method, the message type, the field and what is wrong with it."""
        where = f"{self.field}: " if self.field else ""
        return (f"the request to {self.method} is not a valid {self.message_type or 'message'} "
                f"({self.size} bytes): {where}{self.reason}")

    def error(self) -> InvalidInput:
        return InvalidInput(self.describe(), field=self.field)


class _Problem(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def locate(descriptor: Descriptor, data: bytes) -> tuple[str, str]:
    """(field path, what is wrong) for bytes that do not parse as `descriptor`'s message; ("", "") if not found."""
    budget = [_MAX_FIELDS_WALKED]
    try:
        _walk(descriptor, memoryview(data), 0, len(data), "", 0, budget)
    except _Problem as problem:
        return problem.field, problem.reason
    return "", ""


def _varint(data: memoryview, position: int, end: int, field: str, what: str) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if position >= end:
            raise _Problem(field, f"the {what} is cut short (truncated varint)")
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, position
        shift += 7
        if shift >= 70:
            raise _Problem(field, f"the {what} is longer than 10 bytes (malformed varint)")


def _path(parent: str, field: FieldDescriptor | None, number: int, index: int) -> str:
    name = field.name if field is not None else f"#{number}"
    if field is not None and field.is_repeated:
        name += f"[{index}]"
    return f"{parent}.{name}" if parent else name


def _walk(descriptor: Descriptor | None, data: memoryview, position: int, end: int, parent: str,
          depth: int, budget: list[int]) -> int:
    """Check the fields in data[position:end]; raise _Problem at the first one that cannot parse."""
    if depth > _MAX_DEPTH:
        raise _Problem(parent, f"messages are nested more than {_MAX_DEPTH} deep")
    seen: dict[int, int] = {}
    while position < end:
        budget[0] -= 1
        if budget[0] < 0:
            raise _Problem("", "")
        tag, position = _varint(data, position, end, parent, "field tag")
        number, wire = tag >> 3, tag & 7
        known = descriptor.fields_by_number.get(number) if descriptor is not None else None
        index = seen.get(number, 0)
        seen[number] = index + 1
        field = _path(parent, known, number, index)
        if number == 0:
            raise _Problem(parent, "field number 0 does not exist (corrupt field tag)")
        if wire == 0:
            _, position = _varint(data, position, end, field, "value")
        elif wire in (1, 5):
            width = 8 if wire == 1 else 4
            if position + width > end:
                raise _Problem(field, f"the {width}-byte value is cut short")
            position += width
        elif wire == 2:
            length, position = _varint(data, position, end, field, "length")
            if position + length > end:
                raise _Problem(field, f"the value of length {length} runs past the end of its message "
                                      f"({end - position} bytes left)")
            seen[number] = index + _check_value(known, data, position, position + length, field, depth, budget)
            position += length
        elif wire == 3:
            position = _walk_group(data, position, end, field, number, depth, budget)
        elif wire == 4:
            raise _Problem(field, "an end-group tag without its start")
        else:
            raise _Problem(field, f"wire type {wire} does not exist (corrupt field tag)")
    return position


def _walk_group(data: memoryview, position: int, end: int, field: str, number: int, depth: int,
                budget: list[int]) -> int:
    """Skip a group (an unknown field of the old group encoding) up to its end tag."""
    if depth > _MAX_DEPTH:
        raise _Problem(field, f"groups are nested more than {_MAX_DEPTH} deep")
    while position < end:
        budget[0] -= 1
        if budget[0] < 0:
            raise _Problem("", "")
        tag, position = _varint(data, position, end, field, "field tag")
        inner, wire = tag >> 3, tag & 7
        if wire == 4:
            if inner != number:
                raise _Problem(field, "a group ends with another group's end tag")
            return position
        if wire == 0:
            _, position = _varint(data, position, end, field, "value")
        elif wire in (1, 5):
            position += 8 if wire == 1 else 4
        elif wire == 2:
            length, position = _varint(data, position, end, field, "length")
            position += length
        elif wire == 3:
            position = _walk_group(data, position, end, field, inner, depth + 1, budget)
        else:
            raise _Problem(field, f"wire type {wire} does not exist (corrupt field tag)")
    raise _Problem(field, "a group is not closed before the end of its message")


def _check_value(field: FieldDescriptor | None, data: memoryview, start: int, end: int, path: str, depth: int,
                 budget: list[int]) -> int:
    """Check one length-delimited value (UTF-8 of a string, the fields of a message, the varints of a packed
    list); returns how many elements of the field it holds."""
    if field is None:
        return 1
    if field.type == FieldDescriptor.TYPE_STRING:
        try:
            bytes(data[start:end]).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _Problem(path, f"is not valid UTF-8 (byte {exc.start} of the string)") from None
    elif field.type == FieldDescriptor.TYPE_MESSAGE:
        _walk(field.message_type, data, start, end, path, depth + 1, budget)
    elif field.is_repeated and field.type in _PACKABLE:
        base, index = path.rsplit("[", 1)
        first, position = int(index[:-1]), start
        while position < end:
            _, position = _varint(data, position, end, f"{base}[{first}]", "value")
            first += 1
        return first - int(index[:-1])
    return 1


def _input_type(method: str) -> Descriptor | None:
    """The request message type of a full method name ("/pkg.Service/Method"), from the default pool."""
    try:
        service, name = method.lstrip("/").rsplit("/", 1)
        return descriptor_pool.Default().FindServiceByName(service).methods_by_name[name].input_type
    except (KeyError, ValueError):
        return None


def guarded_deserializer(method: str, deserialize: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
    """`deserialize` that returns an Undecodable instead of raising on bytes that do not parse."""
    descriptor = _input_type(method)
    type_name = descriptor.full_name if descriptor is not None else ""

    def decode(data: bytes) -> Any:
        try:
            return deserialize(data)
        except Exception as exc:  # DecodeError, or anything else a parser raises on hostile bytes
            field, reason = locate(descriptor, data) if descriptor is not None else ("", "")
            return Undecodable(method, type_name, len(data), field, reason or _plain(exc))

    return decode


def _plain(exc: Exception) -> str:
    """The parser's own reason, without the type name it repeats ("Error parsing message with type 'X': ")."""
    return str(exc).rsplit("': ", 1)[-1] or type(exc).__name__


class DecodeGuard(grpc.aio.ServerInterceptor):
    """Answers a request that does not decode with INVALID_ARGUMENT (and a log line), for every method.

    Methods in `per_item` (full names) get the Undecodable items of their request
    stream themselves, to answer each one without ending the stream.
    """

    def __init__(self, runtime: Runtime, per_item: Collection[str] = ()) -> None:
        self._runtime = runtime
        self._per_item = frozenset(per_item)

    async def intercept_service(self, continuation: Callable, details: grpc.HandlerCallDetails) -> Any:
        handler = await continuation(details)
        if handler is None or handler.request_deserializer is None:
            return handler
        method = details.method
        deserializer = guarded_deserializer(method, handler.request_deserializer)
        if handler.request_streaming:
            kind = "stream_stream" if handler.response_streaming else "stream_unary"
            behavior = getattr(handler, kind)
            if method in self._per_item:
                return handler._replace(request_deserializer=deserializer)
            wrapped = self._stream_request(behavior, method)
        else:
            kind = "unary_stream" if handler.response_streaming else "unary_unary"
            wrapped = self._unary_request(getattr(handler, kind), method)
        if wrapped is None:  # a synchronous handler: leave it as gRPC made it
            return handler
        return handler._replace(request_deserializer=deserializer, **{kind: wrapped})

    async def refuse(self, problem: Undecodable, context: grpc.aio.ServicerContext) -> None:
        """End the call with INVALID_ARGUMENT describing `problem`, logging the request like any other."""
        async with handling(context, problem.method.rsplit("/", 1)[-1], self._runtime) as record:
            record.add(bytes=problem.size)
            raise problem.error()

    def _unary_request(self, behavior: Callable, method: str) -> Callable | None:
        if inspect.isasyncgenfunction(behavior):
            async def stream_out(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
                if isinstance(request, Undecodable):
                    await self.refuse(request, context)
                async for response in behavior(request, context):
                    yield response
            return stream_out
        if inspect.iscoroutinefunction(behavior):
            async def one_out(request: Any, context: grpc.aio.ServicerContext) -> Any:
                if isinstance(request, Undecodable):
                    await self.refuse(request, context)
                return await behavior(request, context)
            return one_out
        return None

    def _stream_request(self, behavior: Callable, method: str) -> Callable | None:
        async def checked(requests: AsyncIterator[Any], context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            async for request in requests:
                if isinstance(request, Undecodable):
                    await self.refuse(request, context)
                yield request

        if inspect.isasyncgenfunction(behavior):
            async def stream_out(requests: AsyncIterator[Any], context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
                async for response in behavior(checked(requests, context), context):
                    yield response
            return stream_out
        if inspect.iscoroutinefunction(behavior):
            async def one_out(requests: AsyncIterator[Any], context: grpc.aio.ServicerContext) -> Any:
                return await behavior(checked(requests, context), context)
            return one_out
        return None
