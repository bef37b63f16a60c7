"""The structure of the five scraped seed articles, written by hand from reading them.

Each test checks headline, section, timestamp, dateline, captions, boilerplate,
pull quotes and duplicates where the article has them, and a sample of
sentence boundaries.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from crosswire.types import DEFAULT_ROLES, Document, Role, Sentence
from crosswire_server.segmentation import segment
from support.documents import assert_well_formed

SEEDS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "seeds"


def load(name: str, language: str) -> Document:
    path = SEEDS / name
    if not path.exists():
        pytest.skip(f"shared seed data not found at {SEEDS}")
    document = segment(path.read_text(encoding="utf-8"), language)
    assert_well_formed(document)
    return document


def find(document: Document, text: str, nth: int = 0) -> Sentence:
    """The nth sentence whose text is exactly `text`."""
    matches = [s for s in document.sentences if s.text == text]
    assert len(matches) > nth, f"no sentence {text!r} (occurrence {nth})"
    return matches[nth]


def roles(document: Document, role: Role) -> list[str]:
    return [s.text for s in document.sentences if s.role == role]


def paragraph(document: Document, first: str) -> list[str]:
    """All sentences of the paragraph that starts with the sentence `first`."""
    number = find(document, first).paragraph
    return [s.text for s in document.sentences if s.paragraph == number]


def test_sputnik_russian_dateline_quotes_no_headline() -> None:
    document = load("000_72c641db2ded9039.txt", "ru")
    first = document.sentences[0]
    assert (first.text, first.role) == ("МИНСК, 25 окт — Sputnik.", Role.DATELINE)
    assert roles(document, Role.HEADLINE) == []
    assert {s.role for s in document.sentences[1:]} == {Role.BODY}
    assert all(s.duplicate_of is None for s in document.sentences)
    assert document.sentences[1].text.startswith("Международная коалиция во главе с США")
    assert document.sentences[1].paragraph == 0
    assert paragraph(document, "Вместе с тем, Картер обратил внимание, что российская сторона не участвует в "
                               "планировании будущих операций.") == [
        "Вместе с тем, Картер обратил внимание, что российская сторона не участвует в планировании будущих операций.",
        '"Россия не участвует в наших планах по Ракке.',
        "Что касается взаимодействия, мы очень эффективно разрешаем вопросы по военным каналам, которые открыты "
        'ежедневно и работают очень профессионально с двух сторон", — уточнил Картер.',
    ]
    assert find(document, '"Все идет по заранее подготовленному плану", — сказал он.').paragraph == 3
    assert len(document.sentences) == 14
    assert document.sentences[-1].paragraph == 6


def test_tass_russian_timestamps_section_caption_dateline() -> None:
    document = load("001_2b59c0469892a034.txt", "ru")
    text = document.text
    timestamp_end = text.index("\nКризис")
    assert all(s.role == Role.TIMESTAMP for s in document.sentences if s.end <= timestamp_end)
    assert "".join(roles(document, Role.TIMESTAMP)).replace("\n", "").startswith("6\xa0декабря 2016, 18:39,")
    assert roles(document, Role.SECTION) == ["Кризис в Сирии"]
    assert roles(document, Role.HEADLINE) == ["Главы МИД НАТО призвали Россию к прекращению боев в Сирии"]
    assert roles(document, Role.CAPTION) == ["Йенс Столтенберг.", "EPA/\u2009STEPHANIE LECOCQ", "Йенс Столтенберг"]
    repeated_name = find(document, "Йенс Столтенберг")
    assert repeated_name.duplicate_of == find(document, "Йенс Столтенберг.").index
    assert find(document, "Генсек альянса назвал катастрофой происходящее в САР").role == Role.BODY
    assert roles(document, Role.DATELINE) == ["БРЮССЕЛЬ, 6 декабря. /Корр. ТАСС Виктория Дубровина/."]
    dateline = find(document, "БРЮССЕЛЬ, 6 декабря. /Корр. ТАСС Виктория Дубровина/.")
    lead = document.sentences[dateline.index + 1]
    assert lead.text == ("Главы МИД НАТО призвали к прекращению боев в Сирии и политическому диалогу всех "
                         "сторон конфликта.")
    assert (lead.role, lead.paragraph, lead.duplicate_of) == (Role.BODY, dateline.paragraph, None)
    assert paragraph(document, '"Мы обсуждали сегодня ситуацию в Сирии.') == [
        '"Мы обсуждали сегодня ситуацию в Сирии.',
        'Госсекретарь (США Джон) Керри проинформировал нас о развитии ситуации и о ходе переговоров", - сказал он.',
    ]
    quoted = paragraph(document, '"То, что мы видим сегодня в Сирии, - это гуманитарная катастрофа, вызванная '
                                 'наступлением сил режима Асада при поддержке России", - утверждал он.')
    assert len(quoted) == 2 and quoted[1].startswith('"Поэтому мы призываем')
    assert find(document, "НАТО видит усиление присутствия РФ на Балканах").role == Role.BODY
    assert [s for s in document.sentences if s.role == Role.BODY and s.duplicate_of is not None] == []


def test_repeated_body_pull_quotes_and_read_time() -> None:
    document = load("002_4a9c5b9975e3a399.txt", "en")
    headline = "US-led coalition pressures Russia to focus on fighting IS"
    first, second = find(document, headline), find(document, headline, 1)
    assert (first.role, second.role) == (Role.HEADLINE, Role.HEADLINE)
    assert (first.duplicate_of, second.duplicate_of) == (None, first.index)
    assert find(document, "4 min read").role == Role.BOILERPLATE
    standfirst = document.sentences[2]
    assert standfirst.text.startswith("The US-led coalition on Friday called for Russia")
    assert standfirst.role == Role.BODY
    assert roles(document, Role.PULL_QUOTE) == [
        "Turkey and its allies are concerned the Russian air raids could be strengthening Assad rather than "
        "hitting IS fighters |",
        "We were not invited, we were not asked, and we are polite people, as you know.",
        "We don't come if not invited - Sergey Lavrov |",
    ]
    # The body runs twice: every sentence of the second run points at the first.
    for text in ("Ramifications", "Lavrov: Russia targeting 'terrorists'",
                 "On Thursday, it pounded targets again in Hama and Idlib in the northwest.",
                 "This is basically our position as well."):
        original, repeat = find(document, text), find(document, text, 1)
        assert original.duplicate_of is None and repeat.duplicate_of == original.index
    once = find(document, "Lavrov dismissed claims by US Senator John McCain that Russian warplanes hit US-backed "
                          "rebels fighting President Bashar al-Assad's forces.")
    assert once.duplicate_of is None
    fresh = [s for s in document.sentences if s.role in DEFAULT_ROLES and s.duplicate_of is None]
    assert len({s.text.strip('"') for s in fresh}) == len(fresh)
    assert len(fresh) == 33
    assert paragraph(document, '"This is the same position which the Americans are taking.') == [
        '"This is the same position which the Americans are taking.',
        "The representatives of the coalition command have always been saying that their targets are [IS], "
        "al-Nusra and other terrorist groups.",
        "This is basically our position as well.",
        'We see eye-to-eye with the coalition on this one."',
    ]


def test_tass_english_section_standfirst_dateline() -> None:
    document = load("003_a9548a84116e5e4f.txt", "en")
    assert roles(document, Role.SECTION) == ["All news"]
    assert roles(document, Role.HEADLINE) == [
        "Russia and US might launch joint operations against terrorists in Raqqa — minister"]
    assert document.sentences[2].role == Role.BODY
    assert document.sentences[2].text.startswith("The Americans agree that international terrorism")
    assert roles(document, Role.DATELINE) == ["MOSCOW, February 21. /TASS/."]
    assert roles(document, Role.CAPTION) == []
    assert find(document, "Separating terrorists from opposition").role == Role.BODY
    assert paragraph(document, '"Our task is to pool efforts.') == [
        '"Our task is to pool efforts.',
        "We have all opportunities for that.",
        "We have a common enemy - international terrorism.",
        'We and the Americans recognize it as an enemy," Shoigu said while answering questions from a student '
        "audience at the MGIMO university.",
    ]
    assert find(document, 'For that, he said, it is necessary "to make ourselves heard and understood."')
    assert all(s.duplicate_of is None for s in document.sentences)


def test_pakistani_site_repeated_headline_links_and_footer() -> None:
    document = load("004_05c8900cea85f5af.txt", "en")
    assert roles(document, Role.SECTION) == ["Pakistan News"]
    headline = "Kremlin says Western powers 'not ready' to work in anti-IS coalition with Russia"
    assert roles(document, Role.HEADLINE) == [headline, headline]
    assert find(document, headline, 1).duplicate_of == find(document, headline).index
    assert roles(document, Role.DATELINE) == ["MOSCOW:"]
    lead = document.sentences[find(document, "MOSCOW:").index + 1]
    assert lead.text.startswith("The Kremlin said Friday") and lead.role == Role.BODY
    assert roles(document, Role.BOILERPLATE) == [
        "Read: At least 128 dead in Paris terror attacks, IS claims responsibility",
        "Read: Downing of Russian plane is a 'stab in the back' from Turkey, says Putin",
        "Also read: Tensions soar as Turkey shoots down Russian plane",
        "Similar News",
        "Recent News",
        "Back to top",
    ]
    assert paragraph(document, '"Our plane was shot down on Syrian territory by an air-to-air missile from '
                               'an F-16.') == [
        '"Our plane was shot down on Syrian territory by an air-to-air missile from an F-16.',
        "It fell on Syrian territory four kilometres from the Turkish border.",
        'It was flying at 6,000 metres, one kilometre from Turkish territory when it was attacked." said '
        "President Putin",
    ]
    assert find(document, "Turkey changed its rules of engagement a few years ago after Syria shot down a "
                          "Turkish plane.").role == Role.BODY
    assert [s for s in document.sentences if s.role == Role.BODY and s.duplicate_of is not None] == []
