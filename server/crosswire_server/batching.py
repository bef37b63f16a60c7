"""Cross-request batching: one scheduler per model feeds CTranslate2 token-budgeted batches.

Sentences from every concurrent request queue up together; a worker gathers
them for a short window, groups them by decoding options, orders them by
length and hands them to `translate_batch` in a thread, so the event loop never
blocks. Up to `inter_threads` batches run at once (one per translator replica):
what is queued when replicas are free is shared out between all of them, since
on CPU two half-size batches on two cores beat one batch on one core.
Sentences of a cancelled request are dropped before they reach the model.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import ctranslate2

from crosswire_server.errors import InvalidInput, Overloaded

# Called after each batch with (sentences, source tokens, target tokens, seconds).
BatchObserver = Callable[[int, int, int, float], None]


@dataclass(frozen=True)
class DecodeOptions:
    """Decoding settings; sentences are batched together only when these are equal."""

    beam_size: int = 2
    num_hypotheses: int = 1
    return_scores: bool = False
    max_decoding_length: int = 256


@dataclass(frozen=True)
class Decoded:
    """Hypotheses for one source sentence, best first, as target pieces."""

    hypotheses: list[list[str]]
    scores: list[float] | None


@dataclass
class _Item:
    tokens: list[str]
    options: DecodeOptions
    future: asyncio.Future


def share_out(items: list[_Item], parts: int, batch_tokens: int) -> list[list[_Item]]:
    """Sort longest first and cut into batches, at least `parts` of them when there are enough sentences.

    A batch's cost is counted as CTranslate2 counts it, padding included (size times
    longest sentence), so CTranslate2 never cuts a batch again into a small leftover.
    The longest batches come first: the caller starts those and queues the rest again.
    """
    items = sorted(items, key=lambda item: len(item.tokens), reverse=True)
    groups: list[list[_Item]] = [[]]
    for item in items:
        if groups[-1] and (len(groups[-1]) + 1) * len(groups[-1][0].tokens) > batch_tokens:
            groups.append([])
        groups[-1].append(item)
    while len(groups) < min(parts, len(items)):  # fewer batches than free replicas: halve the biggest
        position = max((i for i, group in enumerate(groups) if len(group) > 1),
                       key=lambda i: sum(len(item.tokens) for item in groups[i]))
        group = groups[position]
        half = sum(len(item.tokens) for item in group) / 2
        cut, filled = 0, 0
        while cut < len(group) - 1 and filled < half:
            filled += len(group[cut].tokens)
            cut += 1
        groups[position:position + 1] = [group[:cut], group[cut:]]
    return groups


class BatchScheduler:
    """Gathers sentences from concurrent requests into batches for one translator."""

    def __init__(
        self,
        translator: ctranslate2.Translator,
        *,
        batch_tokens: int = 1024,
        window_s: float = 0.010,
        max_queued: int = 20000,
        max_input_tokens: int = 256,
        parallel_batches: int = 1,
        on_batch: BatchObserver | None = None,
    ) -> None:
        self._translator = translator
        self._batch_tokens = batch_tokens
        self._window_s = window_s
        self._max_queued = max_queued
        self._max_input_tokens = max_input_tokens
        self._parallel = parallel_batches
        self._on_batch = on_batch
        self._queue: collections.deque[_Item] = collections.deque()
        self._wakeup = asyncio.Event()
        self._slot_freed = asyncio.Event()
        self._executor = ThreadPoolExecutor(parallel_batches, thread_name_prefix="ct2-batch")
        self._running: set[asyncio.Task] = set()
        self._worker: asyncio.Task | None = None
        self.batches = 0
        self.sentences = 0

    @property
    def queued(self) -> int:
        """Sentences waiting for a batch."""
        return len(self._queue)

    @property
    def running(self) -> int:
        """Batches being translated now."""
        return len(self._running)

    async def translate(self, token_lists: list[list[str]], options: DecodeOptions) -> list[Decoded]:
        """Queue sentences (as source pieces) and wait for their hypotheses, in order.

        Raises Overloaded when the queue cannot take them all now, InvalidInput when it never
        could (more than max_queued); nothing is queued then.
        """
        if not token_lists:
            return []
        if len(token_lists) > self._max_queued:  # more than the whole queue: retrying cannot help
            raise InvalidInput(
                f"the request needs {len(token_lists)} sentences (long ones cut in parts) queued at once, over "
                f"the limit max_queued_sentences={self._max_queued}: it could never be queued; send less text",
                limit="max_queued_sentences")
        if len(self._queue) + len(token_lists) > self._max_queued:
            raise Overloaded(
                f"translation queue is full ({len(self._queue)} sentences queued, "
                f"limit max_queued_sentences={self._max_queued}); retry later"
            )
        loop = asyncio.get_running_loop()
        if self._worker is None:
            self._worker = loop.create_task(self._run(), name="crosswire-batch-scheduler")
        items = [_Item(tokens, options, loop.create_future()) for tokens in token_lists]
        # Longest first, as CTranslate2 orders them: a big request leaves in batches of like lengths,
        # and its last batches are the quick ones, so no replica idles long at the end.
        self._queue.extend(sorted(items, key=lambda item: len(item.tokens), reverse=True))
        self._wakeup.set()
        try:
            return list(await asyncio.gather(*(item.future for item in items)))
        except BaseException:
            for item in items:
                item.future.cancel()
            raise

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            while len(self._running) >= self._parallel:
                self._slot_freed.clear()
                await self._slot_freed.wait()
            # Gather for a moment, unless there is enough for every free replica already. After a
            # batch, this lets its callers' next sentences (sent as soon as they got their answers)
            # join the next batch instead of waiting a whole batch for the replica after.
            if not self._holds((self._parallel - len(self._running)) * self._batch_tokens):
                await asyncio.sleep(self._window_s)
            free = self._parallel - len(self._running)
            batches = share_out(self._take(free * self._batch_tokens), free, self._batch_tokens)
            for batch in batches[free:][::-1]:  # more than the free replicas can take: back to the front
                self._queue.extendleft(batch[::-1])
            if not self._queue:
                self._wakeup.clear()
            for batch in batches[:free]:
                if batch:
                    task = asyncio.get_running_loop().create_task(self._translate(batch))
                    self._running.add(task)
                    task.add_done_callback(self._finished)

    def _holds(self, tokens: int) -> bool:
        """Whether the queue holds at least `tokens` source tokens."""
        for item in self._queue:
            tokens -= len(item.tokens)
            if tokens <= 0:
                return True
        return False

    def _finished(self, task: asyncio.Task) -> None:
        self._running.discard(task)
        self._slot_freed.set()

    def _take(self, budget: int) -> list[_Item]:
        """Take live sentences sharing the oldest one's options, oldest first, up to `budget` tokens."""
        while self._queue and self._queue[0].future.done():
            self._queue.popleft()
        if not self._queue:
            return []
        options = self._queue[0].options
        taken: list[_Item] = []
        kept: collections.deque[_Item] = collections.deque()
        full = False
        while self._queue:
            item = self._queue.popleft()
            if item.future.done():
                continue
            if not full and item.options == options and (not taken or len(item.tokens) <= budget):
                taken.append(item)
                budget -= len(item.tokens)
            else:
                full = full or item.options == options
                kept.append(item)
        self._queue = kept
        return taken

    async def _translate(self, batch: list[_Item]) -> None:
        try:
            options = batch[0].options
            loop = asyncio.get_running_loop()
            began = time.perf_counter()
            results = await loop.run_in_executor(
                self._executor, self._translate_sync, [item.tokens for item in batch], options
            )
            seconds = time.perf_counter() - began
            self.batches += 1
            self.sentences += len(batch)
            for item, result in zip(batch, results):
                if not item.future.done():
                    item.future.set_result(result)
            if self._on_batch is not None:
                self._on_batch(len(batch), sum(len(item.tokens) for item in batch),
                               sum(len(r.hypotheses[0]) for r in results), seconds)
        except Exception as exc:
            for item in batch:
                if not item.future.done():
                    item.future.set_exception(exc)

    def _translate_sync(self, token_lists: list[list[str]], options: DecodeOptions) -> list[Decoded]:
        results = self._translator.translate_batch(
            token_lists,
            max_batch_size=self._batch_tokens,
            batch_type="tokens",
            beam_size=options.beam_size,
            num_hypotheses=options.num_hypotheses,
            return_scores=options.return_scores,
            max_decoding_length=options.max_decoding_length,
            max_input_length=self._max_input_tokens + 1,
        )
        return [
            Decoded(r.hypotheses, list(r.scores) if options.return_scores else None) for r in results
        ]

    async def close(self) -> None:
        """Stop the worker after in-flight batches finish; fail what is still queued."""
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
            self._worker = None
        while self._queue:
            item = self._queue.popleft()
            if not item.future.done():
                item.future.set_exception(Overloaded("server is shutting down"))
        self._executor.shutdown(wait=True)
