"""chrf_matrix is sacrebleu's sentence-level chrF, for every pair, whichever way the pairs are counted."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from sacrebleu.metrics import CHRF

from crosswire_server.alignment import chrf
from crosswire_server.alignment.chrf import chrf_matrix

EVAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "eval"

NEWS = [
    "The US-led coalition is preparing an operation to retake Raqqa, Defence Secretary Ashton Carter said.",
    "Carter said Russia was not part of the plans for the operation.",
    "NATO foreign ministers met in Brussels on Tuesday and urged Russia to stop supporting the Syrian regime.",
    "At least 130 people died when the plane crashed at an altitude of 6,000 metres.",
    "The ministry said 1.5 million roubles had been allocated, but the money never arrived.",
    "Stoltenberg told reporters that the alliance would not be drawn into a new arms race.",
    "Zhang Guangjun was appointed as Deputy Governor of Guangdong Province.",
    "\"We will respond,\" he said.",
    "Kerry and Lavrov met in Geneva.",
    "Коалиция во главе с США готовит операцию по освобождению Ракки, заявил Картер.",
    "张光军被任命为广东省副省长。",
    "HELLO hello Hello",
    "a",
    "",
    "   ",
    "It's 4 min read — (see below).",
]


def _sacrebleu(hypotheses: list[str], references: list[str]) -> np.ndarray:
    metric = CHRF()
    return np.array([[metric.sentence_score(h, [r]).score / 100 for r in references] for h in hypotheses])


def _random_texts(rng: random.Random, count: int) -> list[str]:
    """Short texts over a tiny alphabet (many repeated n-grams, clipped counts matter), with whitespace."""
    alphabet = "aab \tя\u00a0"
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14))) for _ in range(count)]


def test_equals_sacrebleu_on_news_sentences() -> None:
    scores = chrf_matrix(NEWS, NEWS[::-1])
    np.testing.assert_allclose(scores, _sacrebleu(NEWS, NEWS[::-1]), atol=1e-6, rtol=0)


def test_equals_sacrebleu_on_random_texts() -> None:
    rng = random.Random(7)
    hypotheses, references = _random_texts(rng, 60), _random_texts(rng, 70)
    np.testing.assert_allclose(chrf_matrix(hypotheses, references), _sacrebleu(hypotheses, references),
                               atol=1e-6, rtol=0)


@pytest.mark.parametrize(("chunk", "dense_share", "pair_step"), [(5, 0.0, 3), (7, 10.0, 1), (1000, 1e-3, 50)])
def test_every_way_of_counting_gives_the_same_scores(monkeypatch: pytest.MonkeyPatch, chunk: int,
                                                     dense_share: float, pair_step: int) -> None:
    # All pairs counted by matrix products, all through the inverted index, in chunks or not.
    rng = random.Random(11)
    hypotheses, references = NEWS + _random_texts(rng, 20), _random_texts(rng, 20) + NEWS
    expected = _sacrebleu(hypotheses, references)
    monkeypatch.setattr(chrf, "REFERENCE_CHUNK", chunk)
    monkeypatch.setattr(chrf, "DENSE_SHARE", dense_share)
    monkeypatch.setattr(chrf, "PAIR_STEP", pair_step)
    np.testing.assert_allclose(chrf_matrix(hypotheses, references), expected, atol=1e-6, rtol=0)


def test_equals_sacrebleu_on_evaluation_sentences() -> None:
    if not (EVAL / "zh-en" / "newstest2019.en").exists():
        pytest.skip(f"shared evaluation data is absent ({EVAL})")
    english = (EVAL / "zh-en" / "newstest2019.en").read_text(encoding="utf-8").splitlines()
    russian = (EVAL / "ru-en" / "newstest2019.ru").read_text(encoding="utf-8").splitlines()
    rng = random.Random(3)
    hypotheses = rng.sample(english, 40)
    references = rng.sample(english, 40) + rng.sample(russian, 5) + hypotheses[:5]
    np.testing.assert_allclose(chrf_matrix(hypotheses, references), _sacrebleu(hypotheses, references),
                               atol=1e-6, rtol=0)


def test_is_case_sensitive_and_weighs_recall_over_precision() -> None:
    scores = chrf_matrix(["The cat sat.", "the cat sat.", "The cat"], ["The cat sat."])
    assert scores[0, 0] == pytest.approx(1.0)
    assert scores[1, 0] < 1.0
    # A hypothesis missing half the reference (recall 0.5) scores below one with extra text (precision 0.5).
    assert chrf_matrix(["The cat"], ["The cat sat on"])[0, 0] < chrf_matrix(["The cat sat on"], ["The cat"])[0, 0]


def test_empty_sides() -> None:
    assert chrf_matrix([], ["a"]).shape == (0, 1)
    assert chrf_matrix(["a"], []).shape == (1, 0)
    assert not chrf_matrix(["", " "], ["", "abc"]).any()
