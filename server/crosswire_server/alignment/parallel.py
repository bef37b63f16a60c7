"""Monotone sentence alignment of a text and its translation (in the spirit of Vecalign/Bertalign).

Dynamic programming over "beads" of 1-1, 1-2, 2-1, 1-0 and 0-1 sentences.
A bead of a source and target block gains (score - SKIP_SCORE) per sentence
link it makes, minus MERGE_PENALTY when it merges two sentences; leaving a
sentence out gains nothing. The best path maximises the total gain. Each row
of the table is filled with numpy, so long documents stay fast.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: A pair must score above this to be worth linking rather than leaving both
#: sentences unaligned; a merge of two sentences must earn its penalty.
SKIP_SCORE = 0.3
MERGE_PENALTY = 0.5

_ONE_ONE, _ONE_TWO, _TWO_ONE, _SKIP_SOURCE, _SKIP_TARGET = range(1, 6)


@dataclass(frozen=True)
class Bead:
    """Consecutive source positions linked to consecutive target positions."""

    source: tuple[int, ...]
    target: tuple[int, ...]
    score: float


def align_monotone(
    one_one: np.ndarray,
    one_two: np.ndarray,
    two_one: np.ndarray,
    skip: float = SKIP_SCORE,
    merge_penalty: float = MERGE_PENALTY,
) -> list[Bead]:
    """Best monotone path through the pair scores.

    one_one[i, j] scores source i with target j; one_two[i, j] source i with
    targets j and j+1 (shape n x m-1); two_one[i, j] sources i and i+1 with
    target j (shape n-1 x m). Returns the linked beads in order.
    """
    n, m = one_one.shape
    if n == 0 or m == 0:
        return []
    gain11 = one_one - skip
    gain12 = 2 * (one_two - skip) - merge_penalty
    gain21 = 2 * (two_one - skip) - merge_penalty
    total = np.full((n + 1, m + 1), -np.inf)
    move = np.zeros((n + 1, m + 1), dtype=np.int8)
    total[0] = 0.0
    move[0, 1:] = _SKIP_TARGET
    for i in range(1, n + 1):
        candidates = np.full((4, m + 1), -np.inf)
        candidates[0] = total[i - 1]  # skip source i-1
        candidates[1, 1:] = total[i - 1, :-1] + gain11[i - 1]
        if m >= 2:
            candidates[2, 2:] = total[i - 1, :-2] + gain12[i - 1]
        if i >= 2:
            candidates[3, 1:] = total[i - 2, :-1] + gain21[i - 2]
        best = candidates.argmax(axis=0)
        from_above = candidates[best, np.arange(m + 1)]
        row = np.maximum.accumulate(from_above)  # skipping targets carries a total rightwards
        total[i] = row
        move[i] = np.where(row > from_above, _SKIP_TARGET, np.array([_SKIP_SOURCE, _ONE_ONE, _ONE_TWO, _TWO_ONE])[best])
    return _backtrack(move, one_one, one_two, two_one)


def _backtrack(move: np.ndarray, one_one: np.ndarray, one_two: np.ndarray, two_one: np.ndarray) -> list[Bead]:
    beads = []
    i, j = move.shape[0] - 1, move.shape[1] - 1
    while i > 0 or j > 0:
        step = move[i, j] if i > 0 else _SKIP_TARGET
        if step == _ONE_ONE:
            beads.append(Bead((i - 1,), (j - 1,), float(one_one[i - 1, j - 1])))
            i, j = i - 1, j - 1
        elif step == _ONE_TWO:
            beads.append(Bead((i - 1,), (j - 2, j - 1), float(one_two[i - 1, j - 2])))
            i, j = i - 1, j - 2
        elif step == _TWO_ONE:
            beads.append(Bead((i - 2, i - 1), (j - 1,), float(two_one[i - 2, j - 1])))
            i, j = i - 2, j - 1
        elif step == _SKIP_SOURCE:
            i -= 1
        else:
            j -= 1
    return beads[::-1]
