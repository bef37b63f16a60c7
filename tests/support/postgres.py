"""A real PostgreSQL with pgvector for the tests, from the `pgserver` wheel, listening on 127.0.0.1 in a temp dir.

`pgserver` ships PostgreSQL's binaries and vector.so; it runs initdb (as an unprivileged user when the tests run
as root). We then restart the server on a free loopback TCP port, as a replica would reach a shared library.
"""

from __future__ import annotations

import itertools
import shutil
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest


@dataclass
class RunningPostgres:
    """A PostgreSQL server for one test session; each `new_database()` is an empty database on it."""

    host: str
    port: int
    pgdata: Path
    _numbers: Iterator[int] = field(default_factory=itertools.count)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database's URL (so tests do not see each other's articles)."""
        import psycopg

        name = f"library_{next(self._numbers)}"
        with psycopg.connect(self.url(), autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name}")
        return self.url(name)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[RunningPostgres]:
    """PostgreSQL 16 + pgvector on 127.0.0.1, stopped at the end of the session."""
    pgserver = pytest.importorskip("pgserver", reason="pgserver (the dev extra) starts the test PostgreSQL")
    from pgserver._commands import pg_ctl

    # Not under pytest's temp root: that is private to its owner, and the server runs as another user under root.
    root = Path(tempfile.mkdtemp(prefix="crosswire-postgres-"))
    pgdata = root / "pgdata"
    server = pgserver.get_server(pgdata, cleanup_mode=None)  # initdb, permissions, the unprivileged user
    user = server.system_user
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)
    port = _free_port()
    pg_ctl(
        ["-w", "-o", f'-h 127.0.0.1 -p {port} -k "" -c fsync=off', "-l", str(pgdata / "tcp.log"), "start"],
        pgdata=pgdata,
        user=user,
        timeout=60,
    )
    try:
        yield RunningPostgres("127.0.0.1", port, pgdata)
    finally:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user, timeout=60)
        shutil.rmtree(root, ignore_errors=True)
