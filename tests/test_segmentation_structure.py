"""Article parts in the shapes agencies and sites use beyond the seeds: datelines, credits, timestamps, links."""

from __future__ import annotations

import pytest

from crosswire.types import Role
from crosswire_server.segmentation import segment
from support.documents import assert_well_formed

B, H, D, T, C, S, X, P = (Role.BODY, Role.HEADLINE, Role.DATELINE, Role.TIMESTAMP, Role.CAPTION, Role.SECTION,
                          Role.BOILERPLATE, Role.PULL_QUOTE)


def parts(document) -> list[tuple[str, Role]]:
    """Each sentence's text and role, once the document's offsets and references are checked."""
    assert_well_formed(document)
    return [(s.text, s.role) for s in document.sentences]


@pytest.mark.parametrize(("text", "expected"), [
    ("WASHINGTON, Oct 5 (Reuters) - The Senate voted on Friday. It passed.",
     [("WASHINGTON, Oct 5 (Reuters) -", D), ("The Senate voted on Friday.", B), ("It passed.", B)]),
    ("МОСКВА, 21 фев — РИА Новости. Президент подписал указ.",
     [("МОСКВА, 21 фев — РИА Новости.", D), ("Президент подписал указ.", B)]),
    ("НЬЮ-ЙОРК, 3 марта. /ТАСС/. Биржи открылись ростом.",
     [("НЬЮ-ЙОРК, 3 марта. /ТАСС/.", D), ("Биржи открылись ростом.", B)]),
    # An agency in slashes is not a photo credit ("ТАСС/" followed by punctuation).
    ("БРЮССЕЛЬ, 6 декабря. /Корр. ТАСС/. Министры призвали.",
     [("БРЮССЕЛЬ, 6 декабря. /Корр. ТАСС/.", D), ("Министры призвали.", B)]),
    ("LONDON — Britain's prime minister resigned on Monday.",
     [("LONDON —", D), ("Britain's prime minister resigned on Monday.", B)]),
    ("MOSCOW, February 21. /TASS/.\nRussia and the US might launch joint operations.",
     [("MOSCOW, February 21. /TASS/.", D), ("Russia and the US might launch joint operations.", B)]),
    # not datelines: a label in capitals, a place in ordinary spelling, a sentence opening with a name
    ("UPDATE: The vote was postponed. More later.", [("UPDATE: The vote was postponed.", B), ("More later.", B)]),
    ("Москва — столица России. Это большой город.", [("Москва — столица России.", B), ("Это большой город.", B)]),
    ("МОСКВА — Путин прибыл в Минск на переговоры. Они продлятся день.",
     [("МОСКВА —", D), ("Путин прибыл в Минск на переговоры.", B), ("Они продлятся день.", B)]),
])
def test_datelines(text: str, expected: list[tuple[str, Role]]) -> None:
    document = segment(text, "")
    assert parts(document) == expected


def test_header_of_a_russian_site() -> None:
    text = ("Политика\n"
            "Заголовок новости о важном событии\n"
            "Подзаголовок: стороны договорились\n"
            "Фото: Reuters\n"
            "12.03.2021 14:05\n"
            "МОСКВА, 5 марта. /ТАСС/. Текст новости. Еще текст.\n"
            "Читайте также: Другая новость\n"
            "Подписывайтесь на наш канал в Telegram\n"
            "Текст продолжается. Конец.\n"
            "Поделиться\n")
    document = segment(text, "ru")
    assert parts(document) == [
        ("Политика", S), ("Заголовок новости о важном событии", H), ("Подзаголовок: стороны договорились", B),
        ("Фото: Reuters", C), ("12.03.2021 14:05", T), ("МОСКВА, 5 марта. /ТАСС/.", D), ("Текст новости.", B),
        ("Еще текст.", B), ("Читайте также: Другая новость", X), ("Подписывайтесь на наш канал в Telegram", X),
        ("Текст продолжается.", B), ("Конец.", B), ("Поделиться", X),
    ]


def test_header_of_an_english_site() -> None:
    text = ("World News\n\n"
            "Talks on the ceasefire resume in Geneva\n\n"
            "Published: 21 Feb 2017 14:05 GMT\n"
            "Updated 3 hours ago\n\n"
            "© AP Photo/Evan Vucci\n\n"
            "The talks resumed on Monday. \"We are close,\" the envoy said. |\n\n"
            "The talks resumed on Monday. Both sides sent delegations.\n\n"
            "© 2017 Example News. All rights reserved.\n")
    document = segment(text, "en")
    assert parts(document) == [
        ("World News", S), ("Talks on the ceasefire resume in Geneva", H),
        ("Published: 21 Feb 2017 14:05 GMT", T), ("Updated 3 hours ago", T), ("© AP Photo/Evan Vucci", C),
        ("The talks resumed on Monday.", P), ('"We are close," the envoy said. |', P),
        ("The talks resumed on Monday.", B), ("Both sides sent delegations.", B),
        ("© 2017 Example News.", X), ("All rights reserved.", X),
    ]
    pull, body = document.sentences[5], document.sentences[7]
    assert pull.duplicate_of is None and body.duplicate_of == pull.index


def test_short_texts_without_running_text_are_plain_body() -> None:
    for text in ("Доброе утро\nКак дела", "Hello world"):
        assert {s.role for s in segment(text, "").sentences} == {B}


def test_short_headline_above_running_text() -> None:
    document = segment("Протесты\n\nТысячи людей вышли на улицы. Полиция не вмешивалась.", "ru")
    assert [s.role for s in document.sentences] == [H, B, B]
