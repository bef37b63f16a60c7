"""Bad and odd input: each handled without error, offsets still pointing into the original text."""

from __future__ import annotations

import pytest

from crosswire.types import DEFAULT_ROLES, Role
from crosswire_server.errors import InvalidInput
from crosswire_server.segmentation import MAX_SENTENCE_CHARS, Identification, identify, segment
from support.documents import assert_well_formed


@pytest.mark.parametrize("text", ["", "   ", "\n\n\r\n\t", "\u200b\ufeff", "\x00\x01"])
def test_empty_or_invisible_text_has_no_sentences(text: str) -> None:
    document = segment(text, "ru")
    assert document.sentences == [] and document.text == text and document.language == "ru"


def test_only_boilerplate_is_kept_and_labelled() -> None:
    document = segment("Similar News\nRecent News\nBack to top\n\nЧитайте также: Новости дня", "en")
    assert_well_formed(document)
    assert [s.role for s in document.sentences] == [Role.BOILERPLATE] * 4
    assert [s for s in document.sentences if s.role in DEFAULT_ROLES] == []


def test_text_in_another_script_than_declared() -> None:
    english = segment("The talks ended on Friday. Both sides left Geneva.", "ru")
    assert_well_formed(english)
    assert [s.text for s in english.sentences] == ["The talks ended on Friday.", "Both sides left Geneva."]
    assert (english.language, english.detected_language) == ("ru", "en")
    chinese = segment("我们准备好了。明天见。", "en")
    assert [s.text for s in chinese.sentences] == ["我们准备好了。", "明天见。"]
    assert chinese.detected_language == "zh"
    assert segment("Переговоры завершились.", "ru").detected_language == "ru"


def test_language_is_detected_when_not_given() -> None:
    assert segment("Переговоры завершились. Стороны разъехались.", "").language == "ru"
    assert identify("The talks ended on Friday.").language == "en"
    assert identify("12345 !!!") == Identification("", 0.0)


def test_long_text_without_punctuation_is_cut_and_flagged() -> None:
    words = " ".join(f"слово{i}" for i in range(600))
    document = segment(f"Начало. Далее {words} Конец.", "ru")
    assert_well_formed(document)
    assert document.sentences[0].text == "Начало." and not document.sentences[0].forced_split
    cut = document.sentences[1:]
    assert len(cut) >= 4 and all(s.forced_split and len(s.text) <= MAX_SENTENCE_CHARS for s in cut)
    assert " ".join(s.text for s in cut) == f"Далее {words} Конец."


def test_run_without_spaces_is_cut_hard_at_the_limit() -> None:
    document = segment("ж" * 2500, "ru", max_sentence_chars=1000)
    assert_well_formed(document)
    assert [len(s.text) for s in document.sentences] == [1000, 1000, 500]
    assert all(s.forced_split for s in document.sentences)


def test_long_sentence_prefers_commas_for_its_cuts() -> None:
    text = ", ".join(["часть текста без точки"] * 10)
    document = segment(text, "ru", max_sentence_chars=100)
    assert_well_formed(document)
    assert all(s.text.endswith(",") for s in document.sentences[:-1])
    assert all(len(s.text) <= 100 for s in document.sentences)


def test_mixed_line_endings() -> None:
    text = "Первый абзац.\r\nВторой абзац.\rТретий абзац.\nЧетвертый.\u2028Пятый."
    document = segment(text, "ru")
    assert_well_formed(document)
    assert [(s.text, s.paragraph) for s in document.sentences] == [
        ("Первый абзац.", 0), ("Второй абзац.", 1), ("Третий абзац.", 2), ("Четвертый.", 3), ("Пятый.", 4)]


def test_zero_width_and_control_characters_are_kept_in_offsets_but_ignored() -> None:
    text = "\ufeffМИНСК, 25 окт — Sputnik. Первое пред\u00adложение.\u200b Второе\x07 предложение. Т.\u200bе. третье."
    document = segment(text, "ru")
    assert_well_formed(document)
    assert [(s.text, s.role) for s in document.sentences] == [
        ("МИНСК, 25 окт — Sputnik.", Role.DATELINE),
        ("Первое пред\u00adложение.", Role.BODY),
        ("Второе\x07 предложение.", Role.BODY),
        ("Т.\u200bе. третье.", Role.BODY),
    ]
    assert document.sentences[0].start == 1


def test_invisible_characters_do_not_hide_a_repeat() -> None:
    document = segment("Стороны договорились о прекращении огня.\nСтороны договорились о прекра\u200bщении огня.", "ru")
    assert document.sentences[1].duplicate_of == 0


@pytest.mark.parametrize(("call", "field"), [
    (lambda: segment("Текст.", "русский"), "language"),
    (lambda: segment("Текст.", "r"), "language"),
    (lambda: segment(b"bytes", "ru"), "text"),
    (lambda: segment("Текст.", "ru", max_sentence_chars=0), "max_sentence_chars"),
])
def test_malformed_arguments_name_the_field(call, field: str) -> None:
    with pytest.raises(InvalidInput, match=field):
        call()


def test_big_article_keeps_every_character() -> None:
    paragraph = ("Президент России Владимир Путин в понедельник провел совещание с членами правительства. "
                 "Обсуждались вопросы экономики, т. е. бюджет на 2017 г. и тарифы ЖКХ.\n\n")
    document = segment(paragraph * 2000, "ru")
    assert_well_formed(document)
    assert len(document.sentences) == 4000
    assert sum(s.duplicate_of is not None for s in document.sentences) == 3998


# Characters that stress the rules: terminal punctuation, quotes, dashes, brackets,
# abbreviations, initials, every kind of line break, invisible and control characters.
_PIECES = [
    ".", "!", "?", "…", "...", '"', "«", "»", "„", "“", "”", "'", "(", ")", "—", "-", " ", " ", " ", "\n", "\r\n",
    "\r", "\n\n", "\u2028", "\t", "\xa0", "\u200b", "\u00ad", "\ufeff", "\x00", "\x07", "т.", "е.", "г.", "Mr.",
    "U.S.", "В.", "Дж.", "1.", "2016", "19:10", "слово", "Слово", "word", "Word", "МОСКВА", "|", "我们", "。",
    "EPA/", "Read:", "4 min read",
]


@pytest.mark.parametrize("seed", range(40))
def test_random_text_is_always_well_formed(seed: int) -> None:
    import random

    rng = random.Random(seed)
    text = "".join(rng.choice(_PIECES) for _ in range(rng.randint(1, 400)))
    for language in ("ru", "en", "zh", ""):
        assert_well_formed(segment(text, language, max_sentence_chars=rng.choice((20, 1000))))


@pytest.mark.parametrize("text", [".", "!" * 3, "?!", "! ", ". ", "… ", "。"])
def test_long_runs_of_punctuation(text: str) -> None:
    document = segment("Да" + text * 50_000, "ru")
    assert_well_formed(document)
    assert all(s.forced_split for s in document.sentences)
