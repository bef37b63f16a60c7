"""Non-monotone linking of a report with other outlets' coverage (bitext mining style).

Pairs are scored by margin; within each target document the best pairs are
taken greedily, each sentence at most once ("competitive linking"), down to
SAME_THRESHOLD: those links say the same thing. A source sentence left
without a link in a document then gets its best partner there as a "related"
link when the margin reaches RELATED_THRESHOLD.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from crosswire.types import Grade

#: Abstention thresholds on the margin score, fixed in code (see scoring.py
#: for how they were calibrated). Below RELATED_THRESHOLD nothing is linked.
SAME_THRESHOLD = 0.07
RELATED_THRESHOLD = 0.05


@dataclass(frozen=True)
class Pair:
    """One source sentence linked to one target sentence (positions in the score matrix)."""

    source: int
    target: int
    score: float
    grade: Grade


def mine(
    scores: np.ndarray,
    target_doc: np.ndarray,
    same: float = SAME_THRESHOLD,
    related: float = RELATED_THRESHOLD,
) -> list[Pair]:
    """Links between source rows and target columns; target_doc gives each column's document."""
    pairs: list[Pair] = []
    for doc in np.unique(target_doc):
        columns = np.flatnonzero(target_doc == doc)
        block = scores[:, columns]
        linked_rows: set[int] = set()
        linked_columns: set[int] = set()
        order = np.argsort(-block, axis=None)
        for flat in order:
            value = float(block.flat[flat])
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
