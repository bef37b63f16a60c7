"""The article library: articles kept with their sentences, embeddings and name keys, searched per report.

    from crosswire_server.library import ArticleInput, Library
    with Library.open("coverage.sqlite3") as library:        # or "postgresql://…"; None: the default file
        library.add([ArticleInput("navy.txt", text, outlet="TASS", published="2021-07-25")])
        for hit in library.search(report_text, "ru", k=5):
            print(hit.article.name, hit.score, hit.coverage, hit.shared_names)

The gRPC service and the command line use only `Library` and the records; ingest.py prepares an article,
search.py finds a report's coverage, store.py / postgres.py keep them.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path

from crosswire_server.alignment.dictionary import Dictionary, load_dictionary
from crosswire_server.alignment.embeddings import default_embedder
from crosswire_server.errors import InvalidInput
from crosswire_server.library.ingest import (
    Encoder,
    IngestLimits,
    SegmentedArticle,
    embed_articles,
    parse_published,
    segment_article,
)
from crosswire_server.library.records import (
    AddResult,
    ArticleInput,
    LibraryStats,
    PreparedArticle,
    SearchHit,
    StoredArticle,
)
from crosswire_server.library.search import SearchSettings, Translator
from crosswire_server.library.search import search as search_library
from crosswire_server.library.store import Store, open_store

__all__ = [
    "AddResult", "ArticleInput", "IngestLimits", "Library", "LibraryStats", "PreparedArticle", "SearchHit",
    "SearchSettings", "StoredArticle", "default_location", "parse_published",
]

#: The environment variable naming the default library (a file path or a postgresql:// URL).
LIBRARY_VARIABLE = "CROSSWIRE_LIBRARY"
#: add() embeds and stores up to this many articles together (one encoder call and one commit and WAL sync for
#: them, not one each), and no article waits longer than ADD_WAIT_S after its segmentation for its commit and result.
ADD_BATCH = 32
ADD_WAIT_S = 0.5


def default_location() -> str:
    """$CROSSWIRE_LIBRARY, else library.sqlite3 in the user's data directory."""
    from platformdirs import user_data_dir

    return os.environ.get(LIBRARY_VARIABLE) or str(Path(user_data_dir("crosswire")) / "library.sqlite3")


class Library:
    """A store plus the encoder that prepares articles and reports for it; thread-safe like its store."""

    def __init__(
        self,
        store: Store,
        encoder: Encoder | None = None,
        *,
        dictionary: Dictionary | None | bool = True,
        limits: IngestLimits = IngestLimits(),
        settings: SearchSettings = SearchSettings(),
    ) -> None:
        """`dictionary`: True loads the installed English-Russian dictionary on the first search, False goes without."""
        self.store = store
        self.encoder: Encoder = encoder if encoder is not None else default_embedder()
        self.limits = limits
        self.settings = settings
        self._dictionary = dictionary
        self._dictionary_lock = threading.Lock()

    @classmethod
    def open(cls, location: str | os.PathLike[str] | None = None, **options: object) -> Library:
        """Open (creating if needed) a library: a SQLite file path or a postgresql:// URL; None: the default."""
        return cls(open_store(default_location() if location is None else location), **options)  # type: ignore[arg-type]

    def _dictionary_for_search(self) -> Dictionary | None:
        with self._dictionary_lock:
            if self._dictionary is True:
                self._dictionary = load_dictionary()
            return self._dictionary or None

    def add(self, articles: Iterable[ArticleInput],
            progress: Callable[[AddResult], None] | None = None) -> list[AddResult]:
        """Prepare and store each article; a refused one gets its reason and never stops the batch.

        Each article is checked and segmented as it comes; those waiting are embedded together (one encoder call
        for all their sentences) and committed together, ADD_BATCH at most and none later than ADD_WAIT_S after it
        was segmented; `progress` is called with each result, in order, once that article is committed (or refused).
        """
        results: list[AddResult] = []
        waiting: list[SegmentedArticle | AddResult] = []  # in input order: to embed and store, or refused already
        oldest = 0.0

        def commit() -> None:
            batch = embed_articles([item for item in waiting if isinstance(item, SegmentedArticle)], self.encoder)
            stored = iter(self.store.put_many(batch) if batch else [])
            for item in waiting:
                result = next(stored) if isinstance(item, SegmentedArticle) else item
                results.append(result)
                if progress is not None:
                    progress(result)
            waiting.clear()

        for article in articles:
            try:
                ready: SegmentedArticle | AddResult = segment_article(article, self.limits)
            except InvalidInput as error:
                ready = AddResult(getattr(article, "name", "") or "", "", "refused", str(error))
            if not waiting:
                oldest = time.monotonic()
            waiting.append(ready)
            if len(waiting) >= ADD_BATCH or time.monotonic() - oldest >= ADD_WAIT_S:
                commit()
        if waiting:
            commit()
        return results

    def get(self, key: str) -> StoredArticle | None:
        """An article by id, else the newest one added under this name."""
        return self.store.get(key)

    def delete(self, keys: Sequence[str]) -> int:
        """Delete articles by id or name; returns how many went."""
        return self.store.delete(list(keys))

    def list(self, limit: int = 100, offset: int = 0, outlet: str | None = None) -> list[StoredArticle]:
        """Articles, most recently added first."""
        return self.store.list(limit=limit, offset=offset, outlet=outlet)

    def stats(self) -> LibraryStats:
        """Counts, time range, size on disk and backend."""
        return self.store.stats()

    def search(
        self,
        report: str,
        language: str | None = None,
        *,
        k: int = 5,
        published: datetime | str | None = None,
        window_days: float | None = None,
        outlets: Sequence[str] | None = None,
        exclude_outside: bool | None = None,
        translator: Translator | None = None,
    ) -> list[SearchHit]:
        """The k articles sharing most coverage with the report, best first (see library.search).

        `language` None or "" detects it; `published` (or the report's own dated timestamp or dateline) places it
        in time: articles further than `window_days` from it rank lower, or are left out with `exclude_outside`.
        `translator` (report sentences -> English) adds machine-translation evidence when a model is installed.
        """
        return search_library(
            self.store, report, language or "", encoder=self.encoder, k=k, published=published,
            window_days=window_days, exclude_outside=exclude_outside, outlets=outlets, translator=translator,
            dictionary=self._dictionary_for_search(), settings=self.settings, limits=self.limits,
        )

    def close(self) -> None:
        """Close the store."""
        self.store.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
