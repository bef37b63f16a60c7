"""The library's storage at scale, without the encoder: size on disk, bulk ingest, nearest/by_names latency.

    python benchmarks/library_store.py [--articles 100000] [--sentences 20] [--dimension 512] [--backend both]

Fills a fresh library with synthetic prepared articles (random unit vectors, 12 name keys each from a
vocabulary of 20,000, short texts) through Store.put_many in batches of 500, then times `--queries`
nearest() calls (k=20, each query an article's vector plus noise of the same norm; unfiltered, and with a
language + 7-day window filter), by_names() with 8 keys and
sentences() of 5 articles. The baseline, timed in turns with nearest() on the same queries, is the floor
for an exact search: one numpy float32 matrix-vector product and argpartition over a matrix of the same
size. Printed: bytes on disk per article and per sentence (stats().bytes_on_disk), put_many articles/s
(storage only, no embedding), p50/p95 of each call, nearest's p95 over the baseline's, how often the
query's own article comes first (HNSW is approximate; SQLite rounds vectors to float16; the rest of an
exact top 20 over random vectors is noise, so recall@20 would measure nothing), and the RSS growth
from loading the vector matrix (SQLite). `--backend postgres` runs the same against PostgreSQL + pgvector
(HNSW) started from the pgserver wheel in a temp dir (unix socket). One thread (OPENBLAS_NUM_THREADS=1);
figures vary with the machine's load.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import signal
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # one core, as the search target is stated

import numpy as np  # noqa: E402

from crosswire_server.library.records import ArticleInput, PreparedArticle  # noqa: E402
from crosswire_server.library.store import Store, open_store  # noqa: E402

START = datetime(2024, 1, 1, tzinfo=UTC)


def synthetic(i: int, rng: np.random.Generator, sentences: int, dimension: int) -> PreparedArticle:
    """Article i: random unit sentence embeddings, a mean vector, 12 name keys, a date within 2024."""
    embeddings = rng.standard_normal((sentences, dimension), dtype=np.float32)
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    vector = embeddings.mean(axis=0)
    text = " ".join(f"Sentence {j} of synthetic article {i}, about nothing in particular." for j in range(sentences))
    published = START + timedelta(hours=int(rng.integers(0, 366 * 24)))
    return PreparedArticle(
        article=ArticleInput(f"a{i}.txt", text, f"outlet{i % 50}", f"https://news.example/{i}", f"Title {i}",
                             published, "en" if i % 10 else "de"),
        content_hash=hashlib.sha256(text.encode()).hexdigest(),
        sentences=[f"Sentence {j} of synthetic article {i}." for j in range(sentences)],
        roles=["body"] * sentences,
        embeddings=embeddings,
        vector=vector / np.linalg.norm(vector),
        names=[f"name{k}" for k in rng.integers(0, 20_000, 12)],
        encoder="synthetic",
    )


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def timed(calls: list, paired: list | None = None) -> tuple[float, float] | tuple[tuple[float, float], ...]:
    """p50 and p95 in milliseconds of running each zero-argument call; with `paired`, the two lists alternate."""
    times: list[list[float]] = [[], []]
    for i, call in enumerate(calls):
        for j, run in enumerate([call] if paired is None else [call, paired[i]]):
            started = time.perf_counter()
            run()
            times[j].append((time.perf_counter() - started) * 1000)
    results = tuple((statistics.median(t), sorted(t)[int(0.95 * (len(t) - 1))]) for t in times if t)
    return results[0] if paired is None else results


def fill(store: Store, args: argparse.Namespace) -> tuple[float, np.ndarray, list[str]]:
    """Put every article in batches; returns articles per second, the article vectors and their ids."""
    rng = np.random.default_rng(1)
    spent = 0.0
    vectors = np.zeros((args.articles, args.dimension), np.float32)
    ids: list[str] = []
    for first in range(0, args.articles, 500):
        batch = [synthetic(i, rng, args.sentences, args.dimension)
                 for i in range(first, min(first + 500, args.articles))]
        vectors[first:first + len(batch)] = [p.vector for p in batch]
        started = time.perf_counter()
        ids += [r.id for r in store.put_many(batch)]
        spent += time.perf_counter() - started
        if first % 5_000 == 0:
            print(f"  {first + len(batch)} articles ...", flush=True)
    return args.articles / spent, vectors, ids


def measure(store: Store, args: argparse.Namespace, label: str) -> None:
    """Fills the store and prints its figures."""
    rate, matrix, ids = fill(store, args)
    stats = store.stats()
    rng = np.random.default_rng(2)
    # a report's vector lies near its coverage: each query is an article's vector plus as much noise
    noise = rng.standard_normal((args.queries, args.dimension), dtype=np.float32)
    sources = rng.integers(0, args.articles, args.queries)
    near = matrix[sources]
    queries = near + noise * np.linalg.norm(near, axis=1, keepdims=True) / np.linalg.norm(noise, axis=1, keepdims=True)
    before = rss_mb()
    started = time.perf_counter()
    store.nearest(queries[0], 20)
    first_ms = (time.perf_counter() - started) * 1000
    grown = rss_mb() - before

    def floor(q: np.ndarray) -> np.ndarray:
        return np.argpartition(-(matrix @ q), 19)[:20]

    # the store and the baseline take turns, so both see the same machine load
    plain, base = timed([lambda q=q: store.nearest(q, 20) for q in queries], [lambda q=q: floor(q) for q in queries])
    found = np.mean([store.nearest(q, 20)[0][0] == ids[j] for q, j in zip(queries, sources)])
    del matrix
    day = [START + timedelta(days=int(d)) for d in rng.integers(0, 360, args.queries)]
    window = timed([lambda q=q, d=d: store.nearest(q, 20, language="en", since=d - timedelta(days=3),
                                                   until=d + timedelta(days=4)) for q, d in zip(queries, day)])
    names = timed([lambda k=k: store.by_names([f"name{x}" for x in k], 50)
                   for k in rng.integers(0, 20_000, (args.queries, 8))])
    ids = [a.id for a in store.list(limit=200)]
    sentences = timed([lambda s=s: store.sentences(ids[s:s + 5]) for s in range(0, 200, 5)])
    print(f"{label}: {stats.articles} articles, {stats.sentences} sentences")
    print(f"  on disk: {stats.bytes_on_disk / 2**20:.0f} MiB = {stats.bytes_on_disk / stats.articles / 1024:.1f} KiB "
          f"per article, {stats.bytes_on_disk / stats.sentences:.0f} B per sentence")
    print(f"  put_many: {rate:.0f} articles/s (storage only)")
    print(f"  first nearest (loads the matrix): {first_ms:.0f} ms, RSS +{grown:.0f} MiB")
    print(f"  nearest k=20:               p50 {plain[0]:6.1f} ms  p95 {plain[1]:6.1f} ms")
    print(f"  baseline, same turns:       p50 {base[0]:6.1f} ms  p95 {base[1]:6.1f} ms  (numpy float32 matmul "
          f"+ argpartition over {args.articles} x {args.dimension})")
    print(f"  nearest p95 / baseline p95: {plain[1] / base[1]:.2f}; the query's own article first: {found:.1%}")
    print(f"  nearest, language + 7 days: p50 {window[0]:6.1f} ms  p95 {window[1]:6.1f} ms")
    print(f"  by_names 8 keys:            p50 {names[0]:6.1f} ms  p95 {names[1]:6.1f} ms")
    print(f"  sentences of 5 articles:    p50 {sentences[0]:6.1f} ms  p95 {sentences[1]:6.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--sentences", type=int, default=20, help="sentences per article")
    parser.add_argument("--dimension", type=int, default=512)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="sqlite",
                        help="postgres: PostgreSQL + pgvector started from the pgserver wheel")
    args = parser.parse_args()
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory(prefix="crosswire-library-bench-") as folder:
            store = open_store(Path(folder) / "library.sqlite3")
            measure(store, args, "SQLite")
            store.close()
    if args.backend in ("postgres", "both"):
        import pgserver

        signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # so `finally` stops the server

        folder = tempfile.mkdtemp(prefix="crosswire-library-bench-pg-")
        server = pgserver.get_server(folder, cleanup_mode="delete")
        try:
            store = open_store(server.get_uri())
            measure(store, args, "PostgreSQL + pgvector")
            store.close()
        finally:
            server.cleanup()
    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
