"""Sentence-level chrF (Popović 2015) between every pair of two lists of sentences, as sacrebleu computes it.

Score (i, j) equals sacrebleu's `CHRF().sentence_score(hypotheses[i], [references[j]]).score / 100`:
character n-grams of orders 1-6, whitespace removed, case kept, clipped counts; precision and recall are
averaged over the orders both sentences have, then combined as an F-score with beta = 2 (recall weighs more).

To stay fast and small at the request limits (1,000 x 10,000 sentences: about 220 MiB, where a dense
sentence x n-gram matrix needs 2 GiB; benchmarks/chrf.py), each sentence's n-gram counts are kept
sparse. N-grams that many pairs share are counted with a matrix product over just those n-grams; the
rare ones pair up through an inverted index. References go in chunks, so the working memory is a few
(hypotheses x chunk) float32 matrices.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

MAX_ORDER = 6
BETA = 2
#: References scored together; bounds the working memory to a few (hypotheses x chunk) matrices.
REFERENCE_CHUNK = 1024
#: Sentence pairs sharing a rare n-gram that are counted per step of the inverted index.
PAIR_STEP = 1 << 18
#: An n-gram goes to the matrix product when this share of all (hypothesis, reference) pairs share it,
#: where a product is cheaper than listing those pairs one by one.
DENSE_SHARE = 1e-3


@dataclass(frozen=True)
class _Counts:
    """One n-gram order: how often each sentence holds each n-gram, sorted by n-gram."""

    rows: np.ndarray
    grams: np.ndarray
    counts: np.ndarray
    gram_count: int

    def part(self, rows: slice) -> _Counts:
        """The entries of rows in `rows`, renumbered from 0 (still sorted by n-gram)."""
        chosen = (self.rows >= rows.start) & (self.rows < rows.stop)
        return _Counts(self.rows[chosen] - rows.start, self.grams[chosen], self.counts[chosen], self.gram_count)


def _starts(sorted_values: np.ndarray) -> np.ndarray:
    """Whether each element of a sorted array differs from the one before it."""
    changed = np.ones(sorted_values.size, dtype=bool)
    changed[1:] = sorted_values[1:] != sorted_values[:-1]
    return changed


def _count_ngrams(texts: list[str], lengths: np.ndarray) -> Iterator[_Counts]:
    """Order by order, the n-gram counts of every sentence, with one sort per order.

    An n-gram is keyed by its (n-1)-gram prefix's id and its last character; sorting (key, sentence)
    numbers the n-grams and groups each one's occurrences by sentence.
    """
    codes = np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    present = np.zeros(int(codes.max(initial=0)) + 1, dtype=bool)
    present[codes] = True
    chars = (np.cumsum(present) - 1)[codes]
    alphabet, sentences = int(present.sum()), len(texts)
    rows = np.repeat(np.arange(sentences, dtype=np.int64), lengths)
    ends = np.repeat(np.cumsum(lengths), lengths)
    grams = np.zeros(codes.size, dtype=np.int64)
    distinct = 1
    valid = np.arange(codes.size, dtype=np.int64)
    for order in range(1, MAX_ORDER + 1):
        valid = valid[valid + order <= ends[valid]]
        key = grams[valid] * alphabet + chars[valid + order - 1]
        if distinct * alphabet * sentences >= 2**62:  # only with huge alphabets: renumber before combining
            key = np.unique(key, return_inverse=True)[1]
        by_key = np.argsort(key * sentences + rows[valid])
        key, held_by = key[by_key], rows[valid][by_key]
        new_gram = _starts(key)
        ids = np.cumsum(new_gram) - 1
        grams[valid[by_key]] = ids
        distinct = int(ids[-1]) + 1 if ids.size else 1
        starts = np.flatnonzero(new_gram | _starts(held_by))
        counts = np.diff(np.append(starts, key.size))
        yield _Counts(held_by[starts].astype(np.int32), ids[starts].astype(np.int32), counts.astype(np.int32),
                      distinct)


def _indicators(side: _Counts, columns: np.ndarray, depth: np.ndarray, height: int) -> np.ndarray:
    """(height, depth.sum()) 0/1 matrix: column (g, k) is set for the rows holding n-gram g more than k times."""
    matrix = np.zeros((height, int(depth.sum())), dtype=np.float32)
    chosen = depth[side.grams] > 0
    grams, counts = side.grams[chosen], np.minimum(side.counts[chosen], depth[side.grams[chosen]])
    within = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    matrix[np.repeat(side.rows[chosen], counts), np.repeat(columns[grams], counts) + within] = 1
    return matrix


def _clipped_matches(left: _Counts, right: _Counts, shape: tuple[int, int]) -> np.ndarray:
    """matches[i, j] = sum over n-grams of min(count in left row i, count in right row j)."""
    matches = np.zeros(shape, dtype=np.float32)  # whole counts: exact in float32 below 2**24
    left_df = np.bincount(left.grams, minlength=left.gram_count)
    right_df = np.bincount(right.grams, minlength=left.gram_count)
    dense = left_df * right_df > DENSE_SHARE * shape[0] * shape[1]
    if dense.any():
        # min(a, b) = number of k with a > k and b > k: one 0/1 column per (n-gram, k).
        depth = np.zeros(left.gram_count, dtype=np.int64)
        chosen = dense[left.grams]
        np.maximum.at(depth, left.grams[chosen], left.counts[chosen])
        columns = np.cumsum(depth) - depth
        matches += _indicators(left, columns, depth, shape[0]) @ _indicators(right, columns, depth, shape[1]).T
    # The rare n-grams: each left entry meets the right rows holding the same n-gram (contiguous there).
    right_start = np.cumsum(right_df) - right_df
    keep = ~dense[left.grams] & (right_df[left.grams] > 0)
    rows, grams, counts = left.rows[keep], left.grams[keep], left.counts[keep]
    repeats = right_df[grams]
    ends = np.cumsum(repeats)
    flat = matches.reshape(-1)
    begin = 0
    while begin < rows.size:
        stop = max(int(np.searchsorted(ends, ends[begin] - repeats[begin] + PAIR_STEP, side="right")), begin + 1)
        step = repeats[begin:stop]
        within = np.arange(int(step.sum())) - np.repeat(np.cumsum(step) - step, step)
        partners = np.repeat(right_start[grams[begin:stop]], step) + within
        flat += np.bincount(
            np.repeat(rows[begin:stop].astype(np.int64), step) * shape[1] + right.rows[partners],
            weights=np.minimum(np.repeat(counts[begin:stop], step), right.counts[partners]),
            minlength=flat.size,
        )
        begin = stop
    return matches


def _f_scores(left: list[_Counts], right: list[_Counts], left_lengths: np.ndarray,
              right_lengths: np.ndarray) -> np.ndarray:
    """chrF of every (left row, right row) pair from their n-gram counts and lengths (whitespace removed)."""
    shape = (left_lengths.size, right_lengths.size)
    precision, recall = np.zeros(shape, dtype=np.float32), np.zeros(shape, dtype=np.float32)
    for order, (left_counts, right_counts) in enumerate(zip(left, right), start=1):
        matches = _clipped_matches(left_counts, right_counts, shape)
        precision += matches / np.maximum(left_lengths - order + 1, 1).astype(np.float32)[:, None]
        matches /= np.maximum(right_lengths - order + 1, 1).astype(np.float32)[None, :]
        recall += matches
        del matches
    # Precision and recall are averaged over the orders both sentences have (sacrebleu's effective
    # order); that count cancels in the F-score except once in the denominator.
    effective = np.minimum(np.minimum(left_lengths, MAX_ORDER).astype(np.float32)[:, None],
                           np.minimum(right_lengths, MAX_ORDER).astype(np.float32)[None, :])
    factor = BETA**2
    denominator = factor * precision + recall
    denominator *= effective
    del effective
    precision *= recall
    precision *= 1 + factor
    # Where the denominator is 0, recall is 0 too, and stays as the score.
    return np.divide(precision, denominator, out=recall, where=denominator > 0)


def chrf_matrix(hypotheses: Sequence[str], references: Sequence[str]) -> np.ndarray:
    """(len(hypotheses), len(references)) sentence-level chrF scores in [0, 1] (sacrebleu's, divided by 100)."""
    result = np.zeros((len(hypotheses), len(references)), dtype=np.float32)
    if not hypotheses or not references:
        return result
    texts = ["".join(text.split()) for text in [*hypotheses, *references]]
    lengths = np.array([len(text) for text in texts], dtype=np.int64)
    first_right = len(hypotheses)
    left, right = [], []
    for counts in _count_ngrams(texts, lengths):
        left.append(counts.part(slice(0, first_right)))
        right.append(counts.part(slice(first_right, len(texts))))
    for start in range(0, len(references), REFERENCE_CHUNK):
        chunk = slice(start, min(start + REFERENCE_CHUNK, len(references)))
        result[:, chunk] = _f_scores(left, [counts.part(chunk) for counts in right], lengths[:first_right],
                                     lengths[first_right:][chunk])
    return result
