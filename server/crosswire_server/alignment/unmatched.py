"""What one sentence of a pair states that the other does not: the evidence that tells two facts apart.

Two sentences about one parade share most of their words and names whether or
not they state the same fact. What gives a different fact away is what is left
over: a person, place or figure on one side with no counterpart on the other
(«В параде в Балтийске… 46 кораблей» / "46 ships … in Saint Petersburg and
Kronstadt"). And a figure with the same unit on both sides («46 кораблей» /
"46 ships") is a strong sign of one fact. These five counts join the evidence
of the same-fact model (comparable.FEATURES); with them its cross-validated
recall at precision 0.80 on the shared cross-outlet labels rose from 0.36 to
0.43 (benchmarks/calibrate_crossoutlet.py).

A name is a capitalised word past the sentence's first, or an acronym. A
Russian and an English name match when their phonetic keys do (evidence.py) or
when the dictionary translates one into the other («ВМФ»/"Navy" only through
the dictionary; «Путин»/"Putin" by sound). Without a dictionary names match by
sound alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from crosswire_server.alignment.dictionary import Dictionary
from crosswire_server.alignment.evidence import ENGLISH_NON_NAMES, keys_match, sentence_terms
from crosswire_server.alignment.facts import same_unit, statement

#: The columns unmatched_evidence adds, in order: names of the Russian sentence with no counterpart in the
#: English one, and the reverse; numbers of each side whose value the other side does not state; and numbers
#: stated on both sides with units that translate each other.
UNMATCHED_FEATURES = (
    "russian_names_left", "english_names_left", "russian_numbers_left", "english_numbers_left", "quantities_agree",
)

_RUSSIAN_WORD = re.compile(r"[А-Яа-яЁё]+(?:-[А-Яа-яЁё]+)*")
_ENGLISH_WORD = re.compile(r"[A-Za-z]+(?:['’-][A-Za-z]+)*")


@dataclass(frozen=True)
class _Name:
    """A name as matching needs it: its phonetic keys and the English headwords it is, or translates to."""

    keys: tuple[str, ...]
    words: frozenset[str]


def _russian_names(text: str, dictionary: Dictionary | None) -> tuple[tuple[_Name, ...], frozenset[str]]:
    """The names of a Russian sentence, and the English headwords any of its words may translate."""
    names, senses = [], set()
    for position, word in enumerate(_RUSSIAN_WORD.findall(text)):
        if len(word) < 2:
            continue
        meaning = dictionary.senses(word) if dictionary is not None else frozenset()
        senses |= meaning
        terms = sentence_terms(word, "ru").names
        is_name = (word[0].isupper() and position > 0) or word.isupper()
        if is_name and terms:
            names.append(_Name(terms[0].keys, meaning))
    return tuple(names), frozenset(senses)


def _english_names(text: str, dictionary: Dictionary | None) -> tuple[_Name, ...]:
    """The names of an English sentence: capitalised words past the first that are not function words."""
    names = []
    for position, word in enumerate(_ENGLISH_WORD.findall(text)):
        if position == 0 or not word[0].isupper() or word.lower() in ENGLISH_NON_NAMES:
            continue
        terms = sentence_terms(word, "en").names
        heads = dictionary.english_headwords(word) if dictionary is not None else (word.lower(),)
        names.append(_Name(terms[0].keys if terms else (word.lower(),), frozenset(heads)))
    return tuple(names)


def _sound_alike(first: _Name, second: _Name) -> bool:
    return any(a[:2] == b[:2] and keys_match(a, b) for a in first.keys for b in second.keys)


def _names_left(russian: tuple[tuple[_Name, ...], frozenset[str]], english: tuple[_Name, ...]) -> tuple[int, int]:
    """Russian names with no counterpart among the English ones, and English names with none in the Russian."""
    names, senses = russian
    matched: set[int] = set()
    russian_left = 0
    for name in names:
        hits = {n for n, other in enumerate(english) if other.words & name.words or _sound_alike(name, other)}
        matched |= hits
        russian_left += not hits
    english_left = sum(
        1 for n, other in enumerate(english)
        if n not in matched and not other.words & senses and not any(_sound_alike(name, other) for name in names)
    )
    return russian_left, english_left


def _numbers(russian: str, english: str, dictionary: Dictionary | None) -> tuple[int, int, int]:
    """Numbers each side states that the other does not, and equal numbers whose units translate each other."""
    russian_terms = sentence_terms(russian, "ru").numbers
    english_terms = sentence_terms(english, "en").numbers
    russian_keys = {key for term in russian_terms for key in term.keys}
    english_keys = {key for term in english_terms for key in term.keys}
    russian_left = sum(1 for term in russian_terms if not english_keys & set(term.keys))
    english_left = sum(1 for term in english_terms if not russian_keys & set(term.keys))
    agree = 0
    if russian_keys & english_keys:
        for term, units in statement(russian, "ru").quantities:
            for other, other_units in statement(english, "en").quantities:
                if set(term.keys) & set(other.keys) and any(
                    same_unit((unit, "ru"), (other_unit, "en"), dictionary) for unit in units for other_unit in other_units
                ):
                    agree += 1
    return russian_left, english_left, agree


def unmatched_evidence(pairs: Sequence[tuple[int, int]], source: Sequence[str], target: Sequence[str],
                       source_language: str, target_language: str, dictionary: Dictionary | None) -> np.ndarray:
    """The UNMATCHED_FEATURES of each (source row, target column) pair; zeros unless one side is Russian and the
    other English."""
    out = np.zeros((len(pairs), len(UNMATCHED_FEATURES)), dtype=np.float32)
    if {source_language, target_language} != {"ru", "en"}:
        return out
    russian_texts, english_texts = (source, target) if source_language == "ru" else (target, source)
    russian_names: dict[int, tuple[tuple[_Name, ...], frozenset[str]]] = {}
    english_names: dict[int, tuple[_Name, ...]] = {}
    for n, (row, column) in enumerate(pairs):
        r, e = (row, column) if source_language == "ru" else (column, row)
        if r not in russian_names:
            russian_names[r] = _russian_names(russian_texts[r], dictionary)
        if e not in english_names:
            english_names[e] = _english_names(english_texts[e], dictionary)
        out[n] = (*_names_left(russian_names[r], english_names[e]),
                  *_numbers(russian_texts[r], english_texts[e], dictionary))
    return out
