"""The parts of a news article: which paragraph is headline, dateline, timestamp, caption, ...

Works on paragraphs before they are split into sentences. Patterns recognise
the parts that look the same everywhere (timestamps, photo credits, "Read: …",
pull quotes ending in " |"); position decides the rest: the short title-like
lines above the first paragraph of running text are section labels, the
headline (and its repeats) and a standfirst; the dateline opens the first
paragraph of running text («МИНСК, 25 окт — Sputnik.», "MOSCOW, February 21. /TASS/.").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from crosswire.types import Role

from crosswire_server.segmentation.duplicates import normalize

_MONTHS = (
    "январь января янв февраль февраля фев февр март марта мар апрель апреля апр май мая июнь июня июн "
    "июль июля июл август августа авг сентябрь сентября сен сент октябрь октября окт ноябрь ноября ноя "
    "нояб декабрь декабря дек january jan february feb march mar april apr may june jun july jul august "
    "aug september sep sept october oct november nov december dec"
).split()
_TIMESTAMP_WORDS = frozenset(
    _MONTHS
    + (
        "понедельник вторник среда среду четверг пятница пятницу суббота субботу воскресенье "
        "пн вт ср чт пт сб вс monday tuesday wednesday thursday friday saturday sunday mon tue wed "
        "thu fri sat sun обновлено обновлен обновлена опубликовано опубликован опубликована изменено "
        "дата публикации обновления updated update published posted modified last on at г года год в "
        "gmt utc msk мск am pm a m p edt est pst pdt bst cet cest eet по московскому времени time local "
        "ago назад hour hours minute minutes min mins час часа часов минут минуту минуты сегодня вчера "
        "today yesterday th st nd rd"
    ).split()
)
# Besides a clock time or a numeric date, one of these makes a line a timestamp.
_DATE_WORDS = frozenset(_MONTHS + ["ago", "назад"])
_LETTERS = re.compile(r"[^\W\d_]+")
_DIGIT = re.compile(r"\d")
_CLOCK_OR_DATE = re.compile(r"\b\d{1,2}:\d{2}\b|\b\d{1,4}[./-]\d{1,2}[./-]\d{1,4}\b")

_CREDIT = re.compile(
    r"(?<![/\w])(?:EPA|AP(?: Photo)?|AFP|REUTERS|Reuters|Getty Images|Getty|TASS|ТАСС|РИА Новости|RIA Novosti|Sputnik"
    r"|Xinhua|Anadolu|ANP|Bloomberg|Shutterstock|Global Look Press|DPA|dpa|PA|Imago|ZUMA|East News"
    r"|Kommersant|Коммерсантъ|UPI|NurPhoto|SOPA Images|Photo|Фото)\s*/\s*\w"
    r"|^\(?(?:Фото|Photo|Фотография|Photograph|Image|Изображение|Credit|Фото и видео)\s*:",
)
_BOILERPLATE = re.compile(
    r"(?:\d+\s*(?:min|mins|minute|minutes)\s+read"
    r"|(?:\d+\s*)?(?:мин|минуты|минут|минута)\.?\s+(?:на\s+)?чтени[ея]"
    r"|(?:read|also read|read also|read more|see also|related|more|watch|watch also|listen"
    r"|читайте также|читайте|читать также|смотрите также|смотрите|см\. также|подробнее|по теме"
    r"|ещё по теме|еще по теме|источник)\s*:.*"
    r"|similar news|recent news|related news|related articles|related stories|latest news|more news"
    r"|most read|most popular|top stories|trending|back to top|share|share this|share this article|tweet"
    r"|print|email|comments|advertisement|sponsored|subscribe.*|follow us.*|continue reading|click here.*"
    r"|all rights reserved.*|copyright.*|©.*|наверх|поделиться|реклама|комментарии|подписывайтесь.*"
    r"|новости по теме|материалы по теме|читать далее|все права защищены.*|самое читаемое|версия для печати)"
    r"[\s.:!»>›|]*",
    re.IGNORECASE,
)
_PULL_QUOTE = re.compile(r"\s\|$")

_PLACE = r"[A-ZА-ЯЁ][A-ZА-ЯЁ'’\-]+(?:[ \-][A-ZА-ЯЁ][A-ZА-ЯЁ'’\-]*){0,3}"
_DATE = r"(?:,\s*[^\n.—–:/()]{0,30}\d[^\n.—–:/()]{0,30}?)?"
_AGENCY = r"[A-ZА-ЯЁ][\w\-]*(?:\s+[A-ZА-ЯЁ][\w\-]*){0,3}"
_DATELINE = re.compile(
    rf"(?P<place>{_PLACE}){_DATE}"
    rf"(?:\s*[—–-]\s*{_AGENCY}\."  # МИНСК, 25 окт — Sputnik.
    r"|\.\s*/[^/\n]{1,80}/\.?"  # MOSCOW, February 21. /TASS/.
    r"|\s*\([^)\n]{1,40}\)\s*[—–-]"  # WASHINGTON, Oct 5 (Reuters) -
    r"|\s*:(?=\s)"  # MOSCOW: The Kremlin said
    r"|\s+[—–](?=\s))"  # LONDON — The
)
_CLOSERS = "\"'»”’“)]"
_NOT_PLACES = frozenset(
    "UPDATE UPDATED BREAKING EXCLUSIVE VIDEO PHOTO PHOTOS NOTE ВАЖНО ОБНОВЛЕНО СРОЧНО ЭКСКЛЮЗИВ ВИДЕО ФОТО".split()
)

# A title-like line has at most this many words and no final full stop.
_TITLE_MAX_WORDS = 25
# Lines this short above the headline are section labels ("All news", «Кризис в Сирии»).
_SECTION_MAX_WORDS = 3
# A short line next to a caption and repeating part of it is part of the caption.
_CAPTION_NAME_MAX_WORDS = 8
_CAPTION_MAX_WORDS = 40
# The dateline is looked for at the start of the first few paragraphs of running text.
_DATELINE_PARAGRAPHS = 3


@dataclass
class Part:
    """What one paragraph is; `dateline_end` marks a dateline opening the paragraph."""

    role: Role = Role.BODY
    dateline_end: int | None = None


def article_parts(text: str, spans: list[tuple[int, int]]) -> list[Part]:
    """The role of each paragraph span of `text` (and where a leading dateline ends)."""
    lines = [text[start:end] for start, end in spans]
    words = [len(line.split()) for line in lines]
    parts = [Part(_pattern_role(line, count)) for line, count in zip(lines, words)]
    title_like = [count <= _TITLE_MAX_WORDS and line.rstrip(_CLOSERS)[-1:] not in ".:;,"
                  for line, count in zip(lines, words)]
    _caption_names(lines, words, parts, title_like)
    body_start = next((i for i, part in enumerate(parts) if part.role == Role.BODY and not title_like[i]), None)
    if body_start is None:
        return parts
    _header(lines, words, parts, title_like, body_start)
    running = [i for i in range(body_start, len(parts)) if parts[i].role == Role.BODY][:_DATELINE_PARAGRAPHS]
    for i in running:
        match = _DATELINE.match(lines[i])
        if match and match.group("place") not in _NOT_PLACES:
            start = spans[i][0]
            parts[i].dateline_end = start + len(lines[i][:match.end()].rstrip())
            if parts[i].dateline_end == spans[i][1]:
                parts[i].role = Role.DATELINE
            break
    return parts


def _pattern_role(line: str, words: int) -> Role:
    """The role a paragraph has by its look alone; BODY when nothing matches."""
    if _PULL_QUOTE.search(line):
        return Role.PULL_QUOTE
    if words <= _CAPTION_MAX_WORDS and _CREDIT.search(line):
        return Role.CAPTION
    if _BOILERPLATE.fullmatch(line):
        return Role.BOILERPLATE
    if _is_timestamp(line):
        return Role.TIMESTAMP
    return Role.BODY


def _is_timestamp(line: str) -> bool:
    """A line made only of dates, times and words like «обновлено» or "updated"."""
    if len(line) > 120 or not _DIGIT.search(line):
        return False
    letters = [word.lower() for word in _LETTERS.findall(line)]
    if not all(word in _TIMESTAMP_WORDS for word in letters):
        return False
    return bool(_CLOCK_OR_DATE.search(line)) or any(word in _DATE_WORDS for word in letters)


def _caption_names(lines: list[str], words: list[int], parts: list[Part], title_like: list[bool]) -> None:
    """Mark short lines beside a caption that repeat part of it (the photo's subject) as caption."""
    for i, line in enumerate(lines):
        if parts[i].role != Role.BODY or not title_like[i] or words[i] > _CAPTION_NAME_MAX_WORDS:
            continue
        key = normalize(line)
        for j in (i - 1, i + 1):
            if 0 <= j < len(lines) and parts[j].role == Role.CAPTION and key and key in normalize(lines[j]):
                parts[i] = Part(Role.CAPTION)
                break


def _header(lines: list[str], words: list[int], parts: list[Part], title_like: list[bool], body_start: int) -> None:
    """Label the title-like lines above the running text: sections and headline; and its repeats anywhere."""
    candidates = [i for i in range(body_start) if parts[i].role == Role.BODY and title_like[i]]
    if not candidates:
        return
    headline = next((i for i in candidates if words[i] > _SECTION_MAX_WORDS), candidates[-1])
    headline_key = normalize(lines[headline])
    for i in candidates:
        if i < headline:
            parts[i] = Part(Role.SECTION)
    for i in range(headline, len(lines)):
        if parts[i].role == Role.BODY and title_like[i] and normalize(lines[i]) == headline_key:
            parts[i] = Part(Role.HEADLINE)
