"""Calibrate the aligner's constants on development data the benchmarks do not report on.

Development data: WMT19 newstest ru-en cut into documents (comparable and
parallel set-ups built like the benchmark's, with another seed), the zh-en
Tatoeba set and ru-en newstest2019 + FLORES-200 devtest (retrieval), and
the first half of zh-en newstest2019 cut into documents, with machine translations from the real zh->en model (the
translation signal; there is no ru->en model here). Prints, for each
constant, the grid it was chosen from and the figures behind the choice; the
chosen values are then written by hand into crosswire_server/alignment/*.py.

    python benchmarks/calibrate_alignment.py [--part parallel|retrieval|translation ...]

The same-fact model and thresholds of comparable mode are fitted on other data,
by benchmarks/calibrate_crossoutlet.py.
"""

from __future__ import annotations

import argparse
import itertools
import random

import numpy as np
from alignment_data import (
    DEV_SEED,
    ZH_CALIBRATION,
    ZH_DOCUMENTS,
    chunked_documents,
    comparable_tasks,
    machine_translations,
    newstest_documents,
    precision_recall,
)
from _setup import require_data

from crosswire_server.alignment.comparable import Texts, link_comparable
from crosswire_server.alignment.embeddings import default_embedder
from crosswire_server.alignment.retrieval import retrieval_scores
from crosswire_server.alignment.scoring import Weights, margin, pair_features

TARGET_PRECISION = 0.98  # dev precision kept above the 0.97 target, for headroom


def _merge_pairs(lines: list[str], rng: random.Random, rate: float) -> tuple[list[str], list[list[int]]]:
    """Join some neighbouring lines; returns the new lines and which old lines each holds."""
    out, groups, i = [], [], 0
    while i < len(lines):
        if i + 1 < len(lines) and rng.random() < rate:
            out.append(f"{lines[i]} {lines[i + 1]}")
            groups.append([i, i + 1])
            i += 2
        else:
            out.append(lines[i])
            groups.append([i])
            i += 1
    return out, groups


def calibrate_parallel(weights: Weights) -> None:
    """SKIP_SCORE and MERGE_PENALTY of the monotone aligner, on documents with merged and dropped lines."""
    from crosswire_server.alignment import Aligner, presegment

    rng = random.Random(DEV_SEED)
    aligner = Aligner(weights=weights)
    cases = []
    for doc in newstest_documents():
        ru, ru_groups = _merge_pairs(doc.source, rng, 0.1)
        en, en_groups = _merge_pairs(doc.target, rng, 0.1)
        dropped = {j for j in range(len(en)) if rng.random() < 0.05}
        kept = [j for j in range(len(en)) if j not in dropped]
        owner = {orig: i for i, group in enumerate(ru_groups) for orig in group}
        gold = {(owner[orig], new) for new, j in enumerate(kept) for orig in en_groups[j]}
        cases.append((ru, [en[j] for j in kept], gold))
    print("skip  merge | P R F1 (pairs of linked sentences)")
    for skip, merge in itertools.product((0.3, 0.4, 0.5), (0.3, 0.5, 0.7, 0.9)):
        predicted_all, gold_all = set(), set()
        for n, (ru, en, gold) in enumerate(cases):
            source, target = presegment("\n".join(ru), "ru"), presegment("\n".join(en), "en")
            for link in aligner.align(source, [target], "parallel", skip=skip, merge_penalty=merge).links:
                predicted_all |= {(n, i, j) for i in link.source for j in link.target}
            gold_all |= {(n, i, j) for i, j in gold}
        p, r, f = precision_recall(predicted_all, gold_all)
        print(f"{skip:4.2f} {merge:5.2f} | {p:.4f} {r:.4f} {f:.4f}")


def _retrieval_sets() -> dict[str, tuple[list[str], list[str], str]]:
    """Development sets for retrieval: zh-en Tatoeba (the same kind of short everyday sentences as
    the ru-en Tatoeba set the benchmark reports on) and ru-en news: newstest2019 whole, its short
    sentences, and newstest2019 with FLORES-200 devtest pooled (3,012 candidates)."""
    def lines(relative: str) -> list[str]:
        return require_data(relative).read_text(encoding="utf-8").splitlines()

    news_ru, news_en = lines("eval/ru-en/newstest2019.ru"), lines("eval/ru-en/newstest2019.en")
    short = [i for i, line in enumerate(news_en) if len(line.split()) <= 15]
    return {
        "zh-en Tatoeba": (lines("eval/zh-en/tatoeba.zh"), lines("eval/zh-en/tatoeba.en"), "zh"),
        "ru-en newstest": (news_ru, news_en, "ru"),
        "ru-en newstest <=15 words": ([news_ru[i] for i in short], [news_en[i] for i in short], "ru"),
        "ru-en newstest+FLORES": (news_ru + lines("eval/ru-en/flores200.devtest.ru"),
                                  news_en + lines("eval/ru-en/flores200.devtest.en"), "ru"),
    }


def calibrate_retrieval() -> None:
    """Margin neighbourhood, centring, the self-learning map and the Sinkhorn normalisation of
    retrieval_scores (both directions)."""
    embedder = default_embedder()
    sets = {name: pair_features(embedder, source, target, language, "en")
            for name, (source, target, language) in _retrieval_sets().items()}
    print("retrieval accuracy source->en / en->source on: " + " | ".join(f"{n} ({len(f.cosine)})" for n, f in sets.items()))
    margin_only = dict(normalise=False)
    grid = [(f"margin k={k}", dict(k=k, centre=False, refine=False, **margin_only)) for k in (1, 2, 4, 8)]
    grid += [("k=1, centred", dict(refine=False, **margin_only))]
    grid += [(f"k=1, centred, self-learning prior {prior}", dict(prior=prior, **margin_only))
             for prior in (0.0, 0.001, 0.01, 0.1)]
    grid += [("k=1, not centred, self-learning", dict(centre=False, **margin_only))]
    grid += [(f"centred, self-learning, Sinkhorn T={t} x{n}", dict(temperature=t, rounds=n))
             for t in (0.02, 0.05, 0.1) for n in (1, 5, 20)]
    grid += [("chosen, without names and numbers", dict(weights=Weights().without("names", "numbers")))]
    for label, options in grid:
        figures = []
        for f in sets.values():
            scores = retrieval_scores(f, **options)
            gold = np.arange(len(scores))
            figures.append(f"{np.mean(scores.argmax(1) == gold):.4f}/{np.mean(scores.argmax(0) == gold):.4f}")
        print(f"{label:<42} " + " | ".join(figures))


def calibrate_translation() -> None:
    """Weight of the translation signal in the candidates' pair score, on zh-en documents 1-50.

    The machine translation also fills the same-fact model's "words" column
    (content words shared with the target); that needs no weight of its own.
    """
    embedder = default_embedder()
    docs = chunked_documents(**ZH_DOCUMENTS)[ZH_CALIBRATION]
    tasks = comparable_tasks(docs, DEV_SEED)
    translated = {s: t for s, t in zip(*_zh_sources_and_translations(docs))}
    gold = {(n, i, j) for n, t in enumerate(tasks) for i, j in t.gold}
    print(f"translation weight on zh-en calibration documents: {len(tasks)} documents, {len(gold)} gold links")
    for weight in (0.0, 0.25, 0.5, 1.0, 2.0):
        weights = Weights(translation=weight)
        predicted = set()
        for n, task in enumerate(tasks):
            mt = [translated[s] for s in task.source]
            f = pair_features(embedder, task.source, task.target, "zh", "en", mt)
            texts = Texts(task.source, task.target, "zh", "en", mt)
            for pair in link_comparable(f, np.zeros(len(task.target), dtype=np.int64), texts, None, weights):
                if pair.grade.value == "same":
                    predicted.add((n, pair.source, pair.target))
        p, r, f1 = precision_recall(predicted, gold)
        print(f"translation {weight:4.2f}: 'same' links P {p:.4f} R {r:.4f} F1 {f1:.4f}")


def _zh_sources_and_translations(docs: list) -> tuple[list[str], list[str]]:
    """The Chinese sentences of all zh-en documents and their machine translations (one cached run)."""
    sources = [s for d in chunked_documents(**ZH_DOCUMENTS) for s in d.source]
    return sources, machine_translations(sources, "zh")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("parallel", "retrieval", "translation"), action="append")
    args = parser.parse_args()
    parts = args.part or ["parallel", "retrieval", "translation"]
    if "parallel" in parts:
        calibrate_parallel(Weights())
    if "retrieval" in parts:
        calibrate_retrieval()
    if "translation" in parts:
        calibrate_translation()


if __name__ == "__main__":
    main()
