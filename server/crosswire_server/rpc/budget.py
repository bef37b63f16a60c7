"""The memory budget at the door: each call of a Crosswire service holds its estimate while it runs.

An interceptor, so every method of every crosswire.* service is covered,
present and future; health and reflection are never refused. A request over
its own count limits is refused first (rpc/limits.py), whatever the load. Stream messages
are charged one by one where they are read (rpc/translation.py).
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc

from crosswire_server.errors import CrosswireError
from crosswire_server.rpc.common import Runtime, handling
from crosswire_server.rpc.limits import check_request_limits
from crosswire_server.rpc.malformed import Undecodable


class BudgetGuard(grpc.aio.ServerInterceptor):
    """Reserves each unary request's estimated memory (runtime.budget) for as long as its call runs."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    async def intercept_service(self, continuation: Callable, details: grpc.HandlerCallDetails) -> Any:
        handler = await continuation(details)
        if handler is None or handler.request_streaming or not details.method.startswith("/crosswire."):
            return handler
        kind = "unary_stream" if handler.response_streaming else "unary_unary"
        behavior = getattr(handler, kind)
        name = details.method.rsplit("/", 1)[-1]
        if inspect.isasyncgenfunction(behavior):
            async def stream_out(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
                with await self._reserve(request, context, name):
                    async for response in behavior(request, context):
                        yield response
            return handler._replace(**{kind: stream_out})
        if inspect.iscoroutinefunction(behavior):
            async def one_out(request: Any, context: grpc.aio.ServicerContext) -> Any:
                with await self._reserve(request, context, name):
                    return await behavior(request, context)
            return handler._replace(**{kind: one_out})
        return handler

    async def _reserve(self, request: Any, context: grpc.aio.ServicerContext, name: str) -> Any:
        """The request's reservation; a refusal ends the call (logged like any request)."""
        budget = self._runtime.budget
        size = 0 if isinstance(request, Undecodable) else request.ByteSize()
        if size > self._runtime.config.max_message_bytes:
            size = 0  # the handler refuses it, naming max_message_bytes
        try:
            if not isinstance(request, Undecodable):
                check_request_limits(name, request, self._runtime.config)
            return budget.reserve_for(size)
        except CrosswireError as refusal:
            async with handling(context, name, self._runtime) as record:
                record.add(bytes=size)
                raise refusal
