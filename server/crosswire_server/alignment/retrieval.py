"""Scores for finding each sentence's translation in a pool of candidates (bitext retrieval).

In a pool where most sentences have their translation on the other side, three
general corrections help nearest-neighbour search over the embeddings:

1. Centring: each language's vectors minus their mean, renormalised. The
   direction every sentence of a language shares says nothing about meaning.
2. One self-learning step (Artetxe et al., 2018): the orthogonal map that best
   carries the source vectors of mutual nearest neighbours onto their partners
   (Procrustes), shrunk towards the identity so that directions no pair spans
   stay as they are.
3. The margin of scoring.py with one neighbour: a pair scores against the best
   competitor of each side, which demotes "hub" sentences close to everything.

The constants were calibrated by benchmarks/calibrate_alignment.py (part
retrieval) on zh-en Tatoeba and on ru-en newstest2019 + FLORES-200 devtest;
the benchmarks report on ru-en Tatoeba, which took no part in the choice.
On zh-en Tatoeba (zh->en / en->zh) the margin with k=4 scores 0.946/0.930,
with k=1 0.953/0.946, centred 0.957/0.949, with the self-learning step
0.964/0.959; on the ru-en news sets (99.2-99.6%) every step is within a
sentence or two of the others. Agreement of sentence type (question,
exclamation) and a sentence-length prior were tried there too and did not help.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from crosswire_server.alignment.scoring import DEFAULT_WEIGHTS, PairFeatures, Weights, margin

#: Neighbours averaged by the retrieval margin (1 beat 2, 4 and 8 on every calibration set).
RETRIEVAL_K = 1
#: Pull of the self-learning map towards the identity, per seed pair.
PROCRUSTES_PRIOR = 0.001
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


def retrieval_scores(
    features: PairFeatures,
    weights: Weights = DEFAULT_WEIGHTS,
    k: int = RETRIEVAL_K,
    centre: bool = True,
    refine: bool = True,
    prior: float = PROCRUSTES_PRIOR,
) -> np.ndarray:
    """Pair scores whose row-wise (column-wise) argmax retrieves each source's (target's) translation.

    `centre` and `refine` switch steps 1 and 2 off (for ablations); a side of
    one sentence has no mean to remove and is not centred.
    """
    if features.source_vectors is None or features.target_vectors is None:
        raise ValueError("retrieval needs the sentence vectors (features from pair_features)")
    if features.cosine.size == 0:
        return features.cosine
    source, target = features.source_vectors, features.target_vectors
    if centre and min(features.cosine.shape) > 1:
        source, target = centred(source), centred(target)

    def scores(source: np.ndarray) -> np.ndarray:
        return margin(replace(features, cosine=source @ target.T).combined(weights), k, _NO_FLOOR)

    if not refine:
        return scores(source)
    rows, columns = mutual_nearest(scores(source))
    return scores(source @ procrustes(source[rows], target[columns], prior))  # orthogonal: still unit vectors
