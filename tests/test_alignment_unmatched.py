"""What one sentence states that the other does not (alignment/unmatched.py): the counts the same-fact model weighs."""

from __future__ import annotations

import numpy as np
import pytest

from crosswire_server.alignment.dictionary import load_dictionary
from crosswire_server.alignment.unmatched import UNMATCHED_FEATURES, unmatched_evidence

RUSSIAN = ["В параде в Балтийске приняли участие 46 кораблей.", "Путин прибыл в Санкт-Петербург.",
           "В Москве умерли 13 пациентов."]
ENGLISH = ["46 ships took part in the parade in Saint Petersburg.", "Putin arrived in Saint Petersburg.",
           "In Moscow 15 patients died."]
PAIRS = [(0, 0), (1, 1), (2, 2)]


def columns(found: np.ndarray, row: int) -> dict[str, float]:
    return dict(zip(UNMATCHED_FEATURES, found[row].tolist()))


@pytest.mark.parametrize("with_dictionary", [True, False])
def test_names_and_numbers_left_over_on_either_side(with_dictionary: bool) -> None:
    dictionary = load_dictionary() if with_dictionary else None
    if with_dictionary and dictionary is None:
        pytest.skip("no English-Russian dictionary installed (make setup installs it)")
    found = unmatched_evidence(PAIRS, RUSSIAN, ENGLISH, "ru", "en", dictionary)
    baltiysk = columns(found, 0)  # the same figure at another place
    assert (baltiysk["russian_names_left"], baltiysk["english_names_left"]) == (1, 2)  # Балтийск; Saint, Petersburg
    assert (baltiysk["russian_numbers_left"], baltiysk["english_numbers_left"]) == (0, 0)
    assert all(value == 0 for value in columns(found, 1).values())  # Путин ~ Putin, Санкт-Петербург ~ Saint Petersburg
    deaths = columns(found, 2)  # 13 against 15
    assert (deaths["russian_numbers_left"], deaths["english_numbers_left"], deaths["quantities_agree"]) == (1, 1, 0)


def test_a_figure_with_translated_units_on_both_sides_agrees() -> None:
    dictionary = load_dictionary()
    if dictionary is None:
        pytest.skip("no English-Russian dictionary installed (make setup installs it)")
    found = unmatched_evidence(PAIRS, RUSSIAN, ENGLISH, "ru", "en", dictionary)
    assert columns(found, 0)["quantities_agree"] == 1  # «46 кораблей» ~ "46 ships"
    # The same pair the other way round (an English report against a Russian article) gives the same counts.
    reverse = unmatched_evidence([(0, 0)], ENGLISH, RUSSIAN, "en", "ru", dictionary)
    assert reverse[0].tolist() == found[0].tolist()


def test_only_a_russian_english_pair_has_these_counts() -> None:
    assert not unmatched_evidence([(0, 0)], ENGLISH, ENGLISH, "en", "en", load_dictionary()).any()
