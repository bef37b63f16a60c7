"""Non-monotone linking of a report with other outlets' coverage (bitext mining style).

Pairs are scored by margin; within each target document the best pairs are
taken greedily, each sentence at most once ("competitive linking"), down to
SAME_THRESHOLD, among pairs whose embedding cosine is at least SAME_MIN_COSINE
(a margin alone can be high between two unrelated texts' best pair): those
links say the same thing. A source sentence left without a link in a
document then gets its best partner there as a "related" link when the
margin reaches RELATED_THRESHOLD.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from crosswire.types import Grade
from crosswire_server.alignment.scoring import DEFAULT_WEIGHTS, PairFeatures, Weights, margin

#: Abstention thresholds, fixed in code and calibrated by
#: benchmarks/calibrate_alignment.py on the development set (WMT19 newstest
#: documents, not reported on). SAME_THRESHOLD is the best-F1 margin there
#: (P 0.991, R 0.991); the cosine floor costs nothing there and keeps the
#: best pair of two unrelated texts from being graded "same". With
#: RELATED_THRESHOLD the partner of a "related" link came from the right
#: document about 90% of the time. Below it nothing is linked.
SAME_THRESHOLD = 0.08
SAME_MIN_COSINE = 0.45
RELATED_THRESHOLD = 0.07


@dataclass(frozen=True)
class Pair:
    """One source sentence linked to one target sentence (positions in the score matrix)."""

    source: int
    target: int
    score: float
    grade: Grade


def link_comparable(features: PairFeatures, target_doc: np.ndarray, weights: Weights = DEFAULT_WEIGHTS) -> list[Pair]:
    """Comparable-mode links with the constants fixed in code; target_doc gives each column's document."""
    return mine(margin(features.combined(weights)), features.cosine, target_doc)


def mine(
    scores: np.ndarray,
    cosine: np.ndarray,
    target_doc: np.ndarray,
    same: float = SAME_THRESHOLD,
    related: float = RELATED_THRESHOLD,
    min_cosine: float = SAME_MIN_COSINE,
) -> list[Pair]:
    """Links from margin scores: greedy "same" links above the thresholds, then "related" ones."""
    same_scores = np.where(cosine >= min_cosine, scores, -np.inf)
    pairs: list[Pair] = []
    for doc in np.unique(target_doc):
        columns = np.flatnonzero(target_doc == doc)
        block = scores[:, columns]
        same_block = same_scores[:, columns]
        linked_rows: set[int] = set()
        linked_columns: set[int] = set()
        for flat in np.argsort(-same_block, axis=None):
            value = float(same_block.flat[flat])
            if value < same:
                break
            row, column = divmod(int(flat), block.shape[1])
            if row in linked_rows or column in linked_columns:
                continue
            linked_rows.add(row)
            linked_columns.add(column)
            pairs.append(Pair(row, int(columns[column]), value, Grade.SAME))
        if block.shape[1]:
            best = block.argmax(axis=1)
            for row in range(block.shape[0]):
                value = float(block[row, best[row]])
                if row not in linked_rows and value >= related:
                    pairs.append(Pair(row, int(columns[best[row]]), value, Grade.RELATED))
    return sorted(pairs, key=lambda pair: (pair.source, pair.target))
