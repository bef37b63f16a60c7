"""Character n-gram F-score (chrF-style) between every pair of two lists of sentences.

Used to compare the machine translation of a source sentence with candidate
target sentences. As in chrF, whitespace is removed and n-grams of orders 1-6
are matched with clipped counts; the F-score (beta = 1, symmetric) is averaged
over the orders. Clipped counts are computed as a sum of matrix products of
"count >= t" indicator matrices, so a whole matrix costs a few numpy products.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

MAX_ORDER = 6


def _ngrams(text: str, order: int) -> Counter[str]:
    chars = "".join(text.lower().split())
    return Counter(chars[i : i + order] for i in range(len(chars) - order + 1))


def _clipped_matches(left: list[Counter[str]], right: list[Counter[str]]) -> np.ndarray:
    """matches[i, j] = sum over n-grams of min(count in left[i], count in right[j])."""
    vocabulary: dict[str, int] = {}
    for counts in left:
        for gram in counts:
            vocabulary.setdefault(gram, len(vocabulary))
    deepest = max((c for counts in left for c in counts.values()), default=0)
    result = np.zeros((len(left), len(right)), dtype=np.float32)
    if not vocabulary:
        return result
    a = np.zeros((len(left), len(vocabulary)), dtype=np.float32)
    b = np.zeros((len(right), len(vocabulary)), dtype=np.float32)
    for row, counts in enumerate(left):
        for gram, count in counts.items():
            a[row, vocabulary[gram]] = count
    for row, counts in enumerate(right):
        for gram, count in counts.items():
            column = vocabulary.get(gram)
            if column is not None:
                b[row, column] = count
    for threshold in range(1, deepest + 1):
        result += (a >= threshold).astype(np.float32) @ (b >= threshold).astype(np.float32).T
    return result


def chrf_matrix(hypotheses: Sequence[str], references: Sequence[str]) -> np.ndarray:
    """(len(hypotheses), len(references)) chrF scores in [0, 1]."""
    total = np.zeros((len(hypotheses), len(references)), dtype=np.float32)
    for order in range(1, MAX_ORDER + 1):
        left = [_ngrams(text, order) for text in hypotheses]
        right = [_ngrams(text, order) for text in references]
        matches = _clipped_matches(left, right)
        left_sizes = np.array([sum(c.values()) for c in left], dtype=np.float32)[:, None]
        right_sizes = np.array([sum(c.values()) for c in right], dtype=np.float32)[None, :]
        precision = matches / np.maximum(left_sizes, 1)
        recall = matches / np.maximum(right_sizes, 1)
        total += 2 * precision * recall / np.maximum(precision + recall, 1e-9)
    return total / MAX_ORDER
