"""Evaluation sets of the alignment benchmarks, built from ../shared/data/eval/ru-en.

wmt21-docs.tsv is the test set the benchmark reports on; WMT19 newstest
(cut into documents at its headlines) is the development set the constants
of the aligner were calibrated on.
"""

from __future__ import annotations

import csv
import random
import re
from dataclasses import dataclass

import numpy as np

from _setup import require_data

#: Seeds fixed by the benchmark (test) and by the calibration (development).
TEST_SEED = 20211
DEV_SEED = 20190
KEPT_FRACTION = 0.6
DISTRACTOR_DOCUMENTS = 2


@dataclass(frozen=True)
class ParallelDoc:
    """A Russian document and its English reference, line i translating line i."""

    name: str
    ru: list[str]
    en: list[str]


@dataclass(frozen=True)
class ComparableTask:
    """A Russian document against a shuffled English side with partial coverage and distractors."""

    ru: list[str]
    en: list[str]
    gold: set[tuple[int, int]]


def wmt21_documents() -> list[ParallelDoc]:
    """The 107 WMT21 ru-en documents (source and reference A), one sentence per row."""
    docs: dict[str, ParallelDoc] = {}
    with require_data("eval/ru-en/wmt21-docs.tsv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            doc = docs.setdefault(row["docid"], ParallelDoc(row["docid"], [], []))
            doc.ru.append(row["src_ru"])
            doc.en.append(row["ref_en_A"])
    return list(docs.values())


def newstest_documents(min_sentences: int = 4) -> list[ParallelDoc]:
    """WMT19 newstest ru-en cut into documents: a line without final punctuation starts one."""
    ru = require_data("eval/ru-en/newstest2019.ru").read_text(encoding="utf-8").splitlines()
    en = require_data("eval/ru-en/newstest2019.en").read_text(encoding="utf-8").splitlines()
    starts = [i for i, line in enumerate(ru) if not re.search(r"[.!?…\"»”):;]\s*$", line)]
    docs = []
    for number, (begin, end) in enumerate(zip(starts, starts[1:] + [len(ru)])):
        if end - begin >= min_sentences:
            docs.append(ParallelDoc(f"newstest2019-{number}", ru[begin:end], en[begin:end]))
    return docs


def comparable_tasks(docs: list[ParallelDoc], seed: int) -> list[ComparableTask]:
    """Per document: a random 60% of its reference plus two other documents, shuffled."""
    rng = random.Random(seed)
    tasks = []
    for k, doc in enumerate(docs):
        kept = sorted(rng.sample(range(len(doc.en)), round(KEPT_FRACTION * len(doc.en))))
        others = rng.sample([d for d in range(len(docs)) if d != k], DISTRACTOR_DOCUMENTS)
        items = [(doc.en[i], i) for i in kept] + [(line, None) for d in others for line in docs[d].en]
        rng.shuffle(items)
        gold = {(i, position) for position, (_, i) in enumerate(items) if i is not None}
        tasks.append(ComparableTask(doc.ru, [text for text, _ in items], gold))
    return tasks


def precision_recall(predicted: set, gold: set) -> tuple[float, float, float]:
    """Precision, recall and F1 of predicted pairs against gold pairs."""
    correct = len(predicted & gold)
    precision = correct / len(predicted) if predicted else 1.0
    recall = correct / len(gold) if gold else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


@dataclass(frozen=True)
class Sweep:
    """Precision, recall and F1 at every threshold over scored predictions, best score first."""

    scores: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray

    @classmethod
    def of(cls, scored: list[tuple[float, bool]], gold: int) -> Sweep:
        """From (score, correct) pairs and the number of gold links."""
        scored = sorted(scored, key=lambda item: -item[0])
        correct = np.cumsum([c for _, c in scored])
        precision = correct / np.arange(1, len(scored) + 1)
        recall = correct / gold
        f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-9)
        return cls(np.array([s for s, _ in scored]), precision, recall, f1)

    @property
    def best(self) -> int:
        """Position of the best-F1 threshold."""
        return int(self.f1.argmax())
