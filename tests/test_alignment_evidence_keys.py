"""The keys names and numbers are matched by, pinned: the phonetic rules in their order, Russian endings,
acronyms and exonyms, number words, and the matching of many keys at once against its pairwise definition.

The values were produced by the first implementation (a regex substitution per rule, every ending tried in
turn); the faster one must give the same keys, or the evidence and the links change."""

from __future__ import annotations

import itertools
import random

import pytest

from crosswire_server.alignment.evidence import (
    _matching_pairs,
    _russian_keys,
    clear_caches,
    keys_match,
    phonetic_key,
    sentence_terms,
    shared_terms,
)

PHONETIC = {
    "Raqqa": "raka", "Щукин": "sukin", "Dzhokhar": "joar", "Djokovic": "jokovik", "Thatcher": "taser",
    "Ceausescu": "seausesku", "Zhukov": "jukov", "Khodorkovsky": "odorkovski", "Tchaikovsky": "kaikovski",
    "Xavier": "ksavier", "Wheeler": "viler", "Philippe": "filipe", "Matthew": "matev", "Mackenzie": "makenzie",
    "Cyprus": "siprus", "Schultz": "suls", "Moussa": "mousa", "Giuliani": "gulani", "Lee": "li",
    "Ющенко": "usenko", "Цискаридзе": "siskaridze", "Ёлкин": "elkin", "Ümit": "umit", "Müller": "muler",
    "Ségolène": "segolene", "O'Brien": "obrien",
}


@pytest.mark.parametrize(("word", "key"), PHONETIC.items())
def test_phonetic_keys_are_pinned(word: str, key: str) -> None:
    clear_caches()
    assert phonetic_key(word) == key


@pytest.mark.parametrize(
    ("word", "keys"),
    [("Лаврова", ("lavrova", "lavrov")), ("Мэри", ("meri", "mari", "mer", "mar")), ("США", ("sa", "us", "usa")),
     ("российский", ("rosiski", "rosi", "rosisk", "russia", "russian")),
     ("Хабаровского", ("abarovskogo", "abarov", "abarovsk")), ("сирийских", ("siriski", "siri", "sirisk")),
     ("Санкт", ("sankt", "saint", "st"))],
)
def test_russian_keys_are_pinned(word: str, keys: tuple[str, ...]) -> None:
    assert _russian_keys(word) == keys


def test_sentence_terms_are_pinned() -> None:
    russian = sentence_terms("В Санкт-Петербурге сорока двух кораблей и 1,5 млн рублей 25.10.2016", "ru")
    assert [(t.text, t.keys, t.is_name_like) for t in russian.names] == [
        ("Санкт-Петербурге", ("sanktpeterburge", "sanktpeterburg", "saint", "st", "sankt", "peterburge", "peterburg"),
         True),
        ("сорока", ("soroka", "sorok"), False), ("кораблей", ("korablei", "korabl"), False),
        ("рублей", ("rublei", "rubl"), False),
    ]
    assert [(t.text, t.keys) for t in russian.numbers] == [
        ("25.10.2016", ("25",)), ("25.10.2016", ("2016",)), ("1,5 млн", ("1500000", "1.5")), ("сорока двух", ("42",)),
    ]
    english = sentence_terms("Twenty-five ships, forty two sailors and Jean-Claude Juncker's 6,000 metres.", "en")
    assert [(t.text, t.keys) for t in english.names] == [
        ("Twenty-five", ("tventifive", "twenty-five", "tventi", "five")),
        ("Jean-Claude", ("jeanklaude", "jean-claude", "jean", "klaude")), ("Juncker's", ("junkers", "juncker's")),
    ]
    assert [(t.text, t.keys) for t in english.numbers] == [
        ("6,000", ("6000",)), ("Twenty five", ("25",)), ("forty two", ("42",)),
    ]


RUSSIAN = [
    "Госсекретарь США Джон Керри встретился с Сергеем Лавровым в Женеве.",
    "Шойгу заявил, что самолёты ВКС России нанесли удары по Ракке и Алеппо.",
    "Президент Турции Эрдоган обсудил с Обамой операцию в Сирии.",
    "Мэри Хэмилтон из Хабаровского края приехала в Санкт-Петербург.",
    "Генсек НАТО Столтенберг выступил в Брюсселе.",
]
ENGLISH = [
    "US Secretary of State John Kerry met Sergei Lavrov in Geneva.",
    "Shoigu said Russian Aerospace Forces jets struck Raqqa and Aleppo.",
    "Turkish President Erdogan discussed the operation in Syria with Obama.",
    "Mary Hamilton from the Khabarovsk region came to Saint Petersburg.",
    "NATO Secretary General Stoltenberg spoke in Brussels.",
    "Ashton Carter and Haider al-Abadi met in Baghdad.",
]


def test_matching_many_keys_is_every_pair_that_matches() -> None:
    source = [keys for text in RUSSIAN for keys in (t.keys for t in sentence_terms(text, "ru").names)]
    target = [keys for text in ENGLISH for keys in (t.keys for t in sentence_terms(text, "en").names)]
    pairwise = {
        (row, column)
        for (row, keys), (column, others) in itertools.product(enumerate(source), enumerate(target))
        if any(keys_match(key, other) for key in keys for other in others)
    }
    assert len(pairwise) >= 15
    assert _matching_pairs(source, target, fuzzy=True) == pairwise


def test_matching_random_keys_is_every_pair_that_matches() -> None:
    rng = random.Random(3)
    alphabet = "abkrst"

    def keys() -> tuple[str, ...]:
        return tuple("".join(rng.choice(alphabet) for _ in range(rng.randint(2, 8))) for _ in range(rng.randint(1, 3)))

    source = [keys() for _ in range(60)]
    target = [keys() for _ in range(60)]
    for fuzzy in (True, False):
        pairwise = {
            (row, column)
            for (row, mine), (column, others) in itertools.product(enumerate(source), enumerate(target))
            if any((keys_match(key, other) if fuzzy else key == other) for key in mine for other in others)
        }
        assert pairwise and _matching_pairs(source, target, fuzzy) == pairwise


def test_shared_terms_use_each_target_term_once_in_source_order() -> None:
    source = sentence_terms("Керри и Лавров, потом снова Керри.", "ru").names
    target = sentence_terms("Kerry met Lavrov.", "en").names
    assert shared_terms(source, target) == [("Керри", "Kerry"), ("Лавров", "Lavrov")]
