"""Records the article library passes between ingest, storage, search and the gRPC/CLI layers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import numpy as np

AddStatus = Literal["added", "unchanged", "replaced", "refused"]


@dataclass(frozen=True)
class ArticleInput:
    """One article as a caller hands it in; `published` is UTC when given, `language` "" means detect it."""

    name: str
    text: str
    outlet: str = ""
    url: str = ""
    title: str = ""
    published: datetime | None = None
    language: str = ""


@dataclass
class PreparedArticle:
    """An article ready to store: segmented, embedded and keyed (what ingest computes once)."""

    article: ArticleInput
    content_hash: str
    sentences: list[str]
    roles: list[str]
    embeddings: np.ndarray  # (n_sentences, d) float32, unit rows
    vector: np.ndarray  # (d,) float32, the article's unit vector
    names: list[str] = field(default_factory=list)  # cross-script name keys
    numbers: list[str] = field(default_factory=list)  # number keys
    encoder: str = ""  # the sentence encoder's name, recorded by the store on its first article


@dataclass(frozen=True)
class StoredArticle:
    """An article as the library holds it."""

    id: str
    name: str
    outlet: str
    url: str
    title: str
    published: datetime | None
    language: str
    text: str
    added: datetime
    n_sentences: int


@dataclass(frozen=True)
class AddResult:
    """What became of one article handed to the library; `id` is "" when refused, `reason` says why."""

    name: str
    id: str
    status: AddStatus
    reason: str = ""


@dataclass
class SearchHit:
    """One article found for a report, with the evidence that ranked it."""

    article: StoredArticle
    score: float
    shared_names: list[str]
    pairs: list[tuple[int, int, float]]  # (report sentence i, article sentence j, similarity)
    coverage: str
    pair_texts: list[tuple[str, str]] = field(default_factory=list)  # (report sentence, article sentence) per pair


@dataclass(frozen=True)
class LibraryStats:
    """Counts and size of a library."""

    articles: int
    sentences: int
    outlets: dict[str, int]
    languages: dict[str, int]
    oldest: datetime | None
    newest: datetime | None
    bytes_on_disk: int
    backend: str
