"""The inputs of the scale model (docs/scaling.md), measured here, and the replica arithmetic they give.

    python benchmarks/capacity.py [--part translation|memory|library|plan ...] [--lines 300] [--articles 20000]

translation: CTranslate2 on the whole file (newstest2019 zh->en, real model, beam 2, one replica per core),
  then a `crosswire serve` process fed 30-sentence reports by 8 concurrent clients: sentences/s, and the
  server's CPU seconds per sentence (CPU time grows much less than wall time when other work shares the
  machine); then Compare of 30-sentence Russian reports against 5 English articles of 30 sentences each
  (no ru->en model here, so without the translation signal): CPU seconds per report.
memory: a server holding the real zh->en model and the tiny test model, its resident memory once loaded,
  then its peak (VmHWM) after Translate, Align and Compare requests on both: what the Deployment requests.
library: a PostgreSQL with pgvector (the `pgserver` wheel) with the library store's own schema, real English
  articles stored through ingest and copied in SQL up to --articles: bytes per article of every table and
  index (TOAST and HNSW included), search time through the HNSW index, extrapolated linearly to 10 million.
plan: the replica arithmetic for the stated load, from this run's measurements or, for parts not run,
  the figures recorded in docs/scaling.md (RECORDED below).
"""

from __future__ import annotations

import os

# As in the container image (deploy/Containerfile): one BLAS thread per request, the cores being shared by
# concurrent requests; left unset, BLAS starts a thread per visible core, and under load their spinning counts
# as CPU time. Set before numpy loads, here and in the server processes, which inherit it.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import asyncio  # noqa: E402
import math  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

from _setup import REAL_MODEL, REPO, ServerProcess, cpu_seconds, peak_rss_mb, read_lines, real_model_dir  # noqa: E402
from crosswire_server.config import usable_cores  # noqa: E402

PARTS = ("translation", "memory", "library", "plan")
REPORT_SENTENCES = 30
ARTICLES_PER_REPORT = 5
CLIENTS = 8
DIMENSION = 512

#: What docs/scaling.md records (2 loaded cores, 2026-12-07); `plan` uses these for parts not run.
RECORDED = {
    "served_cpu_s_per_sentence": 0.141,
    "compare_cpu_s_per_report": 0.52,
    "bytes_per_article": 41_356,
    "target_tokens_per_sentence": 41.3,
}
#: CTranslate2's README, OPUS-MT transformer-base, CTranslate2 3.6.0 on an NVIDIA A10G, int8_float16.
PUBLISHED_A10G_TOKENS_S = 8362.7


@dataclass
class Load:
    """The load the plan is sized for: a day's volume and a peak hour."""

    sentences_per_day: float = 1_000_000
    peak_reports_per_hour: float = 10_000
    sentences_per_report: float = REPORT_SENTENCES
    cores_per_replica: int = 2
    utilisation: float = 0.7  # the HPA's CPU target: headroom for bursts and for a replica restarting
    library_articles: float = 10_000_000


@dataclass
class Measured:
    """Figures this run measured; a name it lacks is taken from RECORDED."""

    values: dict[str, float] = field(default_factory=dict)

    def get(self, name: str) -> tuple[float, str]:
        if name in self.values:
            return self.values[name], "measured now"
        return RECORDED[name], "recorded in docs/scaling.md"


def _proc_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def translation(lines: int, measured: Measured) -> None:
    """Direct CTranslate2 on the whole file, then the same sentences through a server as reports."""
    import ctranslate2
    import sentencepiece as spm
    from crosswire_models.store import find_model
    from serving import through_server

    models_dir = real_model_dir()
    model = find_model(models_dir, REAL_MODEL)
    sentences = read_lines("eval/zh-en/newstest2019.zh", lines)
    cores = usable_cores()
    translator = ctranslate2.Translator(str(model.model_path), compute_type="int8", inter_threads=cores,
                                        intra_threads=1)
    sp = spm.SentencePieceProcessor(model_file=str(model.source_spm))
    tokens = sp.encode(sentences, out_type=str)
    started, cpu_started = time.perf_counter(), time.process_time()
    results = translator.translate_batch(tokens, beam_size=2, max_batch_size=2048, batch_type="tokens")
    direct_s, direct_cpu = time.perf_counter() - started, time.process_time() - cpu_started
    del translator
    target_tokens = sum(len(r.hypotheses[0]) for r in results) / len(results)
    per_core = len(sentences) / direct_cpu
    print(f"translation: {len(sentences)} sentences of newstest2019 zh->en, {REAL_MODEL}, beam 2, {cores} cores")
    print(f"  ctranslate2, whole file, inter={cores} intra=1     {len(sentences) / direct_s:7.1f} sentences/s "
          f"wall; {direct_cpu * 1000 / len(sentences):.0f} ms CPU per sentence = {per_core:.1f} sentences per "
          f"core-second; {target_tokens:.1f} target tokens per sentence")

    server = ServerProcess.start(models_dir, "--cache-size", "0")
    try:
        pid = server.process.pid
        before = cpu_seconds(pid)
        run = asyncio.run(through_server(server.address, sentences, 2, CLIENTS, REPORT_SENTENCES))
        served_cpu = (cpu_seconds(pid) - before) / len(sentences)
        outputs = run.outputs
    finally:
        server.stop()
    served = len(sentences) / run.seconds
    print(f"  crosswire, {CLIENTS} clients x {REPORT_SENTENCES}-sentence reports       {served:7.1f} sentences/s "
          f"= {served / (len(sentences) / direct_s):.2f}x the whole-file call; "
          f"server CPU {served_cpu * 1000:.0f} ms per sentence = "
          f"{direct_cpu / len(sentences) / served_cpu:.2f}x the whole-file call per CPU second")
    assert all(outputs), "every sentence should come back translated"
    measured.values.update(direct_sentences_per_core_s=per_core, served_cpu_s_per_sentence=served_cpu,
                           target_tokens_per_sentence=target_tokens)
    compare_cost(models_dir, measured)


def _reports(count: int) -> list[tuple[str, list[str]]]:
    """`count` Russian reports of 30 sentences, each with 5 English articles of 30 sentences, all distinct."""
    ru = read_lines("eval/ru-en/newstest2019.ru", 2000)
    en = read_lines("eval/ru-en/newstest2019.en", 2000)
    tasks = []
    for index in range(count):
        start = index * REPORT_SENTENCES
        report = "\n".join(ru[start:start + REPORT_SENTENCES])
        articles = ["\n".join(en[(start + k * 331) % 1970:(start + k * 331) % 1970 + REPORT_SENTENCES])
                    for k in range(ARTICLES_PER_REPORT)]
        tasks.append((report, articles))
    return tasks


def compare_cost(models_dir: Path, measured: Measured, count: int = 8) -> None:
    """Server CPU seconds per Compare of a 30-sentence report against 5 articles (cold texts each time)."""
    from crosswire import Client

    server = ServerProcess.start(models_dir, service="crosswire.v1.AlignmentService")
    try:
        server.wait_ready()
        pid = server.process.pid
        with Client(server.address, timeout=600) as client:
            warm_report, warm_articles = _reports(count + 1)[-1]
            client.compare(warm_report, warm_articles, source_language="ru", target_language="en")
            walls, cpus = [], []
            for report, articles in _reports(count):
                before, started = cpu_seconds(pid), time.perf_counter()
                client.compare(report, articles, source_language="ru", target_language="en")
                walls.append(time.perf_counter() - started)
                cpus.append(cpu_seconds(pid) - before)
    finally:
        server.stop()
    cpu = statistics.median(cpus)
    print(f"  Compare, {REPORT_SENTENCES}-sentence report vs {ARTICLES_PER_REPORT} articles of {REPORT_SENTENCES}, "
          f"{count} reports   median {statistics.median(walls):.2f} s wall, {cpu:.2f} s server CPU per report")
    measured.values["compare_cpu_s_per_report"] = cpu


def memory(lines: int, measured: Measured) -> None:
    """Resident memory of a server holding the real model and the tiny one, loaded and after traffic."""
    from crosswire import Client

    sys.path.insert(0, str(REPO / "tests"))
    from crosswire_models.importing import import_model
    from crosswire_models.store import find_model
    from support.tiny_marian import build_tiny_marian, zip_release

    real = find_model(real_model_dir(), REAL_MODEL)
    with tempfile.TemporaryDirectory() as scratch:
        scratch_dir = Path(scratch)
        models_dir = scratch_dir / "models"
        models_dir.mkdir()
        (models_dir / REAL_MODEL).symlink_to(real.path, target_is_directory=True)
        release = build_tiny_marian(scratch_dir / "tiny")
        import_model(zip_release(release, scratch_dir / "opus-tiny-ru-en.zip"), models_dir, "tiny-ru-en")
        server = ServerProcess.start(models_dir, service="crosswire.v1.AlignmentService")
        try:
            server.wait_ready()
            pid = server.process.pid
            loaded_kb = _proc_kb(pid, "VmRSS")
            zh = read_lines("eval/zh-en/newstest2019.zh", lines)
            with Client(server.address, timeout=600) as client:
                for start in range(0, len(zh), REPORT_SENTENCES):
                    client.translate(zh[start:start + REPORT_SENTENCES], source="zh", presegmented=True)
                ru = read_lines("eval/ru-en/newstest2019.ru", 60)
                client.translate(ru, source="ru", model="tiny-ru-en", presegmented=True)
                for report, articles in _reports(4):
                    client.align(report, articles, source_language="ru", target_language="en")
                    client.compare(report, articles, source_language="ru", target_language="en")
            peak_mb, after_kb = peak_rss_mb(pid), _proc_kb(pid, "VmRSS")
        finally:
            server.stop()
    print(f"memory: a server with {REAL_MODEL} ({_size_mb(real.path):.0f} MB on disk) and tiny-ru-en, "
          f"default settings, {usable_cores()} cores")
    print(f"  resident once loaded                     {loaded_kb / 1024:7.0f} MB")
    print(f"  resident after Translate/Align/Compare   {after_kb / 1024:7.0f} MB")
    print(f"  peak (VmHWM)                             {peak_mb:7.0f} MB")
    import inspect

    from crosswire_server.alignment.embeddings import DIMENSION as dimension, Embedder

    entries = inspect.signature(Embedder).parameters["cache_size"].default
    print(f"  + the sentence-embedding cache when full {entries * dimension * 4 / 1e6:7.0f} MB (computed: "
          f"{entries:,} vectors x {dimension} float32; it fills with the texts seen)")
    measured.values["peak_rss_mb"] = peak_mb


def _size_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def library(articles: int, measured: Measured, queries: int = 50) -> None:
    """Bytes per article in the project's PostgreSQL store at `articles` articles, and HNSW search time.

    The schema is the store's own (PostgresStore creates it). Real articles go in through the store: 30-sentence
    windows of newstest2019.en, segmented, embedded and keyed by ingest; SQL then copies them (text, sentences,
    name and number keys) under new ids, each copy with a random article vector, up to `articles`.
    """
    import pgserver

    with tempfile.TemporaryDirectory() as scratch:
        server = pgserver.get_server(Path(scratch) / "pg", cleanup_mode="stop")
        try:
            _library(server, articles, queries, measured)
        finally:
            server.cleanup()


def _templates(store) -> int:
    """Store 30-sentence English articles through ingest; returns how many went in."""
    from datetime import UTC, datetime, timedelta

    from crosswire_server.alignment.embeddings import Embedder
    from crosswire_server.library.ingest import prepare
    from crosswire_server.library.records import ArticleInput

    english = read_lines("eval/ru-en/newstest2019.en", 2000)
    embedder = Embedder(threads=1)
    count = 0
    for start in range(0, len(english) - REPORT_SENTENCES + 1, REPORT_SENTENCES):
        lines = english[start:start + REPORT_SENTENCES]
        article = ArticleInput(name=f"newstest2019-{start}", text="\n".join(lines), outlet="newstest",
                               url=f"https://example.org/newstest2019/{start}", title=lines[0],
                               published=datetime(2019, 1, 1, tzinfo=UTC) + timedelta(days=start), language="en")
        count += store.put(prepare(article, embedder)).status == "added"
    return count


def _library(server, articles: int, queries: int, measured: Measured) -> None:
    from crosswire_server.library.postgres import SCHEMA, PostgresStore

    store = PostgresStore(server.get_uri())
    try:
        templates = _templates(store)
    finally:
        store.close()
    sql = lambda statement: server.psql(f"SET search_path TO {SCHEMA}, public;\n{statement}")  # noqa: E731
    version = re.findall(r"\d+\.\d+\.\d+", sql("SELECT extversion FROM pg_extension WHERE extname = 'vector';"))
    started = time.perf_counter()
    batch = 2000
    for first in range(templates, articles, batch):
        count = min(batch, articles - first)
        sql(f"""
            BEGIN;
            CREATE TEMP TABLE copies ON COMMIT DROP AS
                SELECT pk AS template, nextval('articles_pk_seq') AS pk
                  FROM (SELECT a.pk FROM articles a, generate_series(1, {count}) g
                         WHERE a.pk <= {templates} ORDER BY g, a.pk LIMIT {count}) t;
            INSERT INTO articles (pk, id, name, outlet, url, title, published, language, content_hash, added,
                                  n_sentences, text)
                SELECT c.pk, substr(md5('id' || c.pk), 1, 16), a.name || '/' || c.pk, 'outlet-' || (c.pk % 200),
                       a.url || '/' || c.pk, a.title, a.published + (c.pk % 3650) * interval '1 day', a.language,
                       md5('hash' || c.pk), a.added, a.n_sentences, a.text
                  FROM copies c JOIN articles a ON a.pk = c.template;
            INSERT INTO sentences (article, position, text, role, embedding)
                SELECT c.pk, s.position, s.text, s.role, s.embedding
                  FROM copies c JOIN sentences s ON s.article = c.template;
            INSERT INTO keys (key, article) SELECT k.key, c.pk FROM copies c JOIN keys k ON k.article = c.template;
            INSERT INTO vectors (article, id, language, outlet, published, vector)
                SELECT c.pk, substr(md5('id' || c.pk), 1, 16), v.language, 'outlet-' || (c.pk % 200),
                       v.published + (c.pk % 3650) * interval '1 day',
                       (SELECT array_agg(random() - 0.5) FROM generate_series(1, {DIMENSION})
                         WHERE c.pk IS NOT NULL)::vector({DIMENSION})
                  FROM copies c JOIN vectors v ON v.article = c.template;
            COMMIT;""")
    inserted_s = time.perf_counter() - started
    sql("VACUUM ANALYZE;")

    def size(expression: str) -> float:
        """One number that psql prints under its column header."""
        return float(re.search(r"-+\n\s*([0-9.]+)", sql(f"SELECT {expression};")).group(1))

    total = size("count(*) FROM articles")

    parts = {
        "articles (row, text in TOAST)": "pg_table_size('articles')",
        "articles' b-tree indexes (8)": "pg_indexes_size('articles')",
        "sentences (text, role, int8 vector)": "pg_table_size('sentences')",
        "sentences' primary key": "pg_indexes_size('sentences')",
        "name and number keys (2 indexes)": "pg_total_relation_size('keys')",
        "vectors (article vector, filters)": "pg_table_size('vectors')",
        "vectors' b-tree indexes (3)": "pg_indexes_size('vectors') - pg_relation_size('vectors_hnsw')",
        "HNSW index on the article vector": "pg_relation_size('vectors_hnsw')",
    }
    sizes = {name: size(expression) for name, expression in parts.items()}
    sentences_per_article = size("(SELECT count(*) FROM sentences)") / total
    keys_per_article = size("(SELECT count(*) FROM keys)") / total

    probe = random.Random(7)
    statements = []
    for _ in range(queries):
        vector = "[" + ",".join(f"{probe.random() - 0.5:.4f}" for _ in range(DIMENSION)) + "]"
        statements.append(f"EXPLAIN (ANALYZE, TIMING OFF) SELECT article FROM vectors "
                          f"ORDER BY vector <=> '{vector}' LIMIT 20;")
    plans = sql("SET hnsw.ef_search = 40; SET enable_seqscan = off;\n" + "\n".join(statements))
    times = [float(t) for t in re.findall(r"Execution Time: ([0-9.]+) ms", plans)]
    per_article = sum(sizes.values()) / total
    print(f"library: PostgreSQL + pgvector {version[0] if version else '?'} (pgserver), the store's own schema, "
          f"{total:,.0f} articles ({templates} real 30-sentence newstest2019.en articles through ingest, copied in "
          f"SQL with random article vectors): {sentences_per_article:.1f} sentences and {keys_per_article:.1f} "
          f"name/number keys per article")
    print(f"  copies inserted at {(total - templates) / inserted_s:,.0f} articles/s (HNSW kept up to date)")
    print(f"  {'':38} {'per article':>12} {'at 10 M articles':>17}")
    for name, bytes_ in sizes.items():
        print(f"  {name:38} {bytes_ / total:10,.0f} B {bytes_ / total * 1e7 / 1e9:14,.1f} GB")
    print(f"  {'all':38} {per_article:10,.0f} B {per_article * 1e7 / 1e9:14,.1f} GB")
    if times:
        p95 = statistics.quantiles(times, n=20)[-1]
        index = "HNSW" if "vectors_hnsw" in plans else "a sequential scan (index unused)"
        print(f"  nearest 20 article vectors by cosine through {index}, ef_search 40: p50 "
              f"{statistics.median(times):.2f} ms, p95 {p95:.2f} ms server time ({len(times)} queries)")
    measured.values.update(bytes_per_article=per_article,
                           hnsw_bytes_per_article=sizes["HNSW index on the article vector"] / total)

def plan(load: Load, measured: Measured) -> None:
    """Replicas for the stated load, the arithmetic printed line by line."""
    cpu_sentence, source_t = measured.get("served_cpu_s_per_sentence")
    cpu_report, source_a = measured.get("compare_cpu_s_per_report")
    per_article, source_l = measured.get("bytes_per_article")
    if not cpu_sentence or not cpu_report:
        print("plan: no measured inputs (run --part translation, or record them in RECORDED)")
        return
    print(f"plan (inputs: {cpu_sentence * 1000:.0f} ms CPU per translated sentence, {source_t}; "
          f"{cpu_report:.2f} s CPU per Compare, {source_a})")
    average = load.sentences_per_day / 86_400
    average_cores = average * cpu_sentence
    print(f"  day: {load.sentences_per_day:,.0f} sentences / 86,400 s = {average:.1f} sentences/s "
          f"x {cpu_sentence:.3f} s = {average_cores:.2f} cores busy on average")
    reports = load.peak_reports_per_hour / 3600
    sentences = reports * load.sentences_per_report
    translate_cores = sentences * cpu_sentence
    compare_cores = reports * cpu_report
    peak_cores = translate_cores + compare_cores
    print(f"  peak: {load.peak_reports_per_hour:,.0f} reports/h = {reports:.2f} reports/s = "
          f"{sentences:.1f} sentences/s")
    print(f"        translation {sentences:.1f} x {cpu_sentence:.3f} s = {translate_cores:.1f} cores; "
          f"Compare {reports:.2f} x {cpu_report:.2f} s = {compare_cores:.1f} cores; total {peak_cores:.1f} cores")
    needed = peak_cores / load.utilisation
    replicas = math.ceil(needed / load.cores_per_replica)
    print(f"        at {load.utilisation:.0%} CPU: {needed:.1f} cores = {replicas} replicas of "
          f"{load.cores_per_replica} cores; +1 to lose a node at peak = {replicas + 1} (HPA maxReplicas)")
    floor = max(3, math.ceil(average_cores / load.utilisation / load.cores_per_replica))
    print(f"  HPA minReplicas: max(3 for availability, {average_cores:.2f} / {load.utilisation} / "
          f"{load.cores_per_replica} rounded up) = {floor}")
    tokens, source_g = measured.get("target_tokens_per_sentence")
    gpu = PUBLISHED_A10G_TOKENS_S / tokens
    print(f"  per GPU (published, A10G int8_float16): {PUBLISHED_A10G_TOKENS_S:,} tokens/s / {tokens:.1f} tokens per "
          f"sentence ({source_g}) = {gpu:.0f} sentences/s; the peak's {sentences:.1f} sentences/s = "
          f"{sentences / gpu:.0%} of one GPU; 2 GPU replicas for availability")
    if per_article:
        total = per_article * load.library_articles
        print(f"  library: {load.library_articles:,.0f} articles x {per_article:,.0f} B ({source_l}) = "
              f"{total / 1e9:,.0f} GB in PostgreSQL")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=PARTS, action="append", help="run only these parts (repeatable)")
    parser.add_argument("--lines", type=int, default=300, help="newstest2019 zh lines for translation and memory")
    parser.add_argument("--articles", type=int, default=20_000, help="synthetic articles in PostgreSQL")
    args = parser.parse_args()
    os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.gettempdir())
    measured = Measured()
    parts = args.part or PARTS
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {usable_cores()} cores, load average "
          f"{os.getloadavg()[0]:.1f} (other work on the machine inflates wall times, less so CPU times)")
    if "translation" in parts:
        translation(args.lines, measured)
    if "memory" in parts:
        memory(args.lines, measured)
    if "library" in parts:
        library(args.articles, measured)
    if "plan" in parts:
        plan(Load(), measured)


if __name__ == "__main__":
    main()
