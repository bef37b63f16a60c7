"""The library's storage, one suite run against both backends: a SQLite file and a real PostgreSQL with pgvector."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from support.library_articles import DIMENSION, prepared, unit

from crosswire_server.errors import InvalidInput, NotReady
from crosswire_server.library.store import Store, open_store

TESTS = Path(__file__).parent
DAY = datetime(2024, 3, 1, 12, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty library: a file path, or a fresh database on the test PostgreSQL."""
    if request.param == "sqlite":
        return str(tmp_path / "library.sqlite3")
    return request.getfixturevalue("postgres_server").new_database()


@pytest.fixture
def store(location: str) -> Iterator[Store]:
    opened = open_store(location)
    yield opened
    opened.close()


def child(location: str, prefix: str, count: int, *, wait: bool = False) -> subprocess.Popen:
    """A separate process that puts `count` articles and prints each id once put() returned.

    With `wait` it prints "ready" and starts writing when it reads a line.
    """
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen(
        [sys.executable, "-m", "support.library_articles", location, prefix, str(count), *(["wait"] if wait else [])],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_put_get_list_delete_and_stats(store: Store) -> None:
    first = store.put(prepared("a.txt", outlet="Reuters", published=DAY, n=4))
    second = store.put(prepared("b.txt", outlet="AP", language="de", n=2))
    assert (first.status, second.status) == ("added", "added")
    assert first.id and first.id != second.id

    got = store.get(first.id)
    assert got is not None and store.get("a.txt") == got
    assert (got.name, got.outlet, got.published, got.language, got.n_sentences) == ("a.txt", "Reuters", DAY, "en", 4)
    assert got.text == "Text of a.txt." and got.title == "Title of a.txt"
    assert got.added.tzinfo is not None and abs(datetime.now(UTC) - got.added) < timedelta(minutes=5)
    assert store.get("missing") is None

    assert [a.name for a in store.list()] == ["b.txt", "a.txt"]
    assert [a.name for a in store.list(outlet="Reuters")] == ["a.txt"]
    assert [a.name for a in store.list(limit=1, offset=1)] == ["a.txt"]

    stats = store.stats()
    assert (stats.articles, stats.sentences) == (2, 6)
    assert stats.outlets == {"AP": 1, "Reuters": 1} and stats.languages == {"de": 1, "en": 1}
    assert stats.oldest == stats.newest == DAY
    assert stats.bytes_on_disk > 0 and stats.backend == store.backend

    assert len(store.nearest(np.ones(DIMENSION), 5)) == 2
    assert store.delete(["b.txt", first.id, "missing"]) == 2
    assert store.get(first.id) is None and store.list() == []
    assert store.stats().sentences == 0
    assert store.nearest(np.ones(DIMENSION), 5) == []


def test_the_library_outlives_its_store_object_and_others_see_its_writes(location: str) -> None:
    with open_store(location) as first:
        added = first.put(prepared("kept.txt"))
    with open_store(location) as again, open_store(location) as other:
        assert again.get(added.id).name == "kept.txt"
        assert again.nearest(prepared("kept.txt").vector, 5) == [(added.id, pytest.approx(1.0, abs=0.01))]
        later = other.put(prepared("later.txt")).id
        assert {i for i, _ in again.nearest(prepared("later.txt").vector, 5)} == {added.id, later}
        other.delete([added.id])
        assert [i for i, _ in again.nearest(prepared("later.txt").vector, 5)] == [later]


def test_same_content_is_one_article(store: Store) -> None:
    original = store.put(prepared("one.txt", text="The same words.", url="https://a.example/1"))
    again = store.put(prepared("copy.txt", text="The same words.", url="https://b.example/2"))
    same_url = store.put(prepared("one.txt", text="The same words.", url="https://a.example/1"))
    assert again.status == same_url.status == "unchanged"
    assert again.id == same_url.id == original.id
    assert store.stats().articles == 1 and store.get(original.id).name == "one.txt"


def test_new_text_under_the_same_url_replaces_the_article(store: Store) -> None:
    url = "https://news.example/story"
    old = store.put(prepared("v1", text="First version.", url=url, n=5, names=("oldname",), numbers=("1999",)))
    assert store.nearest(prepared("v1", n=5).vector, 5) == [(old.id, pytest.approx(1.0, abs=0.01))]
    new = store.put(prepared("v2", text="Second version.", url=url, n=2, names=("newname",), seed="other"))
    assert new.status == "replaced" and new.id == old.id
    assert store.stats().articles == 1 and store.stats().sentences == 2

    article = store.get(url and old.id)
    assert (article.text, article.n_sentences, article.name) == ("Second version.", 2, "v2")
    texts, embeddings = store.sentences([old.id])[old.id]
    assert texts == ["Second version. sentence 0", "Second version. sentence 1"]
    np.testing.assert_allclose(embeddings, prepared("v2", n=2, seed="other").embeddings, atol=0.02)
    assert store.by_names(["oldname", "1999"], 10) == {}
    assert store.by_names(["newname"], 10) == {old.id: ["newname"]}
    hits = store.nearest(prepared("v2", n=2, seed="other").vector, 5)
    assert hits == [(old.id, pytest.approx(1.0, abs=0.01))]  # the old vector is gone from every index


def test_nearest_ranks_by_cosine_and_applies_filters(store: Store) -> None:
    rng = np.random.default_rng(7)
    query = unit(rng.standard_normal(DIMENSION))
    noise = unit(rng.standard_normal((6, DIMENSION)))
    # similarity to the query falls with i: weights 1.0, 0.8, ... against a random direction
    vectors = [unit((1.0 - 0.18 * i) * query + 0.18 * i * noise[i]) for i in range(6)]
    specs = [
        dict(language="en", outlet="Reuters", published=DAY),
        dict(language="en", outlet="AP", published=DAY + timedelta(days=10)),
        dict(language="fr", outlet="Reuters", published=DAY),
        dict(language="en", outlet="BBC", published=None),
        dict(language="en", outlet="Reuters", published=DAY - timedelta(days=30)),
        dict(language="en", outlet="AP", published=DAY + timedelta(days=1)),
    ]
    ids = [store.put(prepared(f"n{i}", vector=v, **spec)).id for i, (v, spec) in enumerate(zip(vectors, specs))]
    far = store.put(prepared("far", vector=-query, published=DAY - timedelta(days=100))).id

    hits = store.nearest(query, 3)
    assert [h[0] for h in hits] == ids[:3]
    scores = [h[1] for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] == pytest.approx(float(vectors[0] @ query), abs=0.01)

    everything = store.nearest(query, 100)
    assert [h[0] for h in everything][:6] == ids and everything[-1][1] == pytest.approx(-1.0, abs=0.01)
    assert [h[0] for h in store.nearest(query, 10, language="fr")] == [ids[2]]
    assert [h[0] for h in store.nearest(query, 10, outlets=["AP", "BBC"])] == [ids[1], ids[3], ids[5]]
    assert store.nearest(query, 10, outlets=[]) == []
    window = store.nearest(query, 10, language="en", since=DAY - timedelta(days=2), until=DAY + timedelta(days=2))
    assert [h[0] for h in window] == [ids[0], ids[3], ids[5]]  # n3 has no date, so it cannot be placed outside
    assert [h[0] for h in store.nearest(query, 2, since=DAY + timedelta(days=5))] == [ids[1], ids[3]]
    assert [h[0] for h in store.nearest(query, 10, until=DAY - timedelta(days=5))] == [ids[3], ids[4], far]


def test_by_names_ranks_rare_keys_first_and_filters(store: Store) -> None:
    common = store.put(prepared("common", names=("russia", "moscow")))
    rare = store.put(prepared("rare", names=("russia", "navalny"), language="ru"))
    for i in range(5):
        store.put(prepared(f"filler{i}", names=("russia", "moscow")))
    store.put(prepared("unrelated", names=("paris",), numbers=("2024",)))

    found = store.by_names(["navalny", "moscow", "2025"], 3)
    assert list(found)[0] == rare.id and found[rare.id] == ["navalny"]
    assert common.id in store.by_names(["navalny", "moscow"], 10)
    assert len(store.by_names(["russia"], 4)) == 4
    assert store.by_names(["navalny", "moscow"], 10, language="ru") == {rare.id: ["navalny"]}
    assert store.by_names(["moscow", "russia"], 10, outlets=["none"]) == {}
    assert store.by_names(["nobody"], 10) == {} and store.by_names([], 10) == {}


def test_sentences_round_trip_within_quantisation(store: Store) -> None:
    article = prepared("s", n=6)
    ident = store.put(article).id
    empty = store.put(prepared("empty", n=0, vector=np.ones(DIMENSION))).id
    got = store.sentences([ident, "missing", empty])
    assert set(got) == {ident, empty}
    texts, embeddings = got[ident]
    assert texts == article.sentences
    assert embeddings.dtype == np.float32 and embeddings.shape == (6, DIMENSION)
    np.testing.assert_allclose(embeddings, article.embeddings, atol=0.01)
    cosine = np.sum(unit(embeddings) * article.embeddings, axis=1)
    assert cosine.min() > 0.999
    assert got[empty][0] == [] and got[empty][1].shape == (0, DIMENSION)


def test_vectors_of_another_dimension_are_refused(store: Store) -> None:
    store.put(prepared("first"))
    with pytest.raises(InvalidInput, match="32-dimensional") as error:
        store.put(prepared("wider", dimension=48))
    assert error.value.field == "vector"
    with pytest.raises(InvalidInput, match="32-dimensional"):
        store.nearest(np.ones(48), 3)
    other_encoder = prepared("other")
    other_encoder.encoder = "another-encoder"
    with pytest.raises(InvalidInput, match="test-random"):
        store.put(other_encoder)
    bad_shape = prepared("bad")
    bad_shape.embeddings = bad_shape.embeddings[:, :10]
    with pytest.raises(InvalidInput, match="embeddings"):
        store.put(bad_shape)
    assert store.stats().articles == 1


def test_a_batch_gives_a_result_per_article_and_refuses_only_the_bad_one(store: Store) -> None:
    url = "https://news.example/batch"
    results = store.put_many(
        [
            prepared("b1", text="Batch one.", url=url),
            prepared("b2", text="Batch two.", names=("kyiv",)),
            prepared("wide", dimension=48),
            prepared("b2 copy", text="Batch two."),
            prepared("b1 v2", text="Batch one, corrected.", url=url, n=5, seed="v2"),
        ]
    )
    assert [r.status for r in results] == ["added", "added", "refused", "unchanged", "replaced"]
    assert results[2].id == "" and "32-dimensional" in results[2].reason and results[2].name == "wide"
    assert results[3].id == results[1].id and results[4].id == results[0].id
    assert store.stats().articles == 2 and store.get(results[0].id).n_sentences == 5
    assert store.nearest(prepared("b1 v2", n=5, seed="v2").vector, 1)[0][0] == results[0].id
    assert store.by_names(["kyiv"], 5) == {results[1].id: ["kyiv"]}
    assert store.integrity_check() == "ok" and isinstance(store, Store)


def test_two_writer_threads_lose_nothing(store: Store) -> None:
    results: dict[str, list[str]] = {"a": [], "b": []}

    def write(prefix: str) -> None:
        for i in range(40):
            results[prefix].append(store.put(prepared(f"{prefix}{i}", names=(f"k{i % 3}",))).id)

    threads = [threading.Thread(target=write, args=(p,)) for p in results]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = results["a"] + results["b"]
    assert len(set(ids)) == 80 and store.stats().articles == 80
    assert all(store.get(ident) is not None for ident in ids)
    assert store.integrity_check() == "ok"


def test_two_writer_processes_lose_nothing(location: str) -> None:
    writers = [child(location, prefix, 60, wait=True) for prefix in ("p", "q")]  # both create the schema at once
    assert [writer.stdout.readline() for writer in writers] == ["ready\n", "ready\n"]
    for writer in writers:  # both are open before either writes, so their writes interleave
        writer.stdin.write("go\n")
        writer.stdin.flush()
    outputs = [writer.communicate(timeout=120)[0].split() for writer in writers]
    assert [writer.returncode for writer in writers] == [0, 0]
    with open_store(location) as store:
        assert [len(ids) for ids in outputs] == [60, 60]
        assert store.stats().articles == 120
        assert all(store.get(ident) is not None for ids in outputs for ident in ids)
        assert store.integrity_check() == "ok"


def test_a_reader_during_a_writer_sees_whole_articles(store: Store) -> None:
    url = "https://news.example/live"
    version = {"n": 0}
    stop = threading.Event()

    def write() -> None:
        for v in range(1, 60):
            store.put(prepared(f"live{v}", text=f"version {v}", url=url, n=1 + v % 6))
            store.put(prepared(f"extra{v}", n=1 + v % 4))
            version["n"] = v
        stop.set()

    def check_whole(ident: str) -> None:
        article = store.get(ident)
        found = store.sentences([ident])
        assert article is not None and ident in found  # nothing is deleted here
        texts, embeddings = found[ident]
        assert len(texts) == len(embeddings) >= 1, "an article without its sentences"
        stamps = {t.rsplit(" sentence ", 1)[0] for t in texts}
        assert len(stamps) == 1, f"sentences of two versions at once: {stamps}"
        stamp = stamps.pop()  # "version 7" (n = 1 + 7 % 6) or "Text of extra7." (n = 1 + 7 % 4)
        if stamp.startswith("version "):
            assert len(texts) == 1 + int(stamp.split()[1]) % 6
        else:
            assert len(texts) == 1 + int(stamp.removeprefix("Text of extra").rstrip(".")) % 4

    writer = threading.Thread(target=write)
    writer.start()
    checks = 0
    try:
        while not stop.is_set() or checks == 0:
            for article in store.list(limit=5):
                check_whole(article.id)
                checks += 1
            for ident, _ in store.nearest(np.ones(DIMENSION), 3):
                assert store.get(ident) is not None
    finally:
        writer.join()
    assert checks > 0 and version["n"] == 59
    assert store.stats().articles == 60 and store.integrity_check() == "ok"


def test_kill_9_during_ingest_loses_nothing_acknowledged(location: str) -> None:
    open_store(location).close()
    writer = child(location, "k", 100_000)
    acknowledged = [writer.stdout.readline().strip() for _ in range(40)]
    os.kill(writer.pid, signal.SIGKILL)
    acknowledged += writer.stdout.read().split()  # ids printed before the kill landed were acknowledged too
    writer.wait(timeout=30)
    assert writer.returncode == -signal.SIGKILL
    assert all(acknowledged) and len(acknowledged) >= 40
    with open_store(location) as store:
        assert store.integrity_check() == "ok"
        missing = [ident for ident in acknowledged if store.get(ident) is None]
        assert missing == []
        stats = store.stats()
        assert len(acknowledged) <= stats.articles <= len(acknowledged) + 1
        assert stats.sentences == sum(a.n_sentences for a in store.list(limit=10_000))
        assert store.put(prepared("after the crash")).status == "added"


def test_a_library_of_another_schema_version_is_refused(location: str) -> None:
    open_store(location).close()
    if location.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(location, autocommit=True) as db:
            db.execute("UPDATE crosswire.meta SET value = '99' WHERE key = 'schema_version'")
    else:
        with sqlite3.connect(location) as db:
            db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(InvalidInput, match="schema version 99"):
        open_store(location)


def test_a_location_that_is_no_library_gives_a_clear_error(tmp_path: Path) -> None:
    not_sqlite = tmp_path / "notes.txt"
    not_sqlite.write_text("just some notes, not a database\n" * 100)
    with pytest.raises(InvalidInput, match="notes.txt cannot be opened as a library") as error:
        open_store(not_sqlite)
    assert error.value.field == "library"
    with pytest.raises(NotReady, match="PostgreSQL library cannot be reached"):
        open_store(f"postgresql://postgres@127.0.0.1:{_closed_port()}/nothing")


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
