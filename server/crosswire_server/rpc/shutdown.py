"""Shutdown without waiting for idle streams: long-lived calls end as soon as the server starts stopping.

gRPC's graceful stop lets every call run until the grace period ends, so one
idle Health Watch or TranslateStream would hold a stopping server for all of
it. Here such calls watch the runtime's `stopping` event: a Watch ends at once
(after saying NOT_SERVING), a stream stops reading, delivers what it has in
flight and ends; both with UNAVAILABLE, which tells the caller to go elsewhere.
Unary calls are left to finish within the grace period.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, TypeVar

import grpc
from grpc_health.v1 import health, health_pb2

Item = TypeVar("Item")

#: What next_unless gives when the server stops first.
STOPPED: Any = object()
#: What next_unless gives at the end of the stream.
ENDED: Any = object()

SHUTTING_DOWN = "the server is shutting down; call another server or retry shortly"


async def next_unless(items: AsyncIterator[Item], stopping: asyncio.Event) -> Item:
    """The next item of `items`, ENDED after the last one, or STOPPED once `stopping` is set (the read is dropped)."""
    if stopping.is_set():
        return STOPPED
    read = asyncio.ensure_future(anext(items, ENDED))
    stop = asyncio.ensure_future(stopping.wait())
    try:
        await asyncio.wait((read, stop), return_when=asyncio.FIRST_COMPLETED)
    finally:
        stop.cancel()
        if not read.done():
            read.cancel()
        await asyncio.gather(read, stop, return_exceptions=True)
    if read.cancelled():
        return STOPPED
    return read.result()


class ClosingHealthServicer(health.aio.HealthServicer):
    """gRPC's health service, whose Watch calls end when the server starts stopping."""

    def __init__(self, stopping: asyncio.Event) -> None:
        super().__init__()
        self._stopping = stopping

    async def Watch(self, request: health_pb2.HealthCheckRequest, context: grpc.aio.ServicerContext) -> None:
        watching = asyncio.ensure_future(super().Watch(request, context))
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait((watching, stopping), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (watching, stopping):
                task.cancel()
            await asyncio.gather(watching, stopping, return_exceptions=True)
        if not self._stopping.is_set():
            return watching.result()  # the watch itself ended (it does not, short of an error)
        await context.write(health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.NOT_SERVING))
        await context.abort(grpc.StatusCode.UNAVAILABLE, SHUTTING_DOWN)
