"""The batch scheduler on the tiny model: token budgets, sharing out between replicas, batch reports."""

from __future__ import annotations

import asyncio
import threading

import ctranslate2
import sentencepiece as spm

from crosswire_server.batching import BatchScheduler, DecodeOptions, _Item, share_out

SENTENCES = [f"Новость номер {i}: правительство объявило о мерах поддержки экономики." for i in range(12)]


def items(lengths: list[int]) -> list[_Item]:
    return [_Item(["▁x"] * n, DecodeOptions(), None) for n in lengths]  # type: ignore[arg-type]


def lengths(groups: list[list[_Item]]) -> list[list[int]]:
    return [[len(item.tokens) for item in group] for group in groups]


def test_share_out_sorts_longest_first_and_balances_tokens() -> None:
    groups = lengths(share_out(items([9, 1, 5, 3, 7, 2, 8, 4]), 2, 2048))
    assert len(groups) == 2
    assert groups[0] + groups[1] == sorted(groups[0] + groups[1], reverse=True)  # longest first
    assert abs(sum(groups[0]) - sum(groups[1])) <= 9


def test_share_out_counts_padding_as_ctranslate2_does() -> None:
    # Ten sentences of 10..100 pieces: 550 pieces, but one batch would cost 10 x 100 = 1000 with padding.
    groups = lengths(share_out(items(list(range(10, 101, 10))), 1, 600))
    assert sum(map(len, groups)) == 10 and len(groups) > 1
    assert all(len(group) * max(group) <= 600 for group in groups)


def test_share_out_never_makes_more_groups_than_items() -> None:
    assert lengths(share_out(items([5]), 4, 2048)) == [[5]]
    assert len(share_out(items([3, 3, 3]), 1, 2048)) == 1
    assert sum(map(len, share_out(items(list(range(1, 30))), 3, 2048))) == 29
    assert share_out([], 2, 2048) == [[]]


def run_scheduler(tiny_model, token_lists, **settings) -> tuple[list, list]:
    """Translate with a fresh scheduler; returns (results, one (sentences, source tokens) per batch)."""
    translator = ctranslate2.Translator(str(tiny_model.model_path), inter_threads=2, intra_threads=1)
    reports: list[tuple[int, int]] = []

    async def body():
        scheduler = BatchScheduler(translator, on_batch=lambda n, src, tgt, s: reports.append((n, src)), **settings)
        try:
            return await scheduler.translate(token_lists, DecodeOptions(max_decoding_length=8))
        finally:
            await scheduler.close()

    return asyncio.run(body()), reports


def encode(tiny_model, sentences: list[str]) -> list[list[str]]:
    return spm.SentencePieceProcessor(model_file=str(tiny_model.source_spm)).encode(sentences, out_type=str)


def test_a_request_is_shared_out_between_free_replicas(tiny_model) -> None:
    results, reports = run_scheduler(tiny_model, encode(tiny_model, SENTENCES[:8]), parallel_batches=2)
    assert len(results) == 8 and all(r.hypotheses[0] for r in results)
    assert len(reports) == 2 and sum(n for n, _ in reports) == 8


def test_batches_keep_to_the_token_budget(tiny_model) -> None:
    token_lists = encode(tiny_model, SENTENCES)
    longest = max(map(len, token_lists))
    results, reports = run_scheduler(tiny_model, token_lists, parallel_batches=1, batch_tokens=2 * longest)
    assert len(results) == len(SENTENCES)
    assert sum(n for n, _ in reports) == len(SENTENCES)
    assert len(reports) >= len(SENTENCES) // 2
    assert all(tokens <= 2 * longest for _, tokens in reports)


class GatedTranslator:
    """A translator whose batches wait for the test's go-ahead, so the scheduler can be looked at mid-run."""

    def __init__(self, translator: ctranslate2.Translator) -> None:
        self._translator = translator
        self.entered = threading.Semaphore(0)
        self.go = threading.Event()

    def translate_batch(self, *args, **kwargs):
        self.entered.release()
        self.go.wait(30)
        return self._translator.translate_batch(*args, **kwargs)


def test_what_free_replicas_cannot_take_waits_in_the_queue(tiny_model) -> None:
    token_lists = encode(tiny_model, SENTENCES)
    longest = max(map(len, token_lists))
    gated = GatedTranslator(ctranslate2.Translator(str(tiny_model.model_path), inter_threads=2, intra_threads=1))
    sizes: list[int] = []

    async def body():
        # The budget holds two sentences with padding: twelve sentences make six batches, two at a time.
        scheduler = BatchScheduler(gated, parallel_batches=2, batch_tokens=2 * longest,
                                   on_batch=lambda n, src, tgt, s: sizes.append(n))
        try:
            work = asyncio.create_task(scheduler.translate(token_lists, DecodeOptions(max_decoding_length=8)))
            for _ in range(2):
                assert await asyncio.to_thread(gated.entered.acquire, timeout=30), "two batches should start"
            both_busy = (scheduler.running, scheduler.queued)
            gated.go.set()
            return both_busy, await work
        finally:
            gated.go.set()
            await scheduler.close()

    (running, queued), results = asyncio.run(body())
    assert running == 2 and queued >= len(SENTENCES) - 4, "the rest waits in the scheduler's queue"
    assert len(results) == len(SENTENCES) and sum(sizes) == len(SENTENCES)
    assert all(n <= 2 for n in sizes)
