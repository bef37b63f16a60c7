"""What a sentence states beyond its topic: dates, quantities with their units, and whether it
is only an attribution.

Two outlets' sentences about the same hockey game are close in any embedding;
they state the same fact only when their details agree. A detail stated on
both sides differently ("64 points" against "68 points", "on Sunday" against
"on Monday") rules "same" out, and a sentence that only says where a report
comes from ("…, reports The Straits Times", "Read more in the Gazeta.Ru
report") states no fact at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from crosswire.types import Disagreement, DisagreementKind
from crosswire_server.alignment.dictionary import Dictionary
from crosswire_server.alignment.evidence import Term, sentence_terms, shared_terms

_WEEKDAYS = {
    "ru": ["понедельник", "вторник", "сред[ауы]", "четверг", "пятниц", "суббот", "воскресень"],
    "en": ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"],
}
_MONTHS = {
    "ru": ["январ", "феврал", "март", "апрел", "ма[яй]", "июн", "июл", "август", "сентябр", "октябр", "ноябр",
           "декабр"],
    "en": ["jan(?:uary)?", "feb(?:ruary)?", "mar(?:ch)?", "apr(?:il)?", "may", "june?", "july?", "aug(?:ust)?",
           "sep(?:t(?:ember)?)?", "oct(?:ober)?", "nov(?:ember)?", "dec(?:ember)?"],
}
_WEEKDAY_PATTERNS = {
    language: [re.compile(rf"\b{stem}\w*", re.IGNORECASE) for stem in stems] for language, stems in _WEEKDAYS.items()
}
_MONTH_ALTERNATIVES = {language: "|".join(f"({stem})" for stem in stems) for language, stems in _MONTHS.items()}
_DAY_MONTH = {
    language: re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{alternatives})\w*\.?", re.IGNORECASE)
    for language, alternatives in _MONTH_ALTERNATIVES.items()
}
_MONTH_DAY = re.compile(rf"\b(?:{_MONTH_ALTERNATIVES['en']})\w*\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b", re.IGNORECASE)

# Words that say where a report comes from, not what happened (stems).
_ATTRIBUTION_WORDS = {
    "ru": re.compile(
        r"^(сообща|сообщи|переда|пиш|пис|говор|информир|рассказ|цитир|источник|агентств|издани|газет|сайт|портал|"
        r"телеканал|канал|пресс|служб|ссылк|ссыла|ранее|подробн|читайте|материал|стать|данны|публикац|верси|"
        r"журнал|радио|интервью|корреспондент|репортаж|эфир|новост)"
    ),
    "en": re.compile(
        r"^(report|say|said|write|wrote|written|accord|source|agenc|news|paper|newspaper|website|site|portal|read|"
        r"more|detail|publication|publish|cite|cited|told|tell|statement|press|service|earlier|channel|story|"
        r"article|interview|correspondent|version|broadcast|outlet|radio|journal|magazine|inform)"
    ),
}
_ATTRIBUTION_STOPWORDS = frozenset(
    "об обо о этом это как что в во на по с со и а the a an in on of to this that as by it was is has have and".split()
)
_TOKEN = re.compile(r"[^\W\d_]+(?:[-'’.][^\W\d_]+)*")
#: An attribution is short: at most this many words.
ATTRIBUTION_MAX_WORDS = 12


@dataclass(frozen=True)
class Statement:
    """The checkable details of one sentence."""

    weekdays: dict[int, str]
    days: dict[tuple[int, int], str]
    quantities: tuple[tuple[Term, tuple[str, ...]], ...]
    places: tuple[Term, ...]
    attribution: bool


@lru_cache(maxsize=65536)
def statement(text: str, language: str) -> Statement:
    """Weekdays, (month, day) dates, numbers with the word after them, and whether it is only an attribution."""
    family = "en" if language == "en" else "ru"
    weekdays = {}
    for number, pattern in enumerate(_WEEKDAY_PATTERNS[family]):
        if match := pattern.search(text):
            weekdays[number] = match.group()
    days = {}
    for match in _DAY_MONTH[family].finditer(text):
        month = next(k for k, group in enumerate(match.groups()[1:], 1) if group)
        days[(month, int(match.group(1)))] = match.group().strip().rstrip(".")
    if family == "en":
        for match in _MONTH_DAY.finditer(text):
            month = next(k for k, group in enumerate(match.groups()[:-1], 1) if group)
            days[(month, int(match.groups()[-1]))] = match.group().strip().rstrip(".")
    return Statement(weekdays, days, _quantities(text, language), _places(text, family), _is_attribution(text, family))


#: Words after a number that may name what it counts («219 различных кораблей»: the second).
UNIT_WORDS = 2


def _quantities(text: str, language: str) -> tuple[tuple[Term, tuple[str, ...]], ...]:
    """Each number of the sentence with the words that follow it (its unit: «очка», "points")."""
    out = []
    for term in sentence_terms(text, language).numbers:
        position = text.find(term.text)
        units: list[str] = []
        end = position + len(term.text)
        while position >= 0 and len(units) < UNIT_WORDS:
            following = _TOKEN.search(text, end)
            if following is None or following.start() - end > 2:
                break
            units.append(following.group().lower())
            end = following.end()
        out.append((term, tuple(units)))
    return tuple(out)


_PLACE_AFTER = {
    "ru": re.compile(r"\b(?:в|во|на|из|под|около|возле)\s+([А-ЯЁ][а-яё]+(?:[- ][А-ЯЁ][а-яё]+)?)"),
    "en": re.compile(r"\b(?:in|at|near|outside|off)\s+(?:the\s+)?([A-Z][a-z]+(?:[- ][A-Z][a-z]+)?)"),
}


def _places(text: str, family: str) -> tuple[Term, ...]:
    """Names after a preposition of place ("in Baltiysk", «в Балтийске»): where the sentence says it happened."""
    places = {match.group(1) for match in _PLACE_AFTER[family].finditer(text)}
    return tuple(term for term in sentence_terms(text, "en" if family == "en" else "ru").names
                 if term.is_name_like and any(term.text in place for place in places))


def _is_attribution(text: str, family: str) -> bool:
    """Whether a sentence only names a source: short, a reporting word, and nothing else but names."""
    tokens = _TOKEN.findall(text)
    if not tokens or len(tokens) > ATTRIBUTION_MAX_WORDS or re.search(r"\d", text):
        return False
    reporting, rest = 0, 0
    for position, token in enumerate(tokens):
        lower = token.lower()
        if lower in _ATTRIBUTION_STOPWORDS:
            continue
        if _ATTRIBUTION_WORDS[family].match(lower):
            reporting += 1
        elif (position > 0 and token[:1].isupper()) or (family == "ru" and token.isascii()):
            continue
        else:
            rest += 1
    return reporting > 0 and rest <= 1


def disagreements(
    source_text: str, source_language: str, target_text: str, target_language: str,
    dictionary: Dictionary | None,
) -> list[Disagreement]:
    """Details two sentences state differently: weekdays, dates, and numbers of the same unit.

    Numbers disagree only when their units translate each other (through the
    dictionary, or are the same word) and neither number has an equal on the
    other side: «64 очка» and "68 points" disagree, «46 кораблей» and "1,500
    servicemen" say different things.
    """
    source = statement(source_text, source_language)
    target = statement(target_text, target_language)
    found = []
    if source.weekdays and target.weekdays and not source.weekdays.keys() & target.weekdays.keys():
        found.append(Disagreement(DisagreementKind.DATE, next(iter(source.weekdays.values())),
                                  next(iter(target.weekdays.values()))))
    if source.days and target.days and not source.days.keys() & target.days.keys():
        found.append(Disagreement(DisagreementKind.DATE, next(iter(source.days.values())),
                                  next(iter(target.days.values()))))
    target_keys = {key for term, _ in target.quantities for key in term.keys}
    source_keys = {key for term, _ in source.quantities for key in term.keys}
    for term, units in source.quantities:
        if not units or target_keys & set(term.keys):
            continue
        for other, other_units in target.quantities:
            if other_units and not source_keys & set(other.keys) and any(
                same_unit((unit, source_language), (other_unit, target_language), dictionary)
                for unit in units for other_unit in other_units
            ):
                found.append(Disagreement(DisagreementKind.NUMBER, term.text, other.text))
                break
    return found


def place_disagreement(source_text: str, source_language: str, target_text: str, target_language: str,
                       ) -> Disagreement | None:
    """Where two sentences place what happened, when neither place is named on the other side at all.

    «В параде в Балтийске…» against "…the parade in Saint Petersburg" differ;
    this weighs against "same" without ruling it out (Kronstadt lies in
    St Petersburg, and an outlet may name either).
    """
    source = statement(source_text, source_language)
    target = statement(target_text, target_language)
    if not source.places or not target.places:
        return None
    source_names = tuple(t for t in sentence_terms(source_text, source_language).names if t.is_name_like)
    target_names = tuple(t for t in sentence_terms(target_text, target_language).names if t.is_name_like)
    if shared_terms(source.places, target_names) or shared_terms(source_names, target.places):
        return None
    return Disagreement(DisagreementKind.NAME, source.places[0].text, target.places[0].text)


#: Units of news counts the dictionary does not pair («человек» is "person" there, news write "people").
_UNIT_EQUIVALENTS = {"человек": ("people", "persons", "person"), "людей": ("people",)}


def same_unit(first: tuple[str, str], second: tuple[str, str], dictionary: Dictionary | None) -> bool:
    """Whether two (unit word, language) name the same thing: equal, or translated by the dictionary."""
    if first[0] == second[0]:
        return True
    (russian, _), (english, _) = sorted([first, second], key=lambda unit: unit[1] != "ru")
    if {first[1], second[1]} != {"ru", "en"}:
        return False
    if english in _UNIT_EQUIVALENTS.get(russian, ()):
        return True
    return dictionary is not None and bool(dictionary.word_pairs(russian, english))
