"""Retrieval scoring: centring, the self-learning map, the margin and the Sinkhorn normalisation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from crosswire_server.alignment.embeddings import default_embedder
from crosswire_server.alignment.retrieval import mutual_nearest, procrustes, retrieval_scores, sinkhorn
from crosswire_server.alignment.scoring import PairFeatures, margin, pair_features


def _unit(vectors: np.ndarray) -> np.ndarray:
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def _accuracy(scores: np.ndarray) -> float:
    return float(np.mean(scores.argmax(axis=1) == np.arange(len(scores))))


def test_centring_and_self_learning_undo_a_shift_and_a_rotation() -> None:
    # Two "languages": each has its own offset, the second is also slightly rotated and noisy.
    rng = np.random.default_rng(7)
    n, d = 200, 16
    meaning = _unit(rng.normal(size=(n, d)))
    skew = rng.normal(size=(d, d)) * 0.08
    skew = skew - skew.T
    rotation = np.linalg.solve(np.eye(d) + skew, np.eye(d) - skew)  # Cayley transform: orthogonal
    source = _unit(meaning + 0.8 * _unit(rng.normal(size=(1, d))))
    target = _unit(meaning @ rotation + 0.2 * rng.normal(size=(n, d)) / np.sqrt(d) + 0.8 * _unit(rng.normal(size=(1, d))))
    zeros = np.zeros((n, n), dtype=np.float32)
    features = PairFeatures(source @ target.T, zeros, zeros, None, source, target)
    plain = _accuracy(margin(features.cosine))
    centred_only = _accuracy(retrieval_scores(features, refine=False))
    assert plain < 0.5
    assert centred_only > plain
    assert _accuracy(retrieval_scores(features)) >= 0.98
    assert _accuracy(retrieval_scores(features).T) >= 0.98


def test_procrustes_is_orthogonal_and_recovers_a_rotation() -> None:
    rng = np.random.default_rng(1)
    rotation, _ = np.linalg.qr(rng.normal(size=(8, 8)))
    source = _unit(rng.normal(size=(50, 8)))
    found = procrustes(source, source @ rotation, prior=0.0)
    np.testing.assert_allclose(found @ found.T, np.eye(8), atol=1e-5)
    np.testing.assert_allclose(found, rotation, atol=1e-4)


def test_mutual_nearest_keeps_only_pairs_that_choose_each_other() -> None:
    scores = np.array([[0.9, 0.1, 0.0], [0.8, 0.2, 0.1], [0.0, 0.1, 0.7]])
    rows, columns = mutual_nearest(scores)
    assert rows.tolist() == [0, 2] and columns.tolist() == [0, 2]


def test_retrieval_finds_translations_with_real_embeddings() -> None:
    russian = ["Том купил новую машину.", "Мэри не любит кофе.", "Где находится вокзал?", "Завтра будет дождь.",
               "Я забыл ключи дома.", "Эта книга очень интересная.", "Мы встретимся в пять часов.",
               "Собака спит под столом."]
    english = ["Tom bought a new car.", "Mary doesn't like coffee.", "Where is the railway station?",
               "It will rain tomorrow.", "I left my keys at home.", "This book is very interesting.",
               "We will meet at five o'clock.", "The dog is sleeping under the table."]
    scores = retrieval_scores(pair_features(default_embedder(), russian, english, "ru", "en"))
    assert _accuracy(scores) == 1.0 and _accuracy(scores.T) == 1.0


def test_retrieval_needs_vectors_and_accepts_empty_pools() -> None:
    empty = np.zeros((0, 3), dtype=np.float32)
    with pytest.raises(ValueError, match="vectors"):
        retrieval_scores(PairFeatures(empty, empty, empty))
    vectors = np.zeros((0, 4), dtype=np.float32)
    assert retrieval_scores(PairFeatures(empty, empty, empty, None, vectors, _unit(np.ones((3, 4))))).shape == (0, 3)


def test_sinkhorn_stops_a_hub_from_winning_every_row() -> None:
    # Column 2 is close to every source ("hub"); each source's own partner is only a little lower.
    scores = np.array([[0.80, 0.10, 0.85], [0.10, 0.80, 0.85], [0.10, 0.10, 0.83]], dtype=np.float32)
    assert scores.argmax(axis=1).tolist() == [2, 2, 2]
    normalised = sinkhorn(scores, temperature=0.05, rounds=5)
    assert normalised.argmax(axis=1).tolist() == [0, 1, 2]
    columns_last = np.exp(normalised.astype(np.float64))
    np.testing.assert_allclose(columns_last.sum(axis=0), 1.0, atol=1e-5)
    converged = np.exp(sinkhorn(scores, temperature=0.05, rounds=500).astype(np.float64))
    np.testing.assert_allclose(converged.sum(axis=1), 1.0, atol=1e-3)  # doubly stochastic in the limit


def test_sinkhorn_keeps_huge_scores_finite() -> None:
    normalised = sinkhorn(np.array([[1e4, -1e4], [-1e4, 1e4]], dtype=np.float32), temperature=0.01)
    assert np.isfinite(normalised).all() and normalised.argmax(axis=1).tolist() == [0, 1]


TATOEBA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "eval" / "zh-en"


def test_each_step_of_retrieval_scoring_helps_on_real_pairs() -> None:
    # zh-en Tatoeba is the calibration set of the retrieval scoring; the reported figure is ru-en.
    if not (TATOEBA / "tatoeba.zh").exists():
        pytest.skip(f"shared evaluation data is absent ({TATOEBA})")
    chinese = (TATOEBA / "tatoeba.zh").read_text(encoding="utf-8").splitlines()
    english = (TATOEBA / "tatoeba.en").read_text(encoding="utf-8").splitlines()
    features = pair_features(default_embedder(), chinese, english, "zh", "en")

    def both(scores: np.ndarray) -> tuple[float, float]:
        return _accuracy(scores), _accuracy(scores.T)

    chosen = both(retrieval_scores(features))
    without_sinkhorn = both(retrieval_scores(features, normalise=False))
    plain_margin = both(margin(features.cosine))
    assert min(chosen) >= 0.97  # measured 0.973 / 0.974
    assert sum(chosen) > sum(without_sinkhorn) > sum(plain_margin)
