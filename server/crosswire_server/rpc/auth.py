"""Access control on the wire: an interceptor that authenticates, authorises and counts every call.

Each call is checked before its handler runs: credentials (the `authorization:
Bearer <API key>` metadata, or a verified client certificate, looked up by its
SHA-256 and subject in the keys file when there is one), then the service
the caller may use, then the server-wide caps (max_concurrent_rpcs,
max_open_streams) and the key's own max_concurrent_calls. A refused call ends
with UNAUTHENTICATED, PERMISSION_DENIED or RESOURCE_EXHAUSTED, the standard
google.rpc details (QuotaFailure naming the limit, RetryInfo) and a request log
line; an admitted one runs with its `Caller` set (access.set_caller), which
names it in the request log and lets the core charge its sentence rate.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

import grpc

from crosswire_server.access import (
    Access,
    Caller,
    Gauge,
    RateLimited,
    certificate_fingerprint,
    enter_call,
    leave_call,
    set_caller,
)
from crosswire_server.errors import CrosswireError
from crosswire_server.logs import clip
from crosswire_server.rpc.common import RequestRecord, Runtime, status_for
from crosswire_server.rpc.details import DETAILS_TRAILER, rich_status

_SHORT_NAMES = {"Health": "health", "ServerReflection": "reflection"}


def service_name(method: str) -> tuple[str, str]:
    """("translation", "Translate") for "/crosswire.v1.TranslationService/Translate": the names keys and logs use."""
    service, _, name = method.strip("/").partition("/")
    last = service.rpartition(".")[2]
    return _SHORT_NAMES.get(last, last.removesuffix("Service").lower()), name


def _authorization(context: grpc.aio.ServicerContext) -> str | None:
    for key, value in context.invocation_metadata() or ():
        if key == "authorization":
            return value if isinstance(value, str) else value.decode("latin-1")
    return None


def _certificate(context: grpc.aio.ServicerContext) -> tuple[str, str]:
    """The verified client certificate's subject (RFC 2253, else its common name) and SHA-256; ("", "") without one."""
    properties = context.auth_context() or {}
    subject = next((values[0].decode("utf-8", "replace") for name in ("x509_subject", "x509_common_name")
                    if (values := properties.get(name))), "")
    pem = properties.get("x509_pem_cert")
    try:
        fingerprint = certificate_fingerprint(pem[0]) if pem else ""
    except ValueError:
        fingerprint = ""
    return subject, fingerprint


class AccessInterceptor(grpc.aio.ServerInterceptor):
    """Wraps every method handler with the access checks and the call counting."""

    def __init__(self, access: Access, runtime: Runtime) -> None:
        self._access = access
        self._runtime = runtime
        self._calls = Gauge(runtime.config.max_concurrent_rpcs)
        self._streams = Gauge(runtime.config.max_open_streams)
        # Health is open to anyone: its Watch streams get slots of their own, so that they cannot take
        # the ones of callers with credentials; a health Check is never refused for load.
        self._watches = Gauge(runtime.config.max_open_streams)

    async def intercept_service(self, continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Any]],
                                details: grpc.HandlerCallDetails) -> Any:
        handler = await continuation(details)
        if handler is None:
            return None
        service, method = service_name(details.method)
        streaming = bool(handler.request_streaming or handler.response_streaming)

        async def admit(context: grpc.aio.ServicerContext) -> Callable[[], None]:
            return await self._admit(context, service, method, streaming)

        return _wrap(handler, admit)

    async def _admit(self, context: grpc.aio.ServicerContext, service: str, method: str,
                     streaming: bool) -> Callable[[], None]:
        """Check the call and count it; returns what undoes the count. A refused call is aborted here."""
        caller = Caller("")
        gauges: list[Gauge] = []
        config = self._runtime.config
        try:
            if self._access.needs_credentials(service):
                subject, fingerprint = _certificate(context) if self._access.client_certificates else ("", "")
                if subject:  # a refused certificate is named in the request log too
                    caller = Caller(subject, via="certificate")
                caller = self._access.authenticate(_authorization(context), subject, fingerprint)
                self._access.authorize(caller, service)
            if service == "health":
                counted = [(self._watches, "max_open_streams")] if streaming else []
            else:
                counted = [(self._calls, "max_concurrent_rpcs")]
                counted += [(self._streams, "max_open_streams")] if streaming else []
            for gauge, limit in counted:
                if not gauge.enter():
                    what = "streams" if limit == "max_open_streams" else "calls"
                    raise RateLimited(f"the server has {gauge.value} {what} open, its limit of {limit}={gauge.cap}; "
                                      "retry later", limit=limit, retry_after_s=config.retry_after_s)
                gauges.append(gauge)
            enter_call(caller, config.retry_after_s)
        except CrosswireError as exc:
            for gauge in gauges:
                gauge.leave()
            await self._refuse(context, method, caller, exc)
        set_caller(caller)

        def release() -> None:
            leave_call(caller)
            for gauge in gauges:
                gauge.leave()

        return release

    async def _refuse(self, context: grpc.aio.ServicerContext, method: str, caller: Caller,
                      error: CrosswireError) -> None:
        """End the call with the error's status and details, after its request log line."""
        set_caller(caller)
        record = RequestRecord(method, context, self._runtime.metrics)
        status, message = status_for(error), clip(str(error))
        details = rich_status(status, message, record.fields["id"], error, self._runtime.config,
                              getattr(error, "retry_after_s", 0.0))
        record.emit(status, message)
        trailers = (("x-request-id", record.fields["id"]), (DETAILS_TRAILER, details.SerializeToString()))
        await context.abort(status, message, trailers)


def _wrap(handler: Any, admit: Callable[[grpc.aio.ServicerContext], Awaitable[Callable[[], None]]]) -> Any:
    """The same kind of method handler, running `admit` first and its release when the call ends."""
    if handler.unary_unary:
        behavior, make = handler.unary_unary, grpc.unary_unary_rpc_method_handler
    elif handler.unary_stream:
        behavior, make = handler.unary_stream, grpc.unary_stream_rpc_method_handler
    elif handler.stream_unary:
        behavior, make = handler.stream_unary, grpc.stream_unary_rpc_method_handler
    else:
        behavior, make = handler.stream_stream, grpc.stream_stream_rpc_method_handler

    if inspect.isasyncgenfunction(behavior):
        async def guarded_stream(request: Any, context: grpc.aio.ServicerContext) -> Any:
            release = await admit(context)
            try:
                async with contextlib.aclosing(behavior(request, context)) as responses:
                    async for response in responses:
                        yield response
            finally:
                release()

        guarded: Any = guarded_stream
    else:
        async def guarded_call(request: Any, context: grpc.aio.ServicerContext) -> Any:
            release = await admit(context)
            try:
                result = behavior(request, context)
                return await result if inspect.isawaitable(result) else result
            finally:
                release()

        guarded = guarded_call
    return make(guarded, request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer)
