"""Sentence-pair scores: embedding cosine plus shared names and numbers plus, when
machine translations of the source are given, their chrF with the target.

Also the margin normalisation of bitext mining (Artetxe & Schwenk, 2019): a
pair's score relative to how similar each side is to its nearest neighbours,
which removes "hub" sentences that are close to everything.

The weights are fixed here and were calibrated by
benchmarks/calibrate_alignment.py on data the benchmarks do not report on
(WMT19 newstest ru-en documents). There, all combinations of name/number
weights in {0, 0.1, 0.2} and margin k in {2, 4, 8} scored within 0.3% F1 of
each other (a few links of 1,188): the embeddings already separate
translations. Among those ties we keep LASER's k = 4 and small evidence
weights, which matter more for independent coverage than for translations
and are what explains a link to a reader. The translation weight was
calibrated on zh-en (there is no ru->en model here): with machine translations
from the zh->en model, weight 1.0 gave the best F1 at the fixed thresholds on
the first 50 of 100 newstest2019 zh-en documents (0.986 against 0.984 without).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from crosswire_server.alignment.chrf import chrf_matrix
from crosswire_server.alignment.embeddings import Embedder
from crosswire_server.alignment.evidence import overlap_matrices, sentence_terms
from crosswire_server.errors import Stopped


@dataclass(frozen=True)
class Weights:
    """How much each signal adds to the embedding cosine (0 switches it off)."""

    names: float = 0.1
    numbers: float = 0.1
    translation: float = 1.0

    def without(self, *signals: str) -> Weights:
        """The same weights with the named signals switched off (for ablations)."""
        return replace(self, **{name: 0.0 for name in signals})


DEFAULT_WEIGHTS = Weights()

#: Nearest neighbours averaged by the margin, and the similarity assumed for
#: missing neighbours when a side has fewer than that many sentences.
MARGIN_K = 4
MARGIN_FLOOR = 0.3


@dataclass(frozen=True)
class PairFeatures:
    """Every signal for every (source, target) sentence pair, as matrices."""

    cosine: np.ndarray
    names: np.ndarray
    numbers: np.ndarray
    translation: np.ndarray | None = None
    source_vectors: np.ndarray | None = None
    target_vectors: np.ndarray | None = None

    def combined(self, weights: Weights = DEFAULT_WEIGHTS) -> np.ndarray:
        """The pair score: cosine plus the weighted evidence (summed in place: one temporary matrix at a time)."""
        score = self.cosine + weights.names * self.names
        score += weights.numbers * self.numbers
        if self.translation is not None and weights.translation:
            score += weights.translation * self.translation
        return score


def pair_features(
    embedder: Embedder,
    source: Sequence[str],
    target: Sequence[str],
    source_language: str,
    target_language: str,
    source_translations: Sequence[str] | None = None,
    stop: threading.Event | None = None,
) -> PairFeatures:
    """Compute all signals between two lists of sentences (each embedded once; Stopped once `stop` is set)."""
    vectors = embedder.encode([*source, *target], stop)
    Stopped.check(stop)
    source_vectors, target_vectors = vectors[: len(source)], vectors[len(source) :]
    names, numbers = overlap_matrices(
        [sentence_terms(text, source_language) for text in source],
        [sentence_terms(text, target_language) for text in target],
    )
    translation = None
    if source_translations is not None:
        translation = chrf_matrix(source_translations, target)
    return PairFeatures(source_vectors @ target_vectors.T, names, numbers, translation, source_vectors, target_vectors)


def _neighbourhood(scores: np.ndarray, axis: int, k: int, floor: float) -> np.ndarray:
    """Mean of the k highest scores along an axis, padded with `floor` when fewer exist.

    The i-th highest of the scores and k copies of `floor` is the larger of the scores' i-th highest
    and `floor`, so only the k highest are kept (one copy of the matrix, not three).
    """
    length = scores.shape[axis]
    if length < k:
        shape = (k - length, scores.shape[1]) if axis == 0 else (scores.shape[0], k - length)
        scores = np.concatenate([scores, np.full(shape, -np.inf, scores.dtype)], axis=axis)
    top = np.partition(scores, scores.shape[axis] - k, axis=axis)
    top = np.maximum(top[-k:] if axis == 0 else top[:, -k:], np.asarray(floor, top.dtype))
    return top.mean(axis=axis).astype(np.float32)


def margin(scores: np.ndarray, k: int = MARGIN_K, floor: float = MARGIN_FLOOR) -> np.ndarray:
    """Distance margin: score minus the mean neighbourhood similarity of both sentences."""
    if scores.size == 0:
        return scores
    rows = _neighbourhood(scores, 1, k, floor)
    columns = _neighbourhood(scores, 0, k, floor)
    result = np.add(rows[:, None], columns[None, :], dtype=np.result_type(scores, rows))
    result /= 2
    return np.subtract(scores, result, out=result)
