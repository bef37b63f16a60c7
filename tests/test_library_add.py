"""Library.add commits prepared articles in batches: results in input order, each reported once committed."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

import crosswire_server.library as library_module
from crosswire_server.library import AddResult, ArticleInput, Library
from crosswire_server.library.records import PreparedArticle
from crosswire_server.library.store import open_store


class HashEncoder:
    """Unit vectors drawn from each text's hash: ingest without the real model (this test is about commits)."""

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        rows = [np.random.default_rng(int(hashlib.sha256(t.encode()).hexdigest()[:8], 16)).standard_normal(16)
                for t in texts]
        matrix = np.array(rows, dtype=np.float32).reshape(len(texts), 16)
        return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


class CountingStore:
    """A real SQLite store that records each put_many batch and what was committed when progress was called."""

    def __init__(self, path: Path) -> None:
        self.inner = open_store(path)
        self.batches: list[int] = []

    def put_many(self, batch: Sequence[PreparedArticle]) -> list[AddResult]:
        self.batches.append(len(batch))
        return self.inner.put_many(batch)

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def articles(count: int, refused: set[int]) -> list[ArticleInput]:
    return [ArticleInput(f"a{i}.txt", "" if i in refused else f"Officials in Oslo said {i} ships left port today.\n"
                         f"The harbour master counted {100 + i} crew members.", language="en")
            for i in range(count)]


@pytest.fixture
def store(tmp_path: Path) -> CountingStore:
    return CountingStore(tmp_path / "library.sqlite3")


def test_results_come_in_input_order_once_committed_and_batches_are_bounded(
        store: CountingStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(library_module, "ADD_BATCH", 4)
    library = Library(store, HashEncoder(), dictionary=False)  # type: ignore[arg-type]
    seen: list[tuple[str, str, int]] = []

    def progress(result: AddResult) -> None:
        stored = store.inner.get(result.id) if result.id else None
        seen.append((result.name, result.status, int(stored is not None)))

    results = library.add(articles(10, refused={2, 7}), progress)
    names = [f"a{i}.txt" for i in range(10)]
    assert [r.name for r in results] == names
    assert [r.status for r in results] == ["added", "added", "refused", "added", "added", "added", "added",
                                           "refused", "added", "added"]
    assert "empty" in results[2].reason
    # every added article was already committed when its progress came; refused ones have nothing stored
    assert seen == [(r.name, r.status, int(r.status == "added")) for r in results]
    assert store.batches == [3, 3, 2]  # 4 results per commit, the refused ones without a row
    assert store.inner.stats().articles == 8


def test_an_article_waits_at_most_add_wait_s_for_its_commit(store: CountingStore,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(library_module, "ADD_WAIT_S", 0.0)
    library = Library(store, HashEncoder(), dictionary=False)  # type: ignore[arg-type]
    results = library.add(articles(3, refused={1}))
    assert [r.status for r in results] == ["added", "refused", "added"]
    assert store.batches == [1, 1]  # each prepared article committed at once; nothing to store for the refused one


def test_the_same_content_twice_in_one_batch_is_one_article(store: CountingStore) -> None:
    library = Library(store, HashEncoder(), dictionary=False)  # type: ignore[arg-type]
    twice = articles(1, refused=set()) * 2
    assert [r.status for r in library.add(twice)] == ["added", "unchanged"]
    assert store.batches == [2] and store.inner.stats().articles == 1
