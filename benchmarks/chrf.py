"""chrF of the translation signal: agreement with sacrebleu, speed, and memory at the request limits.

    python benchmarks/chrf.py [--part exact|speed|limits ...]

exact: sacrebleu's CHRF().sentence_score on every pair of 100 machine-translation-like and 100 English
news sentences, against chrf_matrix. speed: a 60-sentence report against 300 article sentences, against
sacrebleu pair by pair in the same run. limits: 1,000 hypotheses against 10,000 distinct English news
sentences (the Align/Compare limits): time, the peak of memory allocated while computing (tracemalloc)
and the process's peak RSS.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core, as the alignment benchmarks
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import csv  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402

import numpy as np  # noqa: E402
from _setup import read_lines, require_data  # noqa: E402

from crosswire_server.alignment.chrf import MAX_ORDER, chrf_matrix  # noqa: E402

ENGLISH = ("ru-en/newstest2019.en", "ru-en/flores200.devtest.en", "ru-en/tatoeba.en", "zh-en/newstest2019.en",
           "zh-en/flores200.devtest.en", "zh-en/tatoeba.en")


def english_sentences(count: int) -> list[str]:
    """`count` distinct English sentences: every English line of the evaluation sets, then (to reach the
    request limit) some of them with their first word moved to the end."""
    lines: dict[str, None] = {}
    for name in ENGLISH:
        lines.update(dict.fromkeys(require_data(f"eval/{name}").read_text(encoding="utf-8").splitlines()))
    with require_data("eval/ru-en/wmt21-docs.tsv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            lines.update(dict.fromkeys([row["ref_en_A"], row["ref_en_B"]]))
    for line in list(lines):
        if len(lines) >= count:
            break
        words = line.split()
        lines.setdefault(" ".join(words[1:] + words[:1]), None)
    return [line for line in lines if line.strip()][:count]


def exact() -> None:
    from sacrebleu.metrics import CHRF

    hypotheses = read_lines("eval/zh-en/newstest2019.en", 100)
    references = english_sentences(2000)[-100:]
    metric = CHRF()
    expected = np.array([[metric.sentence_score(h, [r]).score / 100 for r in references] for h in hypotheses])
    difference = np.abs(chrf_matrix(hypotheses, references) - expected).max()
    print(f"exact: {expected.size} pairs, largest difference from sacrebleu's CHRF {difference:.1e}")


def speed() -> None:
    from sacrebleu.metrics import CHRF

    report = read_lines("eval/ru-en/newstest2019.en", 60)
    article = english_sentences(2000)[-300:]
    runs = []
    for _ in range(7):
        started = time.perf_counter()
        chrf_matrix(report, article)
        runs.append(time.perf_counter() - started)
    metric = CHRF()
    started = time.perf_counter()
    for hypothesis in report[:6]:
        for reference in article:
            metric.sentence_score(hypothesis, [reference])
    sacrebleu = (time.perf_counter() - started) * len(report) / 6
    ours = statistics.median(runs)
    print(f"speed: 60 x 300 sentences, one core: chrf_matrix {ours * 1000:.0f} ms (median of 7), "
          f"sacrebleu pair by pair {sacrebleu:.1f} s, ratio {sacrebleu / ours:.0f}x")


def limits() -> None:
    hypotheses = read_lines("eval/ru-en/newstest2019.en", 1000)
    references = english_sentences(10_000)
    grams = {text[i : i + MAX_ORDER] for text in ("".join(h.split()) for h in hypotheses)
             for i in range(len(text) - MAX_ORDER + 1)}
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tracemalloc.start()
    started = time.perf_counter()
    scores = chrf_matrix(hypotheses, references)
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"limits: {len(hypotheses)} x {len(references)} sentences, one core: {elapsed:.1f} s; "
          f"peak allocated {peak:.0f} MiB (the {scores.nbytes / 2**20:.0f} MiB result included); "
          f"peak RSS {after:.0f} MiB ({before:.0f} MiB before)")
    print(f"  a dense {len(references)} x {len(grams)} (distinct 6-grams of the hypotheses) float32 matrix "
          f"alone would take {len(references) * len(grams) * 4 / 2**30:.1f} GiB")


PARTS = {"exact": exact, "speed": speed, "limits": limits}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=PARTS, action="append", help="run only these parts (repeatable)")
    for name in parser.parse_args().part or PARTS:
        PARTS[name]()


if __name__ == "__main__":
    main()
