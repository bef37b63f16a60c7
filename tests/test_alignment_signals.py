"""The alignment signals on their own: names and numbers across scripts, margin, the embedding cache (chrF: test_chrf.py)."""

from __future__ import annotations

import numpy as np
import pytest

from crosswire_server.alignment.embeddings import Embedder, default_embedder
from crosswire_server.alignment.evidence import overlap_matrices, sentence_terms, shared_terms, transliterate
from crosswire_server.alignment.scoring import margin


@pytest.mark.parametrize(
    ("russian", "english"),
    [("Ракка", "Raqqa"), ("Керри", "Kerry"), ("Столтенберг", "Stoltenberg"), ("Столтенберга", "Stoltenberg"),
     ("Тому", "Tom"), ("Лаврова", "Lavrov"), ("Шойгу", "Shoigu"), ("Хабаровского", "Khabarovsk"),
     ("Сирии", "Syria"), ("России", "Russia"), ("США", "US"), ("НАТО", "NATO"), ("Брюссель", "Brussels"),
     ("Мэри", "Mary"), ("Хэмилтона", "Hamilton")],
)
def test_names_match_across_scripts(russian: str, english: str) -> None:
    pairs = shared_terms(sentence_terms(f"Сказал {russian}.", "ru").names, sentence_terms(f"Said {english}.", "en").names)
    assert (russian, english) in pairs


@pytest.mark.parametrize(("russian", "english"), [("Ракка", "Rome"), ("Керри", "Carter"), ("МИД", "Middle"), ("что", "Stone")])
def test_different_names_do_not_match(russian: str, english: str) -> None:
    assert shared_terms(sentence_terms(russian, "ru").names, sentence_terms(english, "en").names) == []


@pytest.mark.parametrize(
    ("russian", "english", "value"),
    [("на высоте 6 000 метров", "at 6,000 metres", "6 000"), ("погибли 130 человек", "130 people died", "130"),
     ("1,5 млн рублей", "1.5 million roubles", "1,5 млн"), ("6\u00a0000 метров", "6000 metres", "6\u00a0000"),
     ("25.10.2016", "on 25 October 2016", "25.10.2016")],
)
def test_numbers_match_by_value(russian: str, english: str, value: str) -> None:
    pairs = shared_terms(sentence_terms(russian, "ru").numbers, sentence_terms(english, "en").numbers, fuzzy=False)
    assert pairs and pairs[0][0] == value


def test_numbers_with_other_values_do_not_match() -> None:
    assert shared_terms(sentence_terms("6 000 метров", "ru").numbers, sentence_terms("600 metres", "en").numbers, fuzzy=False) == []
    assert shared_terms(sentence_terms("6,5 км", "ru").numbers, sentence_terms("6,500 km", "en").numbers, fuzzy=False) == []


def test_transliteration() -> None:
    assert transliterate("Столтенберг, Щукин и Юрий") == "Stoltenberg, Shchukin i Yurii"


def test_overlap_matrices_are_dice_per_pair() -> None:
    source = [sentence_terms(t, "ru") for t in ["Керри встретился с Лавровым в Женеве.", "Погода была хорошей."]]
    target = [sentence_terms(t, "en") for t in ["Kerry met Lavrov.", "It rained in 2016."]]
    names, numbers = overlap_matrices(source, target)
    assert names[0, 0] > 0.5 and names[0, 1] == 0 and names[1, 0] == 0
    assert not numbers.any()


def test_margin_removes_a_hub() -> None:
    # Column 2 is close to everything; margin prefers the specific partner of row 0.
    scores = np.array([[0.60, 0.20, 0.62], [0.20, 0.60, 0.61], [0.25, 0.22, 0.60]], dtype=np.float32)
    assert scores[0].argmax() == 2
    assert margin(scores, k=2)[0].argmax() == 0


def test_embedder_caches_by_text_and_keeps_order() -> None:
    embedder = Embedder()
    first = embedder.encode(["Привет, мир.", "Hello, world.", "Привет, мир."])
    assert embedder.encoded == 2
    again = embedder.encode(["Hello, world.", "Привет, мир."])
    assert embedder.encoded == 2
    np.testing.assert_allclose(again, first[[1, 0]])
    assert float(first[0] @ first[1]) > 0.6
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, rtol=1e-4)


def test_default_embedder_is_shared() -> None:
    assert default_embedder() is default_embedder()


def test_within_edits_agrees_with_the_full_edit_distance() -> None:
    import random

    from crosswire_server.alignment.evidence import _within_edits

    def distance(a: str, b: str) -> int:
        table = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
        for i in range(1, len(a) + 1):
            for j in range(1, len(b) + 1):
                table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
        return table[-1][-1]

    rng = random.Random(5)
    for _ in range(3000):
        a = "".join(rng.choice("abc") for _ in range(rng.randint(0, 9)))
        b = "".join(rng.choice("abc") for _ in range(rng.randint(0, 9)))
        limit = rng.randint(0, 4)
        assert _within_edits(a, b, limit) == (distance(a, b) <= limit), (a, b, limit)
