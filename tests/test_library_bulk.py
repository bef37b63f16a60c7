"""PostgresStore's paths for large libraries: bulk_load leaves the HNSW index out while a large load goes in and
builds it once at its end; nearest() scans exactly when filters leave few rows, and walks the index otherwise."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from support.library_articles import DIMENSION, prepared, unit

from crosswire_server.library import postgres as postgres_module
from crosswire_server.library.store import open_store

pytest.importorskip("psycopg", reason="the PostgreSQL library needs psycopg")
from crosswire_server.library.postgres import PostgresStore  # noqa: E402

DAY = datetime(2024, 3, 1, 12, tzinfo=UTC)


@pytest.fixture
def store(postgres_server: object) -> Iterator[PostgresStore]:
    opened = open_store(postgres_server.new_database())  # type: ignore[attr-defined]
    assert isinstance(opened, PostgresStore)
    yield opened
    opened.close()


def hnsw_indexes(store: PostgresStore) -> list[str]:
    return [row[0] for row in store._db().execute(
        "SELECT indexname FROM pg_indexes WHERE tablename = 'vectors' AND indexdef LIKE '%hnsw%'").fetchall()]


def planned_scan(store: PostgresStore, vector: np.ndarray) -> str:
    """The plan PostgreSQL picks for a nearest-neighbour query (index scans off the HNSW index are forced out)."""
    db = store._db()
    with db.transaction():
        db.execute("SET LOCAL enable_seqscan = off")
        rows = db.execute("EXPLAIN SELECT id FROM vectors ORDER BY vector <=> %s LIMIT 3", (vector,)).fetchall()
    return "\n".join(row[0] for row in rows)


def test_a_first_load_builds_the_index_once_at_the_end_and_search_finds_the_same(store: PostgresStore) -> None:
    rng = np.random.default_rng(11)
    vectors = unit(rng.standard_normal((60, DIMENSION)))
    with store.bulk_load():
        results = store.put_many([prepared(f"a{i}", vector=v) for i, v in enumerate(vectors[:40])])
        results += [store.put(prepared(f"a{i}", vector=v)) for i, v in enumerate(vectors[40:], 40)]
        assert hnsw_indexes(store) == []
        during = [store.nearest(v, 1)[0][0] for v in vectors[:5]]  # an exact scan meanwhile, still right
    assert [r.status for r in results] == ["added"] * 60
    assert hnsw_indexes(store) == ["vectors_hnsw"]
    assert "vectors_hnsw" in planned_scan(store, vectors[0])
    ids = [r.id for r in results]
    assert during == ids[:5]
    assert [store.nearest(v, 1)[0][0] for v in vectors] == ids
    assert store.integrity_check() == "ok"


def test_a_load_into_an_indexed_library_drops_and_rebuilds_the_index_even_on_error(store: PostgresStore) -> None:
    rng = np.random.default_rng(12)
    vectors = unit(rng.standard_normal((10, DIMENSION)))
    first = store.put(prepared("first", vector=vectors[0])).id
    assert hnsw_indexes(store) == ["vectors_hnsw"]
    with pytest.raises(RuntimeError, match="feed broke"), store.bulk_load():
        store.put_many([prepared(f"b{i}", vector=v) for i, v in enumerate(vectors[1:5], 1)])
        assert hnsw_indexes(store) == []
        raise RuntimeError("feed broke")
    assert hnsw_indexes(store) == ["vectors_hnsw"]
    assert store.stats().articles == 5
    assert store.nearest(vectors[0], 1)[0][0] == first
    assert store.put(prepared("after", vector=vectors[9])).status == "added"  # a put after it indexes as usual
    assert hnsw_indexes(store) == ["vectors_hnsw"]


def test_an_empty_load_leaves_an_empty_library_usable(store: PostgresStore) -> None:
    with store.bulk_load():
        pass
    assert hnsw_indexes(store) == []  # no vectors table before the first article says the dimension
    assert store.put(prepared("one", vector=unit(np.ones(DIMENSION)))).status == "added"
    assert hnsw_indexes(store) == ["vectors_hnsw"]


@pytest.mark.parametrize("exact_rows", [5_000, 2])
def test_nearest_in_a_window_is_the_same_by_exact_scan_and_by_the_index(
        store: PostgresStore, monkeypatch: pytest.MonkeyPatch, exact_rows: int) -> None:
    monkeypatch.setattr(postgres_module, "EXACT_ROWS", exact_rows)  # 2: the 12 rows in the window go to the index
    rng = np.random.default_rng(13)
    query = unit(rng.standard_normal(DIMENSION))
    vectors = unit(rng.standard_normal((40, DIMENSION)))
    dates = [DAY + timedelta(days=float(d)) for d in rng.uniform(-60, 60, 40)]
    for i in range(12):
        dates[i] = DAY + timedelta(days=float(rng.uniform(-2, 2)))
    with store.bulk_load():
        ids = [r.id for r in store.put_many([prepared(f"w{i}", vector=v, published=d)
                                             for i, (v, d) in enumerate(zip(vectors, dates))])]
    inside = [i for i, d in enumerate(dates) if abs((d - DAY).total_seconds()) <= 3 * 86400]
    expected = sorted(inside, key=lambda i: -float(vectors[i] @ query))[:5]
    hits = store.nearest(query, 5, since=DAY - timedelta(days=3), until=DAY + timedelta(days=3))
    assert [h[0] for h in hits] == [ids[i] for i in expected]
    everything = store.nearest(query, 50, since=DAY - timedelta(days=3), until=DAY + timedelta(days=3))
    assert sorted(h[0] for h in everything) == sorted(ids[i] for i in inside)
