"""The translation cache: LRU behaviour, and repeated sentences translated once by the engine."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from crosswire_server.cache import TranslationCache
from crosswire_server.config import ServerConfig
from crosswire_server.translation import TranslationEngine

HEADLINE = "Правительство объявило о новых мерах поддержки экономики."
OTHER = "Суд вынес приговор бывшему министру."


def test_lru_drops_the_least_recently_used_entry() -> None:
    cache: TranslationCache[str] = TranslationCache(2)
    cache.put("a", "A")
    cache.put("b", "B")
    assert cache.get("a") == "A"  # now "b" is the oldest
    cache.put("c", "C")
    assert cache.get("b") is None
    assert cache.get("a") == "A" and cache.get("c") == "C"
    assert len(cache) == 2


def test_stats_count_hits_and_misses() -> None:
    cache: TranslationCache[str] = TranslationCache(10)
    assert cache.stats().hit_ratio == 0.0
    cache.get("x")
    cache.put("x", "X")
    cache.get("x")
    cache.get("x")
    cache.count_hits(2)
    stats = cache.stats()
    assert (stats.hits, stats.misses, stats.entries, stats.capacity) == (4, 1, 1, 10)
    assert stats.hit_ratio == pytest.approx(0.8)


def test_size_zero_turns_it_off() -> None:
    cache: TranslationCache[str] = TranslationCache(0)
    cache.put("x", "X")
    assert cache.get("x") is None
    assert not cache.enabled and len(cache) == 0 and cache.stats().misses == 0


def test_negative_size_names_the_setting() -> None:
    with pytest.raises(ValueError, match="cache_size"):
        TranslationCache(-1)


def translate_twice(models_dir: Path, first: list[str], second: list[str], **settings):
    """Two requests, one after the other, on a fresh engine: (results, sentences sent to the model, stats)."""
    engine = TranslationEngine.load(
        ServerConfig.from_env({}, models_dir=models_dir, max_decoding_length=16, **settings))

    async def body():
        try:
            one = await engine.translate(first, source="ru", presegmented=True)
            two = await engine.translate(second, source="ru", presegmented=True)
            return one, two, engine.scheduler(engine.pick_model("ru", "en")).sentences, engine.cache_stats()
        finally:
            await engine.close()

    return asyncio.run(body())


def test_repeats_within_a_request_are_translated_once(tiny_models_dir: Path) -> None:
    one, _, sent, stats = translate_twice(tiny_models_dir, [HEADLINE, OTHER, HEADLINE, HEADLINE], [])
    assert sent == 2
    assert one[0].text == one[2].text == one[3].text and one[0].text
    assert (stats.hits, stats.misses) == (2, 2)


def test_a_later_request_is_answered_from_the_cache(tiny_models_dir: Path) -> None:
    one, two, sent, stats = translate_twice(tiny_models_dir, [HEADLINE, OTHER], [OTHER, HEADLINE])
    assert sent == 2
    assert [r.text for r in two] == [one[1].text, one[0].text]
    assert stats.hits == 2 and stats.entries == 2


def test_the_key_is_the_sentence_as_the_model_sees_it(tiny_models_dir: Path) -> None:
    # Extra spaces vanish in sentencepiece's normalisation, so the model would see the same input.
    spaced = HEADLINE.replace(" ", "   ")
    one, two, sent, stats = translate_twice(tiny_models_dir, [HEADLINE], [spaced])
    assert sent == 1 and two[0].text == one[0].text and stats.hits == 1


def test_other_decoding_options_are_other_entries(tiny_models_dir: Path) -> None:
    engine = TranslationEngine.load(ServerConfig.from_env({}, models_dir=tiny_models_dir, max_decoding_length=16))

    async def body():
        try:
            await engine.translate([HEADLINE], source="ru", presegmented=True)
            await engine.translate([HEADLINE], source="ru", presegmented=True,
                                   options=engine.decode_options(beam_size=3))
            return engine.scheduler(engine.pick_model("ru", "en")).sentences
        finally:
            await engine.close()

    assert asyncio.run(body()) == 2


def test_without_a_cache_every_request_reaches_the_model(tiny_models_dir: Path) -> None:
    one, two, sent, stats = translate_twice(tiny_models_dir, [HEADLINE, HEADLINE], [HEADLINE], cache_size=0)
    assert sent == 2  # repeats inside one request still go once
    assert two[0].text == one[0].text
    assert stats.capacity == 0 and stats.entries == 0


def test_the_cache_is_bounded_in_bytes_too() -> None:
    cache: TranslationCache[str] = TranslationCache(1000, max_bytes=100, sizeof=lambda key, value: len(value))
    cache.put("a", "x" * 40)
    cache.put("b", "y" * 40)
    cache.put("c", "z" * 40)  # 120 bytes: the oldest goes, though far under 1000 entries
    assert (cache.get("a"), len(cache), cache.stats().bytes) == (None, 2, 80)
    cache.put("b", "y" * 10)  # replacing an entry counts its new size only
    assert cache.stats().bytes == 50
    cache.put("huge", "h" * 101)  # larger than the whole cache: not kept, nothing evicted for it
    assert (cache.get("huge"), len(cache)) == (None, 2)


def translate_once(engine: TranslationEngine, text: str) -> None:
    async def body() -> None:
        try:
            await engine.translate([text], source="ru")
        finally:
            await engine.close()

    asyncio.run(body())


def test_the_engine_counts_the_bytes_of_its_entries(tiny_models_dir: Path) -> None:
    engine = TranslationEngine.load(ServerConfig.from_env({}, models_dir=tiny_models_dir, max_decoding_length=8,
                                                          cache_bytes=1))
    translate_once(engine, OTHER)
    assert engine.cache_stats().entries == 0  # every entry is over one byte
    roomy = TranslationEngine.load(ServerConfig.from_env({}, models_dir=tiny_models_dir, max_decoding_length=8))
    translate_once(roomy, OTHER)
    stats = roomy.cache_stats()
    assert stats.entries == 1 and 200 < stats.bytes < 10_000
