"""Scores for finding each sentence's translation in a pool of candidates (bitext retrieval).

In a pool where most sentences have their translation on the other side, three
general corrections help nearest-neighbour search over the embeddings:

1. Centring: each language's vectors minus their mean, renormalised. The
   direction every sentence of a language shares says nothing about meaning.
2. One self-learning step (Artetxe et al., 2018): the orthogonal map that best
   carries the source vectors of mutual nearest neighbours onto their partners
   (Procrustes), shrunk towards the identity so that directions no pair spans
   stay as they are. The seed pairs are found with the margin of scoring.py
   and one neighbour.
3. Sinkhorn normalisation: exp(score / T), with rows and columns alternately
   scaled to sum to one. A "hub" sentence close to everything has its column
   scaled down, so it stops winning every row; unlike a margin against the best
   competitor, every competitor counts, in proportion to its weight.

The constants were calibrated by benchmarks/calibrate_alignment.py (part
retrieval) on zh-en Tatoeba and on ru-en newstest2019 + FLORES-200 devtest;
the benchmarks report on ru-en Tatoeba, which took no part in the choice.
On zh-en Tatoeba (zh->en / en->zh) the margin with k=4 scores 0.946/0.930,
with k=1 0.953/0.946, centred 0.957/0.949, with the self-learning step
0.964/0.959, and with Sinkhorn in place of the margin 0.973/0.974 (every
temperature from 0.02 to 0.05 and 1 to 20 rounds gave 0.970-0.974); on the
ru-en news sets (99.2-99.8%) every step is within a few sentences of the
others, Sinkhorn included. Agreement of sentence type (question, exclamation),
a sentence-length prior and a second self-learning step were tried there too
and did not help.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from crosswire_server.alignment.scoring import DEFAULT_WEIGHTS, PairFeatures, Weights, margin

#: Neighbours averaged by the margin that picks the seed pairs (1 beat 2, 4 and 8 on every calibration set).
RETRIEVAL_K = 1
#: Pull of the self-learning map towards the identity, per seed pair.
PROCRUSTES_PRIOR = 0.001
#: Temperature of the Sinkhorn normalisation, in units of the pair score (cosine plus evidence).
SINKHORN_TEMPERATURE = 0.02
#: Row-then-column scalings of the Sinkhorn normalisation.
SINKHORN_ROUNDS = 5
#: A lower bound of every score, so the margin's padding never counts as a neighbour.
_NO_FLOOR = -1.0


def centred(vectors: np.ndarray) -> np.ndarray:
    """Unit vectors minus their mean, renormalised."""
    shifted = vectors - vectors.mean(axis=0)
    return shifted / np.maximum(np.linalg.norm(shifted, axis=1, keepdims=True), 1e-9)


def mutual_nearest(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of the pairs that are each other's best match."""
    best_column = scores.argmax(axis=1)
    best_row = scores.argmax(axis=0)
    rows = np.flatnonzero(best_row[best_column] == np.arange(scores.shape[0]))
    return rows, best_column[rows]


def procrustes(source: np.ndarray, target: np.ndarray, prior: float = PROCRUSTES_PRIOR) -> np.ndarray:
    """The orthogonal matrix W maximising the agreement of source @ W with target, shrunk towards I."""
    u, _, vt = np.linalg.svd(source.T @ target + prior * len(source) * np.eye(source.shape[1], dtype=source.dtype))
    return u @ vt


def _log_normaliser(logits: np.ndarray, axis: int) -> np.ndarray:
    """log(sum(exp(logits))) along an axis, kept as a broadcastable dimension, without overflow."""
    top = logits.max(axis=axis, keepdims=True)
    return top + np.log(np.exp(logits - top).sum(axis=axis, keepdims=True))


def sinkhorn(scores: np.ndarray, temperature: float = SINKHORN_TEMPERATURE,
             rounds: int = SINKHORN_ROUNDS) -> np.ndarray:
    """Log of exp(scores / temperature) after `rounds` of scaling rows, then columns, to sum to one."""
    logits = scores.astype(np.float64) / temperature
    for _ in range(rounds):
        logits -= _log_normaliser(logits, 1)
        logits -= _log_normaliser(logits, 0)
    return logits.astype(np.float32)


def retrieval_scores(
    features: PairFeatures,
    weights: Weights = DEFAULT_WEIGHTS,
    k: int = RETRIEVAL_K,
    centre: bool = True,
    refine: bool = True,
    prior: float = PROCRUSTES_PRIOR,
    normalise: bool = True,
    temperature: float = SINKHORN_TEMPERATURE,
    rounds: int = SINKHORN_ROUNDS,
) -> np.ndarray:
    """Pair scores whose row-wise (column-wise) argmax retrieves each source's (target's) translation.

    `centre`, `refine` and `normalise` switch steps 1, 2 and 3 off (for ablations;
    without step 3 the scores are the margin with `k` neighbours); a side of one
    sentence has no mean to remove and is not centred.
    """
    if features.source_vectors is None or features.target_vectors is None:
        raise ValueError("retrieval needs the sentence vectors (features from pair_features)")
    if features.cosine.size == 0:
        return features.cosine
    source, target = features.source_vectors, features.target_vectors
    if centre and min(features.cosine.shape) > 1:
        source, target = centred(source), centred(target)

    def combined(source: np.ndarray) -> np.ndarray:
        return replace(features, cosine=source @ target.T).combined(weights)

    if refine:
        rows, columns = mutual_nearest(margin(combined(source), k, _NO_FLOOR))
        source = source @ procrustes(source[rows], target[columns], prior)  # orthogonal: still unit vectors
    if normalise:
        return sinkhorn(combined(source), temperature, rounds)
    return margin(combined(source), k, _NO_FLOOR)
