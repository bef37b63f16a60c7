"""English words are looked up under their lemma as well as their own form: mueller7 lists "took", "held" and
"men" as headwords of their own ("past of take") that translate nothing, and «взяли» must still meet "took"."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from crosswire_server.alignment.comparable import Texts, _word_coverage
from crosswire_server.alignment.dictionary import Dictionary, headwords, load_dictionary

_BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

#: Articles as mueller7 writes them: irregular forms point to their lemma in English and translate nothing.
ARTICLES = {
    "take": "take\n  [teik] _v. брать; взять",
    "took": "took\n  [tuk] past от take",
    "hold": "hold\n  [hould] _v. держать; проводить",
    "held": "held\n  [held] past и p. p. от hold",
    "man": "man\n  [maen] _n. мужчина",
    "men": "men\n  [men] pl. от man",
    "see": "see\n  [si:] _v. видеть",
    "saw": "saw\n  [so:] 1. _n. пила 2. past от see",
    "city": "city\n  [siti] _n. город",
}


def _encode(number: int) -> str:
    digits = ""
    while True:
        digits = _BASE64[number % 64] + digits
        number //= 64
        if not number:
            return digits


@pytest.fixture(scope="module")
def dictionary(tmp_path_factory: pytest.TempPathFactory) -> Dictionary:
    """A dictd dictionary written to disk in mueller7's format and read the way the service reads it."""
    stem = tmp_path_factory.mktemp("dictd") / "mini"
    data, index = b"", []
    for head, article in ARTICLES.items():
        encoded = article.encode()
        index.append(f"{head}\t{_encode(len(data))}\t{_encode(len(encoded))}\n")
        data += encoded
    Path(f"{stem}.index").write_text("".join(index), encoding="utf-8")
    with gzip.open(f"{stem}.dict.dz", "wb") as handle:
        handle.write(data)
    return Dictionary.from_dictd([str(stem)])


def test_an_irregular_form_that_is_a_headword_is_found_under_its_lemma_too(dictionary: Dictionary) -> None:
    assert headwords("took", dictionary.headwords) == ("take", "took")
    assert headwords("men", dictionary.headwords) == ("man", "men")
    assert headwords("city", dictionary.headwords) == ("city",)
    assert headwords("cities", dictionary.headwords) == ("city",)


def test_each_english_word_keeps_its_keys_together(dictionary: Dictionary) -> None:
    assert dictionary.english_keys("The men took the city; the cities held.") == (
        ("man", "men"), ("take", "took"), ("city",), ("hold", "held"),
    )
    assert dictionary.english_headwords("Took") == ("take", "took")


def test_russian_verbs_and_nouns_meet_irregular_english_forms(dictionary: Dictionary) -> None:
    assert dictionary.word_pairs("Мужчины взяли город", "The men took the city") == [
        ("Мужчины", "men"), ("взяли", "took"), ("город", "city"),
    ]


def test_a_form_with_a_meaning_of_its_own_keeps_it(dictionary: Dictionary) -> None:
    """"saw" is the past of "see" and a noun («пила»): both readings stay."""
    assert dictionary.word_pairs("Он видел пилу", "He saw it") == [("видел", "saw")]
    assert dictionary.word_pairs("Пила сломалась", "The saw broke") == [("Пила", "saw")]


def test_word_coverage_counts_an_english_word_once_whatever_its_keys(dictionary: Dictionary) -> None:
    """All of "men took city" is translated: three words covered of three, not three keys of six."""
    texts = Texts(["Мужчины взяли город"], ["Men took the city"], "ru", "en")
    coverage = _word_coverage([(0, 0)], texts, dictionary)
    assert coverage is not None
    assert np.allclose(coverage, [1.0])


@pytest.mark.skipif(load_dictionary() is None, reason="no English-Russian dictionary installed (make setup installs it)")
@pytest.mark.parametrize(
    ("russian", "english", "pair"),
    [("Они взяли город", "They took the city", ("взяли", "took")),
     ("Мужчины и дети", "men and children", ("дети", "children")),
     ("Бойцы сражались за город", "The soldiers fought for the town", ("сражались", "fought"))],
)
def test_the_installed_dictionary_meets_irregular_forms(russian: str, english: str, pair: tuple[str, str]) -> None:
    assert pair in load_dictionary().word_pairs(russian, english)
