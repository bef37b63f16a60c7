"""The translation core (no gRPC) on the tiny random-weight model: pipeline, limits, batching."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from crosswire_server.batching import DecodeOptions
from crosswire_server.config import ServerConfig
from crosswire_server.errors import InvalidInput, Overloaded, UnsupportedPair
from crosswire_server.translation import TranslationEngine, join_layout, split_long
from support.gate import gate, wait_until_async

SENTENCE = "Правительство объявило о новых мерах поддержки экономики."
# Distinct sentences: identical ones are translated once (see test_translation_cache.py).
SENTENCES = [f"Новость номер {i}. {SENTENCE}" for i in range(8)]


def make_engine(models_dir: Path, **settings) -> TranslationEngine:
    settings.setdefault("max_decoding_length", 16)
    return TranslationEngine.load(ServerConfig.from_env({}, models_dir=models_dir, **settings))


def run(engine: TranslationEngine, coroutine):
    async def body():
        try:
            return await coroutine
        finally:
            await engine.close()

    return asyncio.run(body())


def test_split_long_keeps_every_piece_and_prefers_clause_ends() -> None:
    tokens = ["▁a", "▁b", ",", "▁c", "▁d", "▁e", "▁f", "▁g", "▁h", "."]
    chunks = split_long(tokens, 4)
    assert [t for chunk in chunks for t in chunk] == tokens
    assert all(len(chunk) <= 4 for chunk in chunks)
    assert chunks[0] == ["▁a", "▁b", ","]
    assert split_long(["x"] * 10, 3) == [["x"] * 3, ["x"] * 3, ["x"] * 3, ["x"]]


def test_join_layout_keeps_line_breaks() -> None:
    text = "A. B.\n\nC.\nD."
    spans = [(0, 2, "a"), (3, 5, "b"), (7, 9, "c"), (10, 12, "d")]
    assert join_layout(text, spans) == "a b\n\nc\nd"
    skipped = "A.\n\nPhoto: EPA\n\nB."
    assert join_layout(skipped, [(0, 2, "a"), (len(skipped) - 2, len(skipped), "b")]) == "a\n\nb"


def test_translates_texts_in_order_with_layout_and_offsets(tiny_models_dir: Path) -> None:
    engine = make_engine(tiny_models_dir)
    texts = [f"{SENTENCE} Цены на нефть выросли.\n\nВ Москве прошла встреча.", "", "Суд вынес приговор."]
    results = run(engine, engine.translate(texts, source="ru"))
    assert len(results) == 3
    first, empty, last = results
    assert first.model == "tiny-ru-en" and first.source_language == "ru" and first.target_language == "en"
    assert len(first.segments) == 3
    assert first.text.count("\n\n") == 1
    for segment in first.segments:
        assert texts[0][segment.start:segment.end] == segment.source
        assert segment.translated and segment.translation
    assert [s.paragraph for s in first.segments] == [0, 0, 1]
    assert empty.text == "" and empty.segments == []
    assert len(last.segments) == 1


def test_all_texts_of_a_request_share_batches(tiny_models_dir: Path) -> None:
    engine = make_engine(tiny_models_dir, inter_threads=1)

    async def body():
        await engine.translate(SENTENCES[:6], source="ru", presegmented=True)
        return engine.scheduler(engine.pick_model("ru", "en"))

    scheduler = run(engine, body())
    assert scheduler.sentences == 6
    assert scheduler.batches == 1


def test_long_sentences_are_split_not_truncated(tiny_models_dir: Path) -> None:
    engine = make_engine(tiny_models_dir, max_input_tokens=8)
    long_sentence = " ".join([SENTENCE.rstrip(".")] * 4) + "."

    async def body():
        results = await engine.translate([long_sentence], source="ru", presegmented=True)
        return results, engine.scheduler(engine.pick_model("ru", "en"))

    (result,), scheduler = run(engine, body())
    pieces = engine.pick_model("ru", "en").encode([long_sentence])[0]
    assert len(result.segments) == 1
    assert len(pieces) > 16
    chunks = split_long(pieces, 8)
    assert len(chunks) >= -(-len(pieces) // 8)
    assert scheduler.sentences == len({tuple(chunk) for chunk in chunks})  # repeated chunks go once


def test_detects_the_source_language(tiny_models_dir: Path) -> None:
    engine = make_engine(tiny_models_dir)
    (result,) = run(engine, engine.translate([SENTENCE]))
    assert result.source_language == "ru"


def test_limits_name_themselves(tiny_models_dir: Path) -> None:
    engine = make_engine(tiny_models_dir, max_texts=2, max_chars=100)
    with pytest.raises(InvalidInput, match="max_texts=2"):
        engine.check_limits(["a", "b", "c"])
    with pytest.raises(InvalidInput, match="max_chars=100"):
        engine.check_limits(["x" * 101])
    with pytest.raises(InvalidInput, match="max_beam_size"):
        engine.decode_options(beam_size=99)
    with pytest.raises(InvalidInput, match="num_hypotheses"):
        engine.decode_options(beam_size=2, num_hypotheses=3)


def test_unknown_pair_lists_the_available_ones(tiny_models_dir: Path) -> None:
    engine = make_engine(tiny_models_dir)
    with pytest.raises(UnsupportedPair, match=r"fr->en.*ru->en"):
        run(engine, engine.translate(["Bonjour."], source="fr"))
    with pytest.raises(InvalidInput, match="not installed"):
        run(engine, engine.translate([SENTENCE], model="nope"))


def test_scores_and_alternatives(tiny_models_dir: Path) -> None:
    engine = make_engine(tiny_models_dir)
    options = engine.decode_options(beam_size=3, num_hypotheses=2, return_scores=True)
    (result,) = run(engine, engine.translate([SENTENCE], source="ru", options=options))
    segment = result.segments[0]
    assert isinstance(segment.score, float) and segment.score < 0
    assert len(segment.alternatives) == 1
    assert segment.alternatives[0].score <= segment.score
    plain_engine = make_engine(tiny_models_dir)
    (plain,) = run(plain_engine, plain_engine.translate([SENTENCE], source="ru"))
    assert plain.segments[0].score is None and plain.segments[0].alternatives == []


def test_full_queue_refuses_and_queues_nothing(tiny_models_dir: Path) -> None:
    engine = make_engine(tiny_models_dir, max_queued_sentences=3, inter_threads=1)
    translator = gate(engine)

    async def body():
        scheduler = engine.scheduler(engine.pick_model("ru", "en"))
        with translator.closed():
            running = asyncio.create_task(engine.translate(SENTENCES[:1], source="ru", presegmented=True))
            await asyncio.to_thread(translator.wait_for_batches, 1)  # the one replica is busy
            queued = asyncio.create_task(engine.translate(SENTENCES[1:3], source="ru", presegmented=True))
            await wait_until_async(lambda: scheduler.queued == 2, "two sentences queued")
            with pytest.raises(Overloaded, match="max_queued_sentences=3"):
                await engine.translate(SENTENCES[3:5], source="ru", presegmented=True)
            left = scheduler.queued
        return left, [len(r) for r in await asyncio.gather(running, queued)]

    assert run(engine, body()) == (2, [1, 2])


def test_a_request_larger_than_the_queue_is_invalid_before_tokenising(tiny_models_dir: Path) -> None:
    engine = make_engine(tiny_models_dir, max_queued_sentences=3)
    model = engine.pick_model("ru", "en")
    encoded = []
    model.encode = lambda sentences: encoded.append(sentences) or []

    async def body():
        with pytest.raises(InvalidInput, match="max_queued_sentences=3") as info:
            await engine.translate([" ".join(SENTENCES[:2]), " ".join(SENTENCES[2:4])], source="ru")
        return info.value

    error = run(engine, body())
    assert error.limit == "max_queued_sentences" and "could never be queued" in str(error)
    assert encoded == []  # refused after segmenting, before any tokenising or decoding
    assert engine.scheduler(model).sentences == 0


def test_cancelled_requests_are_dropped_before_decoding(tiny_models_dir: Path) -> None:
    engine = make_engine(tiny_models_dir, batch_window_ms=300)

    async def body():
        task = asyncio.create_task(engine.translate(SENTENCES[:4], source="ru", presegmented=True))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0.5)
        (after,) = await engine.translate([SENTENCE], source="ru", presegmented=True)
        return engine.scheduler(engine.pick_model("ru", "en")).sentences, after

    translated, after = run(engine, body())
    assert translated == 1
    assert after.text


def test_decode_options_defaults(tiny_models_dir: Path) -> None:
    engine = make_engine(tiny_models_dir, beam_size=3, max_decoding_length=50)
    assert engine.decode_options() == DecodeOptions(3, 1, False, 50)


ARTICLE = """Кризис в Сирии
НАТО призвало Россию прекратить боевые действия в Сирии
БРЮССЕЛЬ, 6 декабря. /Корр. ТАСС Виктория Дубровина/. Министры призвали Россию прекратить боевые действия. Об этом говорится в заявлении.

Переговоры продолжатся на следующей неделе, сообщил источник.

Читайте также: Керри провел переговоры с Лавровым

Переговоры продолжатся на следующей неделе, сообщил источник.
"""


def test_article_roles_choose_what_is_translated_and_duplicates_are_translated_once(tiny_models_dir: Path) -> None:
    engine = make_engine(tiny_models_dir)

    async def body():
        (result,) = await engine.translate([ARTICLE], source="ru")
        return result, engine.scheduler(engine.pick_model("ru", "en")).sentences

    result, decoded = run(engine, body())
    by_role = {}
    for segment in result.segments:
        by_role.setdefault(segment.role.value, []).append(segment)
    assert {"section", "headline", "dateline", "body", "boilerplate"} <= set(by_role)
    assert all(s.translated for s in by_role["headline"] + by_role["body"])
    assert not any(s.translated or s.translation for s in by_role["section"] + by_role["dateline"] + by_role["boilerplate"])
    repeat = next(s for s in result.segments if s.duplicate_of is not None)
    assert repeat.translated and repeat.translation == result.segments[repeat.duplicate_of].translation
    translated = [s for s in result.segments if s.translated]
    assert decoded == len(translated) - 1, "the repeated paragraph must not be decoded again"
    assert result.text.count("\n\n") == 2  # headline+body block, first paragraph, the repeat (boilerplate skipped)


def test_roles_and_duplicates_can_be_asked_for(tiny_models_dir: Path) -> None:
    from crosswire.types import Role

    engine = make_engine(tiny_models_dir)
    (result,) = run(engine, engine.translate([ARTICLE], source="ru", roles=[Role.DATELINE],
                                             translate_duplicates=True))
    assert [s.role for s in result.segments if s.translated] == [Role.DATELINE]
