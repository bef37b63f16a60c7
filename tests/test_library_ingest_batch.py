"""Ingest embeds the sentences of a batch of articles in one encoder call, with the results of one call each."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

import crosswire_server.library as library_module
from crosswire_server.alignment.embeddings import Embedder
from crosswire_server.library import ArticleInput, Library
from crosswire_server.library.ingest import embed_articles, prepare, segment_article

ARTICLES = [
    ArticleInput("navy.txt", "Navy Day parade held in St Petersburg\n\nRussia's navy held a parade in St Petersburg "
                 "on Sunday. President Vladimir Putin watched 54 ships sail past on the Neva.\n\nThe parade was "
                 "the largest since 2017, the Kremlin said.", outlet="Reuters", published="2021-07-25",
                 language="en"),
    ArticleInput("flood.txt", "Floods close roads in Khabarovsk\n\nFlooding closed the main road north of Khabarovsk "
                 "for a second day. About 1,250 residents were moved to shelters, officials said.", language="en"),
    ArticleInput("oslo.txt", "Officials in Oslo said three ships left port today.\nThe harbour master counted 120 "
                 "crew members.", language="en"),
]


class CountingEncoder:
    """The real encoder, recording how many texts each call was given."""

    def __init__(self) -> None:
        self.inner = Embedder(cache_bytes=0)
        self.calls: list[int] = []

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(len(texts))
        return self.inner.encode(texts)


def test_articles_embedded_together_are_those_embedded_one_by_one() -> None:
    encoder = CountingEncoder()
    together = embed_articles([segment_article(article) for article in ARTICLES], encoder)
    one_by_one = [prepare(article, Embedder(cache_bytes=0)) for article in ARTICLES]
    assert encoder.calls == [sum(len(p.sentences) for p in together)]
    for batched, alone in zip(together, one_by_one, strict=True):
        fields, expected = asdict(batched), asdict(alone)
        assert np.array_equal(fields.pop("embeddings"), expected.pop("embeddings"))  # bit for bit
        assert np.array_equal(fields.pop("vector"), expected.pop("vector"))
        assert fields == expected
    assert "putin" in together[0].names and "1250" in together[1].numbers and together[1].article.language == "en"
    assert embed_articles([], encoder) == [] and len(encoder.calls) == 1


def test_library_add_makes_one_encoder_call_per_commit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(library_module, "ADD_BATCH", 2)
    encoder = CountingEncoder()
    refused = ArticleInput("empty.txt", "  ", language="en")
    with Library.open(tmp_path / "library.sqlite3", encoder=encoder, dictionary=False) as library:
        results = library.add([ARTICLES[0], refused, ARTICLES[1], ARTICLES[2]])
        assert [r.status for r in results] == ["added", "refused", "added", "added"]
        sentences = [library.store.stats().sentences]
    kept = [len(segment_article(article).sentences) for article in ARTICLES]
    assert encoder.calls == [kept[0], kept[1] + kept[2]]  # [navy, refused] then [flood, oslo]
    assert sentences == [sum(kept)]
