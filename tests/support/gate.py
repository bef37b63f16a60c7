"""A translator whose batches wait at a gate, so a test can hold work in flight and fill a queue for real.

The gate stands open until a test closes it; every batch that reaches the
translator meanwhile waits (in its worker thread) until it opens again. Waits
are bounded, so a broken test fails instead of hanging.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

WAIT_S = 60.0


class GatedTranslator:
    """Wraps a ctranslate2.Translator; translate_batch waits while the gate is closed."""

    def __init__(self, translator: Any) -> None:
        self._translator = translator
        self._open = threading.Event()
        self._open.set()
        self._lock = threading.Condition()
        self.waiting = 0  # batches held at the gate now

    def translate_batch(self, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            self.waiting += 1
            self._lock.notify_all()
        try:
            self._open.wait(WAIT_S)
        finally:
            with self._lock:
                self.waiting -= 1
        return self._translator.translate_batch(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._translator, name)

    def close(self) -> None:
        self._open.clear()

    def open(self) -> None:
        self._open.set()

    def wait_for_batches(self, count: int) -> None:
        """Block until `count` batches wait at the gate (AssertionError after WAIT_S)."""
        with self._lock:
            assert self._lock.wait_for(lambda: self.waiting >= count, WAIT_S), f"{self.waiting} of {count} batches came"

    @contextlib.contextmanager
    def closed(self) -> Iterator[GatedTranslator]:
        """The gate closed for the block, open again after it, whatever happened."""
        self.close()
        try:
            yield self
        finally:
            self.open()


def gate(engine: Any, source: str = "ru", target: str = "en") -> GatedTranslator:
    """Put a gate in front of the translator of the engine's model for source->target (before its first use)."""
    model = engine.pick_model(source, target)
    if not isinstance(model.translator, GatedTranslator):
        model.translator = GatedTranslator(model.translator)
    return model.translator


def wait_until(condition: Callable[[], bool], what: str) -> None:
    """Poll `condition` (cheap, in-process state) until it holds; AssertionError after WAIT_S."""
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


async def wait_until_async(condition: Callable[[], bool], what: str) -> None:
    """wait_until inside an event loop."""
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)
