"""A memory budget across the requests in progress, each estimated from its size.

The per-request limits bound one request; the budget bounds all of them at once,
so many large requests arriving together are answered RESOURCE_EXHAUSTED (with
a retry delay) instead of growing the server until the OS kills it. A request
estimated larger than the whole budget could never run: INVALID_ARGUMENT.

A large request refused for want of room would otherwise keep being refused
while a stream of small ones takes every megabyte that frees up. So its refusal
leaves a claim for its size: for CLAIM_S seconds, other requests are let in only
while room for it stays free, and a request of that size (in practice the
refused one, sent again after its retry delay) is let in once the room is there
for it and for the claims older than its own: large requests get in in the
order they were first refused, whatever their sizes. Each refusal of a request
of a claimed size renews its claim, so it holds while its request keeps coming
back and lapses CLAIM_S after the last time. Only a request that does not fit
beside the requests in progress claims, and only while all claims together fit
in the budget: a client that moves on instead of coming back leaves a claim
that holds room for nothing until it lapses, and many of them would stop every
request. A request refused without a claim tries again later like any other.

A request charged twice (an Align's sentence pairs, once known, beside its
estimate at the door) is known by its first charge: refused at the second, it
claims room for both, and at the door it is let in only when that room is there.
Work that learns its size only once started (segmentation, once it has counted
the sentences) says so with `need`: the request's reservation grows, the same
way as a second charge, to the sum of what its work said it needs, when that
is more than its estimate at the door.

A request's blocking work runs through `in_thread`, which keeps its memory
charged until the worker thread returns, even when the request is cancelled
first: a thread cannot be stopped, and the memory stays in use until it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar

from crosswire_server.config import ServerConfig
from crosswire_server.errors import InvalidInput, Overloaded

T = TypeVar("T")
_MB = 1024 * 1024
#: How long a refused request's claim holds room back from smaller requests: a few of its client's retry delays.
CLAIM_S = 10.0


class Reservation:
    """Memory held for one request until released (a context manager; releasing twice is harmless).

    Inside its `with`, the reservation is the current one: `in_thread` pins it while
    the request's blocking work runs, so that a cancelled request (its caller gone,
    its deadline past) keeps its memory charged until its worker thread is done with it.
    """

    def __init__(self, budget: MemoryBudget | None, size: int) -> None:
        self._budget = budget
        self.size = size
        self._lock = threading.Lock()
        self._pins = 0  # worker threads of the request still running
        self._wanted = False  # released by its request; freed once no thread pins it
        self._current: contextlib.AbstractContextManager | None = None  # kept() while in its `with`
        self._needed = 0  # what its work has said it needs so far (need())
        self.first = size  # its size when made: what the claim rules know its request by (MemoryBudget.reserve)

    def release(self) -> None:
        with self._lock:
            self._wanted = True
            if self._pins:
                return
        self._free()

    def pin(self) -> None:
        with self._lock:
            self._pins += 1

    def unpin(self) -> None:
        with self._lock:
            self._pins -= 1
            if self._pins or not self._wanted:
                return
        self._free()

    def need(self, size: int) -> None:
        """Its work needs `size` bytes more than it said before: held at least the sum of what it said, it grows
        by what that passes its size; Overloaded or InvalidInput (see MemoryBudget.reserve) when it cannot."""
        with self._lock:
            self._needed += size
            extra, budget = self._needed - self.size, self._budget
        if extra > 0 and budget is not None:
            budget.reserve(extra, beside=self.size, first=self.first)
            with self._lock:
                self.size += extra

    def _free(self) -> None:
        budget, self._budget = self._budget, None
        if budget is not None:
            budget._release(self.size)

    @contextlib.contextmanager
    def kept(self) -> Iterator[Reservation]:
        """The current reservation inside the block (see in_thread), still held after it: its owner releases it
        later (a stream's item, once its answer is sent)."""
        token = _held.set((*_held.get(), self))
        try:
            yield self
        finally:
            with contextlib.suppress(ValueError):  # left from another context (a stream closed by another task)
                _held.reset(token)

    def __enter__(self) -> Reservation:
        self._current = self.kept()
        return self._current.__enter__()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._current is not None:
            self._current.__exit__(kind, error, trace)
            self._current = None
        self.release()


#: The reservations of the request whose code is running (innermost last).
_held: contextvars.ContextVar[tuple[Reservation, ...]] = contextvars.ContextVar("crosswire_reserved", default=())


def need(size: int) -> None:
    """Tell the running request's reservation that its work needs `size` bytes more (see Reservation.need):
    work that learns its size once started, as segmentation does when it has counted the sentences. Outside
    a request (in-process use, no budget), nothing."""
    reservation = current_reservation()
    if reservation is not None:
        reservation.need(size)


def current_reservation() -> Reservation | None:
    """The running request's innermost reservation (None outside a request)."""
    reservations = _held.get()
    return reservations[-1] if reservations else None


async def in_thread(work: Callable[..., T], *args: Any, executor: Executor | None = None) -> T:
    """`work(*args)` in a worker thread (asyncio's default ones unless `executor`), the request's reservations
    pinned until it ends: a Python thread cannot be stopped, so a cancelled request's memory stays in use, and
    charged, until its thread returns. Work that has not started when its request is cancelled never runs."""
    held = _held.get()
    for reservation in held:
        reservation.pin()
    context = contextvars.copy_context()
    lock = threading.Lock()
    state = {"started": False, "abandoned": False}

    def unpin() -> None:
        for reservation in held:
            reservation.unpin()

    def run() -> T:
        with lock:
            if state["abandoned"]:
                raise asyncio.CancelledError
            state["started"] = True
        try:
            return context.run(work, *args)
        finally:
            unpin()

    try:
        return await asyncio.get_running_loop().run_in_executor(executor, run)
    except asyncio.CancelledError:
        with lock:
            never_ran = not state["started"]
            state["abandoned"] = True
        if never_ran:
            unpin()
        raise


@dataclass(frozen=True)
class _Claim:
    """Room kept for a refused request: since its first refusal, until CLAIM_S after its last, of its full size."""

    since: float
    lapses: float
    size: int


class MemoryBudget:
    """At most `capacity` bytes reserved at once (0 = no budget: every reservation succeeds)."""

    def __init__(self, capacity: int, per_request_byte: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = capacity
        self.per_request_byte = per_request_byte
        self.used = 0
        self._lock = threading.Lock()
        self._clock = clock
        self._claims: dict[int, _Claim] = {}  # by the size of a refused request's first charge

    @classmethod
    def from_config(cls, config: ServerConfig) -> MemoryBudget:
        return cls(config.memory_budget_mb * _MB, config.memory_per_request_byte)

    def estimate(self, request_bytes: int) -> int:
        """The memory a request of `request_bytes` bytes is expected to take."""
        return int(request_bytes * self.per_request_byte)

    def reserve_for(self, request_bytes: int) -> Reservation:
        """Reserve the estimate for a request of `request_bytes`; see reserve."""
        return self.reserve(self.estimate(request_bytes))

    def reserve(self, size: int, beside: int = 0, first: int = 0) -> Reservation:
        """Hold `size` bytes; Overloaded when the budget cannot take them now, InvalidInput when it never could.

        `beside` is what the same request holds already (its estimate at the door, when this is a second
        charge): the two together must fit in the budget, or the request could never run. `first` is that
        estimate as it was at the door, when it has grown since (Reservation.need): the request's key.
        """
        if self.capacity <= 0:
            return Reservation(None, size)
        if size + beside > self.capacity:
            raise InvalidInput(
                f"the request is estimated to need {(size + beside) // _MB} MB of memory while it runs, more than "
                f"the whole limit memory_budget_mb={self.capacity // _MB}; send less in one request",
                limit="memory_budget_mb")
        with self._lock:
            now = self._clock()
            self._claims = {key: claim for key, claim in self._claims.items() if claim.lapses > now}
            key = first or beside or size  # a request is known by its first charge, its estimate at the door
            mine = self._claims.get(key)
            ahead = [claim for other, claim in self._claims.items()
                     if other != key and (mine is None or claim.since < mine.since)]
            held = sum(claim.size for claim in ahead)
            # At the door, a request whose second charge was refused before needs room for both at once.
            wanted = mine.size if mine is not None and not beside else size
            if self.used + wanted + held > self.capacity:
                total = size + beside
                if mine is not None or (self.used + size > self.capacity
                                        and sum(claim.size for claim in self._claims.values()) + total
                                        <= self.capacity):  # its request again, or a new claim
                    self._claims[key] = _Claim(mine.since if mine else now, now + CLAIM_S, max(total, wanted))
                waiting = (f"; {held // _MB} MB are kept for "
                           f"{'a request' if len(ahead) == 1 else f'{len(ahead)} requests'} refused before") \
                    if held else ""
                raise Overloaded(
                    f"the server's memory budget is taken by requests in progress ({self.used // _MB} of "
                    f"{self.capacity // _MB} MB{waiting}; this one needs about {max(1, wanted // _MB)} MB), limit "
                    "memory_budget_mb; retry later", limit="memory_budget_mb")
            if mine is None or beside or wanted == size:
                self._claims.pop(key, None)  # a claim for both charges stays until the second one
            self.used += size
        return Reservation(self, size)

    def _release(self, size: int) -> None:
        with self._lock:
            self.used -= size
