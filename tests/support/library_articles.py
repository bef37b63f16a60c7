"""Prepared articles for the library store tests: random but deterministic vectors, small texts, no encoder.

Also the body of the child processes those tests start (`python -m support.library_articles LOCATION PREFIX N [wait]`):
it puts N articles and prints each id only after put() returned, so the parent knows what was acknowledged.
"""

from __future__ import annotations

import hashlib
import sys
from datetime import datetime

import numpy as np

from crosswire_server.library.records import ArticleInput, PreparedArticle

DIMENSION = 32


def unit(rows: np.ndarray) -> np.ndarray:
    rows = np.asarray(rows, np.float32)
    return rows / np.linalg.norm(rows, axis=-1, keepdims=True)


def prepared(
    name: str,
    *,
    text: str | None = None,
    n: int = 3,
    url: str = "",
    outlet: str = "",
    language: str = "en",
    published: datetime | None = None,
    vector: np.ndarray | None = None,
    names: tuple[str, ...] = (),
    numbers: tuple[str, ...] = (),
    dimension: int = DIMENSION,
    seed: str | None = None,
) -> PreparedArticle:
    """An article of `n` sentences with embeddings drawn from a generator seeded by its name (or `seed`)."""
    text = text if text is not None else f"Text of {name}."
    rng = np.random.default_rng(int(hashlib.sha256((seed or name).encode()).hexdigest()[:8], 16))
    embeddings = unit(rng.standard_normal((n, dimension)))
    vector = unit(vector) if vector is not None else unit(embeddings.mean(axis=0) + 0.01)
    return PreparedArticle(
        article=ArticleInput(name, text, outlet, url, f"Title of {name}", published, language),
        content_hash=hashlib.sha256(text.encode()).hexdigest(),
        sentences=[f"{text} sentence {i}" for i in range(n)],
        roles=["body"] * n,
        embeddings=embeddings,
        vector=vector,
        names=list(names),
        numbers=list(numbers),
        encoder="test-random",
    )


def ingest(location: str, prefix: str, count: int, wait: bool = False) -> None:
    """Put `count` articles, printing each acknowledged id; the kill -9 and two-writer tests run this.

    With `wait`, prints "ready" once the store is open and starts only when a line arrives on stdin, so that
    several writers can be started together.
    """
    from crosswire_server.library.store import open_store

    store = open_store(location)
    if wait:
        print("ready", flush=True)
        sys.stdin.readline()
    for i in range(count):
        result = store.put(prepared(f"{prefix}-{i}", n=2 + i % 7, names=(f"key-{i % 13}",)))
        print(result.id, flush=True)
    store.close()


if __name__ == "__main__":
    ingest(sys.argv[1], sys.argv[2], int(sys.argv[3]), wait=sys.argv[4:] == ["wait"])
