"""The batch scheduler on the tiny model: token budgets, sharing out between replicas, batch reports."""

from __future__ import annotations

import asyncio

import ctranslate2
import sentencepiece as spm

from crosswire_server.batching import BatchScheduler, DecodeOptions, _Item, share_out

SENTENCES = [f"Новость номер {i}: правительство объявило о мерах поддержки экономики." for i in range(12)]


def items(lengths: list[int]) -> list[_Item]:
    return [_Item(["▁x"] * n, DecodeOptions(), None) for n in lengths]  # type: ignore[arg-type]


def test_share_out_sorts_by_length_and_balances_tokens() -> None:
    groups = share_out(items([9, 1, 5, 3, 7, 2, 8, 4]), 2)
    assert len(groups) == 2
    lengths = [[len(item.tokens) for item in group] for group in groups]
    assert lengths[0] + lengths[1] == sorted(lengths[0] + lengths[1])
    totals = [sum(group) for group in lengths]
    assert abs(totals[0] - totals[1]) <= 9


def test_share_out_never_makes_more_groups_than_items() -> None:
    assert [len(g) for g in share_out(items([5]), 4)] == [1]
    assert len(share_out(items([3, 3, 3]), 1)) == 1
    assert sum(len(g) for g in share_out(items(list(range(1, 30))), 3)) == 29


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
