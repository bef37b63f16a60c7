"""Where the library keeps its articles: the `Store` interface, the embedded SQLite store, and `open_store`.

Both backends share the rules in this module (ids, dedupe, the compact sentence-embedding format, key weights),
so a library behaves the same on one file and on a PostgreSQL server shared by several replicas.
"""

from __future__ import annotations

import hashlib
import math
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from crosswire_server.errors import InvalidInput
from crosswire_server.library.records import AddResult, LibraryStats, PreparedArticle, StoredArticle

SCHEMA_VERSION = 1


@runtime_checkable
class Store(Protocol):
    """An article library's storage; every method is thread-safe and every write is one transaction.

    The same URL or the same content hash is one article: the same content again is "unchanged", new text under a
    known URL "replaced" (its old sentences and keys go; when the new text is already another article's, that
    article's id comes back "unchanged" and the URL keeps its old text). Time filters (`since`, `until`, UTC) keep
    articles published in [since, until] and those without a published time, which cannot be placed outside one.
    """

    backend: str

    def put(self, prepared: PreparedArticle) -> AddResult:
        """Store one article; returns only after it is committed. InvalidInput for a wrong dimension or shape."""

    def put_many(self, batch: Sequence[PreparedArticle]) -> list[AddResult]:
        """Store a batch in one transaction, a result per article (an invalid one "refused", the rest stored)."""

    def get(self, key: str) -> StoredArticle | None:
        """The article with this id, else the one most recently added under this name."""

    def delete(self, keys: Sequence[str]) -> int:
        """Delete the articles with these ids or names; returns how many went."""

    def list(self, limit: int = 100, offset: int = 0, outlet: str | None = None) -> list[StoredArticle]:
        """Articles, most recently added first."""

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
        """The k articles whose vectors are closest (cosine) to `vector`, as (id, similarity), best first."""

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
        """Articles sharing name/number keys: id -> the keys it has, best first (rarer keys weigh more)."""

    def sentences(self, ids: Sequence[str]) -> dict[str, tuple[list[str], np.ndarray]]:
        """Each article's sentences and their (n, d) float32 embeddings, for reranking."""

    def stats(self) -> LibraryStats:
        """Counts, time range and size on disk."""

    def integrity_check(self) -> str:
        """"ok" when the storage is sound and every article has all its sentences and its vector, else what is wrong."""

    def close(self) -> None:
        """Release connections; the store cannot be used after."""


def open_store(location: str | os.PathLike[str]) -> Store:
    """A `postgresql://` (or `postgres://`) URL opens PostgresStore; anything else is a SQLite file path."""
    text = os.fspath(location)
    if text.startswith(("postgresql://", "postgres://")):
        try:
            from crosswire_server.library.postgres import PostgresStore
        except ImportError as error:
            raise InvalidInput(
                f"a PostgreSQL library needs psycopg and pgvector (pip install 'crosswire[postgres]'): {error}",
                field="library",
            ) from error

        return PostgresStore(text)
    return SQLiteStore(text)


# ---- rules both backends share -------------------------------------------------------------------------------


def article_id(url: str, content_hash: str) -> str:
    """A short stable id: from the URL when there is one (so a replaced version keeps its id), else the content."""
    basis = f"url:{url}" if url else f"content:{content_hash}"
    return hashlib.sha256(basis.encode("utf-8")).hexdigest()[:16]


def pack_embeddings(embeddings: np.ndarray) -> list[bytes]:
    """Each row as int8 with its float32 scale in front (d + 4 bytes; cosine error well under 0.01)."""
    rows = np.asarray(embeddings, dtype=np.float32)
    scales = np.abs(rows).max(axis=1) / 127.0 if rows.size else np.zeros(len(rows), np.float32)
    scales = np.where(scales > 0, scales, 1.0).astype(np.float32)
    quantised = np.rint(rows / scales[:, None]).astype(np.int8)
    return [scale.tobytes() + row.tobytes() for scale, row in zip(scales, quantised, strict=True)]


def unpack_embeddings(blobs: Iterable[bytes], dimension: int) -> np.ndarray:
    """The inverse of pack_embeddings: an (n, d) float32 array."""
    buffer = b"".join(blobs)
    width = dimension + 4
    raw = np.frombuffer(buffer, dtype=np.uint8).reshape(-1, width)
    scales = raw[:, :4].copy().view(np.float32)
    return raw[:, 4:].view(np.int8).astype(np.float32) * scales


#: A key in more articles than this share of the library (and than COMMON_KEY_MIN) is left out of by_names: it says
#: little about which articles share a report's events ("Russia"), and joining all its articles would take longer
#: than the rest of a search (at 100,000 articles, "russian" alone is in 25,000).
COMMON_KEY_SHARE = 0.01
COMMON_KEY_MIN = 1000


def key_weights(frequencies: dict[str, int], total: int) -> dict[str, float]:
    """Inverse document frequency of the keys that are not common (the rarest one if all are): a name shared with
    few articles says more than one every article has."""
    cap = max(COMMON_KEY_MIN, COMMON_KEY_SHARE * total)
    kept = {key: count for key, count in frequencies.items() if count <= cap}
    if not kept and frequencies:
        rarest = min(frequencies, key=frequencies.__getitem__)
        kept = {rarest: frequencies[rarest]}
    return {key: math.log((total + 1) / (count + 0.5)) for key, count in kept.items()}


def check_prepared(prepared: PreparedArticle) -> tuple[np.ndarray, np.ndarray]:
    """The article's vector and sentence embeddings as float32, refused when their shapes disagree."""
    vector = np.asarray(prepared.vector, dtype=np.float32).reshape(-1)
    embeddings = np.asarray(prepared.embeddings, dtype=np.float32)
    n = len(prepared.sentences)
    if embeddings.ndim != 2 or embeddings.shape[0] != n or (n and embeddings.shape[1] != vector.shape[0]):
        raise InvalidInput(
            f"embeddings have shape {embeddings.shape}, expected ({n}, {vector.shape[0]})", field="embeddings"
        )
    if len(prepared.roles) != n:
        raise InvalidInput(f"{len(prepared.roles)} roles for {n} sentences", field="roles")
    if not prepared.content_hash:
        raise InvalidInput("the article has no content hash", field="content_hash")
    return vector, embeddings


def dimension_error(expected: int, got: int, encoder: str) -> InvalidInput:
    """The error for a vector of another encoder's size."""
    by = f" by {encoder}" if encoder else ""
    return InvalidInput(
        f"this library holds {expected}-dimensional vectors{by}; got {got} dimensions",
        field="vector",
        limit="dimension",
    )


def group_sentences(
    ids: Sequence[str], rows: Iterable[tuple[str, str | None, bytes | None]], dimension: int
) -> dict[str, tuple[list[str], np.ndarray]]:
    """(id, sentence, embedding) rows in order, an article without sentences as one (id, None, None), by article."""
    grouped: dict[str, tuple[list[str], list[bytes]]] = {}
    for ident, text, blob in rows:
        texts, blobs = grouped.setdefault(ident, ([], []))
        if text is not None:
            texts.append(text)
            blobs.append(bytes(blob))
    return {i: (grouped[i][0], unpack_embeddings(grouped[i][1], dimension)) for i in ids if i in grouped}


def consistency_sql(pk: str) -> str:
    """Counts the articles that lack some of their sentences or their vector (0 in a sound library)."""
    return (
        f"SELECT count(*) FROM articles a WHERE a.n_sentences <> (SELECT count(*) FROM sentences s "
        f"WHERE s.article = a.{pk}) OR NOT EXISTS (SELECT 1 FROM vectors v WHERE v.article = a.{pk})"
    )


#: The columns put() writes to `articles` besides the id, in the order of article_values().
WRITTEN_COLUMNS = ("name", "outlet", "url", "title", "published", "language", "content_hash", "added",
                   "n_sentences", "text")


def article_values(prepared: PreparedArticle, moment: Callable[[datetime | None], object]) -> tuple:
    """The values of WRITTEN_COLUMNS for an article; `moment` converts times to the backend's own form."""
    article = prepared.article
    return (article.name, article.outlet, article.url or None, article.title, moment(article.published),
            article.language, prepared.content_hash, moment(datetime.now(UTC)), len(prepared.sentences),
            article.text)


def write_article_sql(mark: str, key: str) -> tuple[str, str]:
    """(UPDATE by `key`, INSERT with the id first) of WRITTEN_COLUMNS, `mark` being the driver's placeholder."""
    update = ", ".join(f"{column}={mark}" for column in WRITTEN_COLUMNS)
    marks = ", ".join([mark] * (len(WRITTEN_COLUMNS) + 1))
    return (f"UPDATE articles SET {update} WHERE {key} = {mark}",
            f"INSERT INTO articles (id, {', '.join(WRITTEN_COLUMNS)}) VALUES ({marks})")


_WRITE_ARTICLE = write_article_sql("?", "rowid")


def to_micros(moment: datetime | None) -> int | None:
    """UTC microseconds since the epoch (a naive datetime is taken as UTC)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return round(moment.timestamp() * 1_000_000)


def from_micros(micros: int | None) -> datetime | None:
    """The inverse of to_micros, as an aware UTC datetime."""
    if micros is None:
        return None
    return datetime.fromtimestamp(micros / 1_000_000, tz=UTC)


class VectorIndex:
    """Article vectors as one float32 matrix in memory, with filter columns, searched by a matrix-vector product.

    Rows are appended in the store's vector order (an ever-growing sequence number) and dropped when their
    sequence number disappears, so a refresh reads only what changed since the last one.
    """

    def __init__(self, dimension: int) -> None:
        self.dimension = dimension
        self.matrix = np.zeros((0, dimension), np.float32)
        self.size = 0
        self.seq = np.zeros(0, np.int64)
        self.ids: list[str] = []
        self.language = np.zeros(0, np.int32)
        self.outlet = np.zeros(0, np.int32)
        self.published = np.zeros(0, np.int64)  # micros; undated articles hold NO_TIME
        self.codes: dict[str, int] = {}

    NO_TIME = np.iinfo(np.int64).min

    def code(self, value: str) -> int:
        """A small integer for a language or outlet, so filters are integer comparisons."""
        return self.codes.setdefault(value, len(self.codes))

    def keep(self, alive: np.ndarray) -> None:
        """Drop the rows whose sequence numbers are not in `alive` (deleted or replaced articles)."""
        mask = np.isin(self.seq[: self.size], alive, assume_unique=True)
        if mask.all():
            return
        n = int(mask.sum())
        self.matrix[:n] = self.matrix[: self.size][mask]
        self.seq = self.seq[: self.size][mask]
        self.language = self.language[mask]
        self.outlet = self.outlet[mask]
        self.published = self.published[mask]
        self.ids = [i for i, m in zip(self.ids, mask.tolist(), strict=True) if m]
        self.size = n

    def reserve(self, rows: int) -> None:
        """Room for `rows` vectors without another copy."""
        if rows > len(self.matrix):
            grown = np.zeros((rows, self.dimension), np.float32)
            grown[: self.size] = self.matrix[: self.size]
            self.matrix = grown

    def append(self, rows: list[tuple[int, str, str, str, int | None, bytes]]) -> None:
        """Add (seq, id, language, outlet, published micros, float16 vector) rows; the matrix grows by half."""
        if not rows:
            return
        need = self.size + len(rows)
        if need > len(self.matrix):
            self.reserve(max(need, len(self.matrix) * 3 // 2, 1024))
        vectors = np.frombuffer(b"".join(r[5] for r in rows), np.float16).reshape(len(rows), self.dimension)
        self.matrix[self.size : need] = vectors
        self.seq = np.concatenate([self.seq, np.array([r[0] for r in rows], np.int64)])
        self.ids.extend(r[1] for r in rows)
        self.language = np.concatenate([self.language, np.array([self.code(r[2]) for r in rows], np.int32)])
        self.outlet = np.concatenate([self.outlet, np.array([self.code(r[3]) for r in rows], np.int32)])
        published = [self.NO_TIME if r[4] is None else r[4] for r in rows]
        self.published = np.concatenate([self.published, np.array(published, np.int64)])
        self.size = need

    def search(
        self,
        vector: np.ndarray,
        k: int,
        language: str | None,
        since: datetime | None,
        until: datetime | None,
        outlets: Sequence[str] | None,
    ) -> list[tuple[str, float]]:
        """Top k by cosine among the rows the filters keep (filters are boolean masks over the columns)."""
        if self.size == 0 or k <= 0:
            return []
        mask = np.ones(self.size, bool)
        if language is not None:
            mask &= self.language == self.codes.get(language, -1)
        if outlets is not None:
            mask &= np.isin(self.outlet, [self.codes.get(o, -1) for o in outlets])
        dated = self.published != self.NO_TIME
        if since is not None:
            mask &= ~dated | (self.published >= to_micros(since))
        if until is not None:
            mask &= ~dated | (self.published <= to_micros(until))
        rows = np.flatnonzero(mask)
        if len(rows) == 0:
            return []
        query = np.asarray(vector, np.float32).reshape(-1)
        query = query / (np.linalg.norm(query) or 1.0)
        if len(rows) * 4 >= self.size:  # scoring every row beats copying most of the matrix
            scores = (self.matrix[: self.size] @ query)[rows]
        else:
            scores = self.matrix[rows] @ query
        k = min(k, len(rows))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.ids[rows[i]], float(scores[i])) for i in top]


# ---- SQLite ---------------------------------------------------------------------------------------------------

_SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    outlet TEXT NOT NULL,
    url TEXT,
    title TEXT NOT NULL,
    published INTEGER,
    language TEXT NOT NULL,
    content_hash TEXT NOT NULL UNIQUE,
    added INTEGER NOT NULL,
    n_sentences INTEGER NOT NULL,
    text TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS articles_url ON articles(url) WHERE url IS NOT NULL;
CREATE INDEX IF NOT EXISTS articles_name ON articles(name);
CREATE INDEX IF NOT EXISTS articles_published ON articles(published);
CREATE INDEX IF NOT EXISTS articles_outlet ON articles(outlet);
CREATE INDEX IF NOT EXISTS articles_added ON articles(added);
CREATE TABLE IF NOT EXISTS sentences (
    article INTEGER NOT NULL REFERENCES articles(rowid) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    text TEXT NOT NULL,
    role TEXT NOT NULL,
    embedding BLOB NOT NULL,
    PRIMARY KEY (article, position)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS vectors (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    article INTEGER NOT NULL UNIQUE REFERENCES articles(rowid) ON DELETE CASCADE,
    id TEXT NOT NULL,
    language TEXT NOT NULL,
    outlet TEXT NOT NULL,
    published INTEGER,
    vector BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS keys (
    key TEXT NOT NULL,
    article INTEGER NOT NULL REFERENCES articles(rowid) ON DELETE CASCADE,
    PRIMARY KEY (key, article)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS keys_article ON keys(article);
"""

_ARTICLE_COLUMNS = "id, name, outlet, url, title, published, language, text, added, n_sentences"


class SQLiteStore:
    """The embedded library: one SQLite file in WAL mode, opened by any number of threads and processes.

    Durability: every put is one `BEGIN IMMEDIATE … COMMIT` and returns only after COMMIT. In WAL mode a commit is
    in the WAL file before COMMIT returns, so a kill -9 of the process loses nothing acknowledged with any
    `synchronous` setting; we choose FULL, which also fsyncs the WAL at each commit so an acknowledged article
    survives a power cut or an OS crash. It costs one fsync per article, small next to embedding its sentences.
    A killed writer leaves only an uncommitted WAL tail, which the next opener ignores: the file is never corrupted.
    Writers queue on SQLite's own lock (busy_timeout); readers never wait for them and see whole articles only.
    """

    backend = "sqlite"

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout_s: float = 30.0) -> None:
        self.path = Path(path).expanduser()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._busy_ms = int(busy_timeout_s * 1000)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._closed = False
        self._index: VectorIndex | None = None
        self._index_generation = -1
        self._index_removals = ""
        self._connections_lock = threading.Lock()
        self._index_lock = threading.Lock()
        try:
            self._create_schema()
        except sqlite3.DatabaseError as error:
            self.close()
            raise InvalidInput(f"{self.path} cannot be opened as a library: {error}", field="library") from error
        except BaseException:
            self.close()
            raise

    # connections and transactions

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            if self._closed:
                raise RuntimeError("the library store is closed")
            db = sqlite3.connect(self.path, timeout=self._busy_ms / 1000, isolation_level=None, check_same_thread=False)
            db.execute(f"PRAGMA busy_timeout = {self._busy_ms}")
            self._use_wal(db)
            db.execute("PRAGMA synchronous = FULL")
            db.execute("PRAGMA foreign_keys = ON")
            self._local.db = db
            with self._connections_lock:
                self._connections.append(db)
        return db

    def _use_wal(self, db: sqlite3.Connection) -> None:
        """Switch the file to WAL (once; it stays so). SQLite answers "locked" at once, without waiting out
        busy_timeout, when another process opens a new file at the same moment, so wait for it here."""
        deadline = time.monotonic() + self._busy_ms / 1000
        while True:
            try:
                db.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    class _Transaction:
        def __init__(self, db: sqlite3.Connection, mode: str) -> None:
            self.db, self.mode = db, mode

        def __enter__(self) -> sqlite3.Connection:
            self.db.execute(f"BEGIN {self.mode}")
            return self.db

        def __exit__(self, kind: object, error: object, trace: object) -> None:
            self.db.execute("COMMIT" if kind is None else "ROLLBACK")

    def _write(self) -> SQLiteStore._Transaction:
        """A write transaction that takes the write lock at once (no deadlocking read-to-write upgrade)."""
        return self._Transaction(self._db(), "IMMEDIATE")

    def _read(self) -> SQLiteStore._Transaction:
        """A read transaction: one consistent snapshot across its statements."""
        return self._Transaction(self._db(), "DEFERRED")

    def _create_schema(self) -> None:
        with self._write() as db:
            for statement in _SQLITE_SCHEMA.split(";"):  # not executescript, which would COMMIT
                if statement.strip():
                    db.execute(statement)
            version = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if version is None:
                db.executemany(
                    "INSERT INTO meta (key, value) VALUES (?, ?)",
                    [("schema_version", str(SCHEMA_VERSION)), ("generation", "0"), ("removals", "0")],
                )
            elif int(version[0]) != SCHEMA_VERSION:
                raise InvalidInput(
                    f"{self.path} is a library of schema version {version[0]}; this Crosswire reads version "
                    f"{SCHEMA_VERSION}",
                    field="library",
                )

    def _meta(self, db: sqlite3.Connection) -> dict[str, str]:
        return dict(db.execute("SELECT key, value FROM meta").fetchall())

    # writes

    def put(self, prepared: PreparedArticle) -> AddResult:
        """Store one article in one transaction (see the class docstring for when it is durable)."""
        with self._write() as db:
            result = self._put(db, prepared)
            self._bump(db, removed=result.status == "replaced")
        return result

    def put_many(self, batch: Sequence[PreparedArticle]) -> list[AddResult]:
        """Store a batch in one transaction (one commit, so much faster than put() one by one); see Store."""
        results = []
        with self._write() as db:
            for prepared in batch:
                try:
                    results.append(self._put(db, prepared))
                except InvalidInput as error:
                    results.append(AddResult(prepared.article.name, "", "refused", str(error)))
            self._bump(db, removed=any(r.status == "replaced" for r in results))
        return results

    def _put(self, db: sqlite3.Connection, prepared: PreparedArticle) -> AddResult:
        vector, embeddings = check_prepared(prepared)
        article = prepared.article
        url = article.url or None
        self._check_dimension(db, self._meta(db), len(vector), prepared.encoder)
        same = db.execute("SELECT id FROM articles WHERE content_hash = ?", (prepared.content_hash,)).fetchone()
        if same is not None:
            return AddResult(article.name, same[0], "unchanged")
        old = db.execute("SELECT rowid, id FROM articles WHERE url = ?", (url,)).fetchone() if url else None
        values = article_values(prepared, to_micros)
        update, insert = _WRITE_ARTICLE
        if old is not None:
            rowid, ident = old
            db.execute(update, (*values, rowid))
            for table in ("sentences", "vectors", "keys"):
                db.execute(f"DELETE FROM {table} WHERE article = ?", (rowid,))
            status = "replaced"
        else:
            ident = article_id(article.url, prepared.content_hash)
            cursor = db.execute(insert, (ident, *values))
            rowid = cursor.lastrowid
            status = "added"
        db.executemany(
            "INSERT INTO sentences (article, position, text, role, embedding) VALUES (?, ?, ?, ?, ?)",
            [
                (rowid, i, text, role, blob)
                for i, (text, role, blob) in enumerate(
                    zip(prepared.sentences, prepared.roles, pack_embeddings(embeddings), strict=True)
                )
            ],
        )
        db.execute(
            "INSERT INTO vectors (article, id, language, outlet, published, vector) VALUES (?, ?, ?, ?, ?, ?)",
            (rowid, ident, article.language, article.outlet, values[4], vector.astype(np.float16).tobytes()),
        )
        db.executemany(
            "INSERT OR IGNORE INTO keys (key, article) VALUES (?, ?)",
            [(key, rowid) for key in dict.fromkeys([*prepared.names, *prepared.numbers])],
        )
        return AddResult(article.name, ident, status)

    def _check_dimension(self, db: sqlite3.Connection, meta: dict[str, str], dimension: int, encoder: str) -> None:
        if "dimension" not in meta:
            db.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?)", [("dimension", str(dimension)), ("encoder", encoder)]
            )
            return
        if int(meta["dimension"]) != dimension:
            raise dimension_error(int(meta["dimension"]), dimension, meta.get("encoder", ""))
        if encoder and meta.get("encoder") and meta["encoder"] != encoder:
            raise InvalidInput(
                f"this library holds vectors by {meta['encoder']}; got vectors by {encoder}", field="encoder"
            )

    def _bump(self, db: sqlite3.Connection, *, removed: bool) -> None:
        """Count the write, and separately a removal, so readers' vector matrices know what to reload."""
        keys = ("generation", "removals") if removed else ("generation",)
        db.execute(
            f"UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key IN ({','.join('?' * len(keys))})", keys
        )

    def delete(self, keys: Sequence[str]) -> int:
        """Delete by id or name, in one transaction."""
        keys = list(dict.fromkeys(keys))
        if not keys:
            return 0
        marks = ",".join("?" * len(keys))
        with self._write() as db:
            count = db.execute(f"DELETE FROM articles WHERE id IN ({marks}) OR name IN ({marks})", keys + keys).rowcount
            if count:
                self._bump(db, removed=True)
        return count

    # reads

    def _article(self, row: tuple) -> StoredArticle:
        ident, name, outlet, url, title, published, language, text, added, n = row
        return StoredArticle(
            ident, name, outlet, url or "", title, from_micros(published), language, text, from_micros(added), n
        )

    def get(self, key: str) -> StoredArticle | None:
        """By id, else the newest article added under this name."""
        with self._read() as db:
            row = db.execute(f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE id = ?", (key,)).fetchone()
            if row is None:
                row = db.execute(
                    f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE name = ? ORDER BY added DESC, rowid DESC LIMIT 1",
                    (key,),
                ).fetchone()
        return None if row is None else self._article(row)

    def list(self, limit: int = 100, offset: int = 0, outlet: str | None = None) -> list[StoredArticle]:
        """Most recently added first."""
        where, params = ("WHERE outlet = ?", [outlet]) if outlet is not None else ("", [])
        with self._read() as db:
            rows = db.execute(
                f"SELECT {_ARTICLE_COLUMNS} FROM articles {where} ORDER BY added DESC, rowid DESC LIMIT ? OFFSET ?",
                [*params, limit, offset],
            ).fetchall()
        return [self._article(row) for row in rows]

    def _refresh(self) -> VectorIndex | None:
        """The in-memory vector index, brought up to date when the generation counter moved."""
        with self._read() as db:
            meta = self._meta(db)
            generation = int(meta["generation"])
            if self._index is not None and generation == self._index_generation:
                return self._index
            if "dimension" not in meta:
                return None
            index = self._index if self._index is not None else VectorIndex(int(meta["dimension"]))
            if meta["removals"] != self._index_removals:
                alive = np.array([r[0] for r in db.execute("SELECT seq FROM vectors")], np.int64)
                index.keep(alive)
            last = int(index.seq[-1]) if index.size else -1
            index.reserve(index.size + db.execute("SELECT count(*) FROM vectors WHERE seq > ?", (last,)).fetchone()[0])
            cursor = db.execute(
                "SELECT seq, id, language, outlet, published, vector FROM vectors WHERE seq > ? ORDER BY seq", (last,)
            )
            while rows := cursor.fetchmany(10_000):  # in slices: the rows are not held beside the whole matrix
                index.append(rows)
        self._index, self._index_generation, self._index_removals = index, generation, meta["removals"]
        return index

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
        """Cosine top k over the in-memory matrix (float16 on disk, float32 in memory)."""
        with self._index_lock:
            index = self._refresh()
            if index is None:
                return []
            if np.asarray(vector).size != index.dimension:
                raise dimension_error(index.dimension, np.asarray(vector).size, "")
            return index.search(vector, k, language, since, until, outlets)

    def _filters(
        self, language: str | None, since: datetime | None, until: datetime | None, outlets: Sequence[str] | None
    ) -> tuple[str, list]:
        clauses, params = [], []
        if language is not None:
            clauses.append("a.language = ?")
            params.append(language)
        if since is not None:
            clauses.append("(a.published IS NULL OR a.published >= ?)")
            params.append(to_micros(since))
        if until is not None:
            clauses.append("(a.published IS NULL OR a.published <= ?)")
            params.append(to_micros(until))
        if outlets is not None:
            clauses.append(f"a.outlet IN ({','.join('?' * len(outlets))})" if outlets else "0")
            params.extend(outlets)
        return "".join(f" AND {c}" for c in clauses), params

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
        marks = ",".join("?" * len(keys))
        where, params = self._filters(language, since, until, outlets)
        with self._read() as db:
            total = db.execute("SELECT count(*) FROM articles").fetchone()[0]
            counts = dict(
                db.execute(f"SELECT key, count(*) FROM keys WHERE key IN ({marks}) GROUP BY key", keys).fetchall()
            )
            if not counts:
                return {}
            weights = key_weights(counts, total)
            values = ",".join("(?, ?)" for _ in weights)
            rows = db.execute(
                f"WITH w(key, weight) AS (VALUES {values}) "
                "SELECT a.id, group_concat(k.key, char(31)) FROM keys k JOIN w ON w.key = k.key "
                f"JOIN articles a ON a.rowid = k.article WHERE 1{where} "
                "GROUP BY k.article ORDER BY sum(w.weight) DESC, a.id LIMIT ?",
                [*[x for item in weights.items() for x in item], *params, limit],
            ).fetchall()
        return {ident: sorted(joined.split("\x1f"), key=keys.index) for ident, joined in rows}

    def sentences(self, ids: Sequence[str]) -> dict[str, tuple[list[str], np.ndarray]]:
        """Sentences in order with their embeddings, dequantised to float32."""
        ids = list(dict.fromkeys(ids))
        if not ids:
            return {}
        with self._read() as db:
            dimension = int(self._meta(db).get("dimension", 0))
            rows = db.execute(
                f"SELECT a.id, s.text, s.embedding FROM articles a LEFT JOIN sentences s ON s.article = a.rowid "
                f"WHERE a.id IN ({','.join('?' * len(ids))}) ORDER BY a.id, s.position",
                ids,
            ).fetchall()
        return group_sentences(ids, rows, dimension)

    def stats(self) -> LibraryStats:
        """Counts from one snapshot; bytes_on_disk counts the WAL and shared-memory files too."""
        with self._read() as db:
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
        size = sum(
            os.path.getsize(p) for p in (self.path, Path(f"{self.path}-wal"), Path(f"{self.path}-shm")) if p.exists()
        )
        return LibraryStats(
            articles, sentences, outlets, languages, from_micros(oldest), from_micros(newest), size, self.backend
        )

    def integrity_check(self) -> str:
        """"ok" when SQLite finds the file sound, no row lost its article and every article is whole."""
        with self._read() as db:
            result = db.execute("PRAGMA integrity_check").fetchone()[0]
            orphans = db.execute("PRAGMA foreign_key_check").fetchall()
            broken = db.execute(consistency_sql("rowid")).fetchone()[0]
        if result != "ok":
            return result
        if orphans:
            return f"{len(orphans)} rows refer to missing articles"
        return "ok" if broken == 0 else f"{broken} articles lack sentences or their vector"

    def close(self) -> None:
        """Close every thread's connection."""
        with self._connections_lock:
            self._closed = True
            for db in self._connections:
                db.close()
            self._connections.clear()
        self._local = threading.local()

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
