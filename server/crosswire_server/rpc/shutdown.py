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
    """gRPC's health service, whose Watch calls end when the server starts stopping.

    Watch is its own here (Check is gRPC's): cancelling gRPC's Watch while it
    writes could leave the call unable to send its final status.
    """

    def __init__(self, stopping: asyncio.Event) -> None:
        super().__init__()
        self._stopping = stopping
        self._statuses: dict[str, int] = {}
        self._changed = asyncio.Event()
        self._closing = False

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def set(self, service: str, status: int) -> None:
        await super().set(service, status)
        if not self._closing:
            self._statuses[service] = status
            self._notify()

    async def enter_graceful_shutdown(self) -> None:
        await super().enter_graceful_shutdown()
        self._closing = True
        self._statuses = dict.fromkeys(self._statuses, health_pb2.HealthCheckResponse.NOT_SERVING)
        self._notify()

    async def Watch(self, request: health_pb2.HealthCheckRequest, context: grpc.aio.ServicerContext) -> None:
        last = None
        while True:
            changed = self._changed
            status = self._statuses.get(request.service, health_pb2.HealthCheckResponse.SERVICE_UNKNOWN)
            if status != last:
                await context.write(health_pb2.HealthCheckResponse(status=status))
                last = status
            if self._stopping.is_set():
                await context.abort(grpc.StatusCode.UNAVAILABLE, SHUTTING_DOWN)
            waits = [asyncio.ensure_future(changed.wait()), asyncio.ensure_future(self._stopping.wait())]
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for wait in waits:
                    wait.cancel()
