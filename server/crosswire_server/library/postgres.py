"""The shared library: PostgreSQL with pgvector, for several replicas serving one set of articles.

Same behaviour as SQLiteStore (the rules live in store.py); article vectors are searched by an HNSW index.
A large first load goes through `bulk_load()`, which builds that index once at the end instead of row by row.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

import numpy as np
import psycopg
from pgvector.psycopg import register_vector

from crosswire_server.errors import InvalidInput, NotReady
from crosswire_server.library.records import AddResult, LibraryStats, PreparedArticle, StoredArticle
from crosswire_server.library.store import (
    SCHEMA_VERSION,
    article_id,
    article_values,
    check_prepared,
    consistency_sql,
    dimension_error,
    group_sentences,
    key_weights,
    pack_embeddings,
    unpack_embeddings,
    write_article_sql,
)

SCHEMA = "crosswire"
_LOCK_KEY = 0x63777C69  # pg_advisory_xact_lock key: schema changes and writes to this library, one at a time

_TABLES = """
CREATE TABLE IF NOT EXISTS meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    pk bigserial PRIMARY KEY,
    id text NOT NULL UNIQUE,
    name text NOT NULL,
    outlet text NOT NULL,
    url text UNIQUE,
    title text NOT NULL,
    published timestamptz,
    language text NOT NULL,
    content_hash text NOT NULL UNIQUE,
    added timestamptz NOT NULL,
    n_sentences integer NOT NULL,
    text text NOT NULL
);
CREATE INDEX IF NOT EXISTS articles_name ON articles (name);
CREATE INDEX IF NOT EXISTS articles_published ON articles (published);
CREATE INDEX IF NOT EXISTS articles_outlet ON articles (outlet);
CREATE INDEX IF NOT EXISTS articles_added ON articles (added);
CREATE TABLE IF NOT EXISTS sentences (
    article bigint NOT NULL REFERENCES articles (pk) ON DELETE CASCADE,
    position integer NOT NULL,
    text text NOT NULL,
    role text NOT NULL,
    embedding bytea NOT NULL,
    PRIMARY KEY (article, position)
);
CREATE TABLE IF NOT EXISTS keys (
    key text NOT NULL,
    article bigint NOT NULL REFERENCES articles (pk) ON DELETE CASCADE,
    PRIMARY KEY (key, article)
);
CREATE INDEX IF NOT EXISTS keys_article ON keys (article)
"""

# Created with the first article, when the dimension is known; the filter columns are copied from the article so
# that one table answers a filtered nearest-neighbour query.
_VECTORS = """
CREATE TABLE IF NOT EXISTS vectors (
    article bigint PRIMARY KEY REFERENCES articles (pk) ON DELETE CASCADE,
    id text NOT NULL,
    language text NOT NULL,
    outlet text NOT NULL,
    published timestamptz,
    vector vector({dimension}) NOT NULL
);
CREATE INDEX IF NOT EXISTS vectors_published ON vectors (published);
CREATE INDEX IF NOT EXISTS vectors_outlet ON vectors (outlet)
"""

_HNSW = "CREATE INDEX IF NOT EXISTS vectors_hnsw ON vectors USING hnsw (vector vector_cosine_ops)"
#: Memory for building the HNSW index in one go: 100,000 512-dimensional vectors and their graph take about 300 MB;
#: with less, pgvector builds it far more slowly.
_BUILD_MEMORY = "1GB"

#: nearest() with filters that leave at most this many rows (a time window, a few outlets) scans them exactly: the
#: HNSW walk would visit ef_search candidates only to filter out nearly all of them (about 40 ms at 30,000
#: articles and a 6-day window, against 2.5 ms for the exact scan) and then fall back to the exact scan anyway.
EXACT_ROWS = 5_000

_WRITE_ARTICLE = write_article_sql("%s", "pk")
_ARTICLE_COLUMNS = "id, name, outlet, url, title, published, language, text, added, n_sentences"


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class PostgresStore:
    """A library in the `crosswire` schema of a PostgreSQL database that has (or may create) the vector extension.

    One connection per thread. Every put is one transaction and returns after COMMIT, which PostgreSQL acknowledges
    only once its WAL is flushed (synchronous_commit on). Writers take one transaction-scoped advisory lock, so two
    replicas adding the same URL at once cannot both insert it; readers are never blocked and see whole articles.
    """

    backend = "postgres"

    def __init__(self, url: str) -> None:
        self.url = url
        self._local = threading.local()
        self._connections: list[psycopg.Connection] = []
        self._connections_lock = threading.Lock()
        self._closed = False
        self._deferred = False  # inside bulk_load(): the HNSW index is built at its end
        try:
            self._create_schema()
        except psycopg.OperationalError as error:
            self.close()
            raise NotReady(f"the PostgreSQL library cannot be reached: {error}") from error
        except BaseException:
            self.close()
            raise

    def _db(self) -> psycopg.Connection:
        db = getattr(self._local, "db", None)
        if db is None or db.closed:
            if self._closed:
                raise RuntimeError("the library store is closed")
            db = psycopg.connect(self.url, autocommit=True)
            db.execute(f"SET search_path TO {SCHEMA}, public")
            db.execute("SET TIME ZONE 'UTC'")
            if db.execute("SELECT 1 FROM pg_type WHERE typname = 'vector'").fetchone():
                register_vector(db)
            self._local.db = db
            with self._connections_lock:
                self._connections.append(db)
        return db

    def _create_schema(self) -> None:
        db = self._db()
        with db.transaction():
            db.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            db.execute("CREATE EXTENSION IF NOT EXISTS vector")
            db.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
            for statement in _TABLES.split(";"):
                db.execute(statement)
            version = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if version is None:
                db.execute("INSERT INTO meta (key, value) VALUES ('schema_version', %s)", (str(SCHEMA_VERSION),))
            elif int(version[0]) != SCHEMA_VERSION:
                raise InvalidInput(
                    f"the library at this database is of schema version {version[0]}; this Crosswire reads version "
                    f"{SCHEMA_VERSION}",
                    field="library",
                )
        register_vector(db)

    def _meta(self, db: psycopg.Connection) -> dict[str, str]:
        return dict(db.execute("SELECT key, value FROM meta").fetchall())

    # writes

    def put(self, prepared: PreparedArticle) -> AddResult:
        """Store one article in one transaction."""
        db = self._db()
        with db.transaction():
            db.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            return self._put(db, prepared)

    def put_many(self, batch: Sequence[PreparedArticle]) -> list[AddResult]:
        """Store a batch in one transaction, an invalid article "refused" and the rest stored."""
        results = []
        db = self._db()
        with db.transaction():
            db.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            for prepared in batch:
                try:
                    results.append(self._put(db, prepared))
                except InvalidInput as error:
                    results.append(AddResult(prepared.article.name, "", "refused", str(error)))
        return results

    def _put(self, db: psycopg.Connection, prepared: PreparedArticle) -> AddResult:
        vector, embeddings = check_prepared(prepared)
        article = prepared.article
        url = article.url or None
        self._check_dimension(db, len(vector), prepared.encoder)
        same = db.execute("SELECT id FROM articles WHERE content_hash = %s", (prepared.content_hash,)).fetchone()
        if same is not None:
            return AddResult(article.name, same[0], "unchanged")
        old = db.execute("SELECT pk, id FROM articles WHERE url = %s", (url,)).fetchone() if url else None
        values = article_values(prepared, _utc)
        update, insert = _WRITE_ARTICLE
        if old is not None:
            pk, ident = old
            db.execute(update, (*values, pk))
            for table in ("sentences", "vectors", "keys"):
                db.execute(f"DELETE FROM {table} WHERE article = %s", (pk,))
            status = "replaced"
        else:
            ident = article_id(article.url, prepared.content_hash)
            pk = db.execute(insert + " RETURNING pk", (ident, *values)).fetchone()[0]
            status = "added"
        # one statement per table (arrays unnested server-side), not one round trip per sentence
        db.execute(
            "INSERT INTO sentences (article, position, text, role, embedding) "
            "SELECT %s, ordinality - 1, text, role, embedding FROM unnest(%s::text[], %s::text[], %s::bytea[]) "
            "WITH ORDINALITY AS s (text, role, embedding, ordinality)",
            (pk, list(prepared.sentences), list(prepared.roles), pack_embeddings(embeddings)),
        )
        db.execute(
            "INSERT INTO keys (key, article) SELECT DISTINCT unnest(%s::text[]), %s",
            (list(dict.fromkeys([*prepared.names, *prepared.numbers])), pk),
        )
        db.execute(
            "INSERT INTO vectors (article, id, language, outlet, published, vector) VALUES (%s, %s, %s, %s, %s, %s)",
            (pk, ident, article.language, article.outlet, _utc(article.published), vector),
        )
        return AddResult(article.name, ident, status)

    def _check_dimension(self, db: psycopg.Connection, dimension: int, encoder: str) -> None:
        meta = self._meta(db)
        if "dimension" not in meta:
            db.execute(
                "INSERT INTO meta (key, value) VALUES ('dimension', %s), ('encoder', %s)", (str(dimension), encoder)
            )
            for statement in _VECTORS.format(dimension=int(dimension)).split(";"):
                db.execute(statement)
            if not self._deferred:
                db.execute(_HNSW)
            return
        if int(meta["dimension"]) != dimension:
            raise dimension_error(int(meta["dimension"]), dimension, meta.get("encoder", ""))
        if encoder and meta.get("encoder") and meta["encoder"] != encoder:
            raise InvalidInput(
                f"this library holds vectors by {meta['encoder']}; got vectors by {encoder}", field="encoder"
            )

    def delete(self, keys: Sequence[str]) -> int:
        """Delete by id or name, in one transaction."""
        keys = list(dict.fromkeys(keys))
        if not keys:
            return 0
        db = self._db()
        with db.transaction():
            db.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            return db.execute("DELETE FROM articles WHERE id = ANY(%s) OR name = ANY(%s)", (keys, keys)).rowcount

    # reads

    @staticmethod
    def _article(row: tuple) -> StoredArticle:
        ident, name, outlet, url, title, published, language, text, added, n = row
        return StoredArticle(ident, name, outlet, url or "", title, _utc(published), language, text, _utc(added), n)

    def get(self, key: str) -> StoredArticle | None:
        """By id, else the newest article added under this name."""
        db = self._db()
        with db.transaction():
            row = db.execute(f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE id = %s", (key,)).fetchone()
            if row is None:
                row = db.execute(
                    f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE name = %s ORDER BY added DESC, pk DESC LIMIT 1",
                    (key,),
                ).fetchone()
        return None if row is None else self._article(row)

    def list(self, limit: int = 100, offset: int = 0, outlet: str | None = None) -> list[StoredArticle]:
        """Most recently added first."""
        where, params = ("WHERE outlet = %s", [outlet]) if outlet is not None else ("", [])
        rows = (
            self._db()
            .execute(
                f"SELECT {_ARTICLE_COLUMNS} FROM articles {where} ORDER BY added DESC, pk DESC LIMIT %s OFFSET %s",
                [*params, limit, offset],
            )
            .fetchall()
        )
        return [self._article(row) for row in rows]

    @staticmethod
    def _filters(
        alias: str,
        language: str | None,
        since: datetime | None,
        until: datetime | None,
        outlets: Sequence[str] | None,
    ) -> tuple[str, list]:
        clauses, params = [], []
        if language is not None:
            clauses.append(f"{alias}.language = %s")
            params.append(language)
        if since is not None:
            clauses.append(f"({alias}.published IS NULL OR {alias}.published >= %s)")
            params.append(_utc(since))
        if until is not None:
            clauses.append(f"({alias}.published IS NULL OR {alias}.published <= %s)")
            params.append(_utc(until))
        if outlets is not None:
            clauses.append(f"{alias}.outlet = ANY(%s)")
            params.append(list(outlets))
        return "".join(f" AND {c}" for c in clauses), params

    def nearest(
        self,
        vector: np.ndarray,
        k: int,
        *,
        language: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        outlets: Sequence[str] | None = None,
    ) -> list[tuple[str, float]]:
        """Cosine top k through the HNSW index; an exact scan instead when the filters leave at most EXACT_ROWS
        rows, or leave the index short of k."""
        if k <= 0:
            return []
        db = self._db()
        query = np.asarray(vector, np.float32).reshape(-1)
        where, params = self._filters("v", language, since, until, outlets)
        with db.transaction():
            dimension = self._meta(db).get("dimension")
            if dimension is None:
                return []
            if int(dimension) != query.size:
                raise dimension_error(int(dimension), query.size, "")
            sql = (
                f"SELECT id, 1 - (vector <=> %s) FROM vectors v WHERE true{where} ORDER BY vector <=> %s LIMIT %s"
            )
            few = bool(where) and db.execute(
                f"SELECT count(*) FROM (SELECT 1 FROM vectors v WHERE true{where} LIMIT {EXACT_ROWS + 1}) f", params
            ).fetchone()[0] <= EXACT_ROWS
            if few:
                db.execute("SET LOCAL enable_indexscan = off")
            else:
                db.execute(f"SET LOCAL hnsw.ef_search = {max(40, min(1000, 4 * k))}")
            rows = db.execute(sql, [query, *params, query, k]).fetchall()
            if len(rows) < k and where and not few:
                db.execute("SET LOCAL enable_indexscan = off")
                rows = db.execute(sql, [query, *params, query, k]).fetchall()
        return [(ident, float(score)) for ident, score in rows]

    def by_names(
        self,
        keys: Sequence[str],
        limit: int,
        *,
        language: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        outlets: Sequence[str] | None = None,
    ) -> dict[str, list[str]]:
        """Ranked by the summed rarity of the shared keys, through the key index."""
        keys = list(dict.fromkeys(keys))
        if not keys or limit <= 0:
            return {}
        db = self._db()
        where, params = self._filters("a", language, since, until, outlets)
        with db.transaction():
            total = db.execute("SELECT count(*) FROM articles").fetchone()[0]
            counts = dict(
                db.execute("SELECT key, count(*) FROM keys WHERE key = ANY(%s) GROUP BY key", (keys,)).fetchall()
            )
            if not counts:
                return {}
            weights = key_weights(counts, total)
            rows = db.execute(
                "WITH w (key, weight) AS (SELECT * FROM unnest(%s::text[], %s::float8[])) "
                "SELECT a.id, array_agg(k.key) FROM keys k JOIN w ON w.key = k.key "
                f"JOIN articles a ON a.pk = k.article WHERE true{where} "
                "GROUP BY a.pk, a.id ORDER BY sum(w.weight) DESC, a.id LIMIT %s",
                [list(weights), list(weights.values()), *params, limit],
            ).fetchall()
        return {ident: sorted(found, key=keys.index) for ident, found in rows}

    def sentences(self, ids: Sequence[str]) -> dict[str, tuple[list[str], np.ndarray]]:
        """Sentences in order with their embeddings, dequantised to float32."""
        ids = list(dict.fromkeys(ids))
        if not ids:
            return {}
        db = self._db()
        with db.transaction():
            db.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            dimension = int(self._meta(db).get("dimension", 0))
            rows = db.execute(
                "SELECT a.id, s.text, s.embedding FROM articles a LEFT JOIN sentences s ON s.article = a.pk "
                "WHERE a.id = ANY(%s) ORDER BY a.id, s.position",
                (ids,),
            ).fetchall()
        return group_sentences(ids, rows, dimension)

    def stats(self) -> LibraryStats:
        """Counts from one snapshot; bytes_on_disk is the size of this schema's tables with their indexes."""
        db = self._db()
        with db.transaction():
            db.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            articles, oldest, newest = db.execute(
                "SELECT count(*), min(published), max(published) FROM articles"
            ).fetchone()
            sentences = db.execute("SELECT count(*) FROM sentences").fetchone()[0]
            outlets = dict(
                db.execute("SELECT outlet, count(*) FROM articles GROUP BY outlet ORDER BY outlet").fetchall()
            )
            languages = dict(
                db.execute("SELECT language, count(*) FROM articles GROUP BY language ORDER BY language").fetchall()
            )
            size = db.execute(
                "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind = 'r'",
                (SCHEMA,),
            ).fetchone()[0]
        return LibraryStats(
            articles, sentences, outlets, languages, _utc(oldest), _utc(newest), int(size), self.backend
        )

    def integrity_check(self) -> str:
        """"ok" when every article has all its sentences and its vector, else what is wrong."""
        db = self._db()
        with db.transaction():
            if "dimension" not in self._meta(db):
                return "ok"
            broken = db.execute(consistency_sql("pk")).fetchone()[0]
        return "ok" if broken == 0 else f"{broken} articles lack sentences or their vector"

    @contextlib.contextmanager
    def bulk_load(self) -> Iterator[None]:
        """Put many articles, then build the HNSW index once: inserting into the index row by row is most of the
        time of a put (at 2,000 articles, 17 s against 3 s without it, and it grows with the library), while one
        build over all the rows takes a fraction of it. Meant for a first or large load: meanwhile, searches of
        every replica scan the vectors exactly (right, but slower), so the index is built again even on error."""
        db = self._db()
        self._deferred = True
        try:
            with db.transaction():
                db.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
                db.execute("DROP INDEX IF EXISTS vectors_hnsw")
            yield
        finally:
            self._deferred = False
            with db.transaction():
                db.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
                if db.execute("SELECT to_regclass('vectors')").fetchone()[0] is not None:
                    db.execute(f"SET LOCAL maintenance_work_mem = '{_BUILD_MEMORY}'")
                    db.execute(_HNSW)

    def close(self) -> None:
        """Close every thread's connection."""
        with self._connections_lock:
            self._closed = True
            for db in self._connections:
                db.close()
            self._connections.clear()
        self._local = threading.local()

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
