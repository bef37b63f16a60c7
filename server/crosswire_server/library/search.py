"""Find a report's coverage in the library: candidates by article vector and shared names, ranked by the
sentences they share with the report, placed in time, and graded same event / same topic by the aligner.

1. The report is checked, segmented and embedded as an article is at ingest (ingest.py).
2. Candidates: the articles nearest to the report's vector and those sharing its most specific names and
   numbers (the store ranks them by rarity), from the time window when the report's date is known (and near
   it, unless articles outside it are excluded; see `candidates`).
3. Rank: how much of the report finds a close sentence in the article and how much of the article finds one
   in the report (soft counts between LOW_COSINE and HIGH_COSINE), plus the share of the report's names the
   article has. A topic alone gives vectors that are close; it does not give sentence partners.
4. Time: an article published further from the report than the window loses score in proportion
   (window / (window + days beyond it)), or is left out when `exclude_outside` is set.
5. The best k go through the comparable aligner (alignment.Aligner.compare, with the stored sentence
   vectors, so nothing is embedded again) for their coverage (documents.py), shared names and sentence
   pairs. "Same event" also needs the two dates, when both are known, to lie within the window.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import numpy as np

from crosswire.types import DEFAULT_ROLES, Coverage, Document, Grade, Role
from crosswire_server.alignment.aligner import Aligner
from crosswire_server.alignment.dictionary import Dictionary
from crosswire_server.alignment.embeddings import DIMENSION
from crosswire_server.alignment.comparable import TOPIC_COSINE
from crosswire_server.alignment.evidence import Term, sentence_terms
from crosswire_server.alignment.facts import statement
from crosswire_server.alignment.inputs import by_sentence, eligible, presegment
from crosswire_server.alignment.jobs import alignment_bytes
from crosswire_server.budget import need
from crosswire_server.errors import InvalidInput
from crosswire_server.library.ingest import (
    Encoder,
    IngestLimits,
    check_text,
    kept_sentences,
    number_keys,
    parse_published,
    segment_checked,
    unit_mean,
)
from crosswire_server.library.records import SearchHit, StoredArticle
from crosswire_server.library.store import Store
from crosswire_server.segmentation import SENTENCE_BYTES

#: A sentence pair from this cosine on counts towards shared coverage, fully from HIGH_COSINE on
#: (translations score 0.7-0.9; sentences that merely share a topic 0.3-0.5).
LOW_COSINE = 0.3
HIGH_COSINE = 0.7
#: Weight of the report's side of the coverage (the rest is the article's side) and of shared names.
REPORT_WEIGHT = 0.5
NAMES_WEIGHT = 0.15
#: Articles taken by vector (within the window when the report's date is known) and by shared names.
VECTOR_CANDIDATES = 100
NAME_CANDIDATES = 60
#: Days around the report's date within which coverage counts as current, and how many windows beyond it
#: candidates are still looked for (further off, an article keeps at most 1 / (1 + NEAR_WINDOWS) of its score).
WINDOW_DAYS = 7.0
NEAR_WINDOWS = 5
#: Hits scoring less than this before time are not aligned (no more than a few report sentences have partners
#: there): it would take most of a search for a label that is "unrelated" or at most "same topic".
ALIGN_MIN_SCORE = 0.1
#: Most hits a search returns, and how many go through the aligner at once.
MAX_K = 200
_ALIGN_BATCH = 10
#: ... and at most this many sentence pairs (the largest Align request's with the default limits, 1,000 x 4,000).
MAX_BATCH_PAIRS = 4_000_000
#: Pairs reported per hit when the aligner links none: the mutual best pairs from this cosine on.
FALLBACK_PAIR_COSINE = 0.5
_FALLBACK_PAIRS = 5

Translator = Callable[[list[str]], list[str]]


@dataclass(frozen=True)
class SearchSettings:
    """How a search weighs time and how wide it looks (defaults: the module constants)."""

    window_days: float = WINDOW_DAYS
    exclude_outside: bool = False
    vector_candidates: int = VECTOR_CANDIDATES
    name_candidates: int = NAME_CANDIDATES


@dataclass
class _Candidate:
    id: str
    sentences: list[str]
    embeddings: np.ndarray
    score: float = 0.0
    matched: list[str] = field(default_factory=list)  # the report's name and number keys the article has


class _StoredVectors:
    """An embedder for the aligner that serves the vectors already computed (the report's and the stored ones)."""

    def __init__(self, known: dict[str, np.ndarray], fallback: Encoder) -> None:
        self.known = known
        self.fallback = fallback

    def encode(self, texts: Sequence[str], stop: threading.Event | None = None) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self.known))
        if missing:
            self.known.update(zip(missing, self.fallback.encode(missing)))
        return np.stack([self.known[t] for t in texts]) if texts else np.zeros((0, DIMENSION), np.float32)


_ISO_DATE = re.compile(r"\b((?:19|20)\d{2})-(\d{2})-(\d{2})\b")
_NUMERIC_DATE = re.compile(r"\b(\d{1,2})\.(\d{1,2})\.((?:19|20)\d{2})\b")
_YEAR = re.compile(r"\b((?:19|20)\d{2})\b")


def report_date(document: Document) -> datetime | None:
    """The date a report gives itself in its timestamp or dateline («6 декабря 2016, 18:39»), when it names a year."""
    for sentence in document.sentences:
        if sentence.role not in (Role.TIMESTAMP, Role.DATELINE):
            continue
        text = sentence.text
        found = [(int(y), int(m), int(d)) for y, m, d in _ISO_DATE.findall(text)]
        found += [(int(y), int(m), int(d)) for d, m, y in _NUMERIC_DATE.findall(text)]
        year = _YEAR.search(text)
        if year:
            found += [(int(year.group(1)), month, day) for month, day in statement(text, document.language).days]
        for y, m, d in found:
            try:
                return datetime(y, m, d, tzinfo=UTC)
            except ValueError:
                continue
    return None


def _soft(cosine: np.ndarray) -> np.ndarray:
    """Partner credit of a best cosine: 0 below LOW_COSINE, 1 from HIGH_COSINE, linear between."""
    return np.clip((cosine - LOW_COSINE) / (HIGH_COSINE - LOW_COSINE), 0.0, 1.0)


def coverage_scores(report: np.ndarray, articles: list[np.ndarray]) -> np.ndarray:
    """For each article, how much of each side finds a close sentence on the other (REPORT_WEIGHT to the
    report's side), all articles in one matrix product."""
    sizes = np.array([len(a) for a in articles])
    if not len(articles) or not len(report):
        return np.zeros(len(articles), np.float32)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    cosine = report @ np.concatenate(articles).T
    report_side = _soft(np.maximum.reduceat(cosine, starts, axis=1)).mean(axis=0)
    article_side = np.add.reduceat(_soft(cosine.max(axis=0)), starts) / sizes
    return REPORT_WEIGHT * report_side + (1 - REPORT_WEIGHT) * article_side


def time_factor(report: datetime | None, article: datetime | None, window_days: float) -> float:
    """1 within the window (or when either date is unknown), window / (window + days beyond it) outside."""
    if report is None or article is None:
        return 1.0
    window = max(window_days, 0.5)
    beyond = abs((article - report).total_seconds()) / 86400 - window_days
    return 1.0 if beyond <= 0 else window / (window + beyond)


@dataclass(frozen=True)
class Report:
    """A report made ready to search with: its segmentation, kept sentences, their vectors and name keys."""

    document: Document
    indices: list[int]
    sentences: list[str]
    embeddings: np.ndarray
    names: list[Term]
    numbers: list[str]
    published: datetime | None

    @classmethod
    def prepare(cls, text: str, language: str, encoder: Encoder, published: datetime | str | None = None,
                limits: IngestLimits = IngestLimits()) -> Report:
        """Check, segment and embed a report (the same checks as an article, field names for a search)."""
        text = check_text(text, limits, "report")
        document = segment_checked(text, language, limits, text_field="report")
        language = document.language
        sentences, _ = kept_sentences(document, limits, "report")
        indices = eligible(document, DEFAULT_ROLES)
        embeddings = np.ascontiguousarray(encoder.encode(sentences), dtype=np.float32)
        all_terms = [sentence_terms(s, language) for s in sentences]
        names = list({t.keys: t for st in all_terms for t in st.names if t.is_name_like}.values())
        when = parse_published(published) or report_date(document)
        return cls(document, indices, sentences, embeddings, names, number_keys(all_terms), when)

    @property
    def language(self) -> str:
        return self.document.language


def _window(report: Report, settings: SearchSettings) -> tuple[datetime | None, datetime | None]:
    if report.published is None:
        return None, None
    span = timedelta(days=settings.window_days)
    return report.published - span, report.published + span


def candidates(store: Store, report: Report, settings: SearchSettings, k: int, outlets: Sequence[str] | None
               ) -> tuple[dict[str, _Candidate], dict[str, list[str]]]:
    """Articles worth ranking: nearest by vector and sharing the report's names.

    When the report's date is known: those within the time window, plus (unless articles outside it are excluded)
    a quarter as many nearest within NEAR_WINDOWS windows of it, and overall only when these give fewer than k
    articles: an article further off keeps at most 1 / (1 + NEAR_WINDOWS) of its score, and the vector queries
    on a time range read only its rows.
    """
    vector = unit_mean(report.embeddings)
    since, until = _window(report, settings)
    ids: dict[str, None] = {}

    def nearest(count: int, span: float | None) -> None:
        bounds = {} if span is None else {"since": report.published - timedelta(days=span),  # type: ignore[operator]
                                          "until": report.published + timedelta(days=span)}  # type: ignore[operator]
        ids.update((i, None) for i, _ in store.nearest(vector, count, outlets=outlets, **bounds))

    if since is None:
        nearest(settings.vector_candidates, None)
    else:
        nearest(settings.vector_candidates, settings.window_days)
        if not settings.exclude_outside:
            nearest(max(k, settings.vector_candidates // 4), (1 + NEAR_WINDOWS) * max(settings.window_days, 0.5))
            if len(ids) < k:
                nearest(k, None)
    keys = [key for term in report.names for key in term.keys] + report.numbers
    named = store.by_names(keys, settings.name_candidates, since=since, until=until, outlets=outlets) if keys else {}
    ids.update((i, None) for i in named)
    found = store.sentences(list(ids))
    return {i: _Candidate(i, *found[i]) for i in ids if i in found}, named


def _names_share(report: Report, matched: list[str]) -> float:
    """Share of the report's names (by any of their keys) the article has."""
    if not report.names:
        return 0.0
    keys = set(matched)
    return sum(1 for term in report.names if keys.intersection(term.keys)) / len(report.names)


def _batches(group: list[tuple[_Candidate, StoredArticle, float]],
             rows: int) -> list[list[tuple[_Candidate, StoredArticle, float]]]:
    """The articles in aligner calls of at most _ALIGN_BATCH articles and MAX_BATCH_PAIRS sentence pairs with the
    report's `rows` sentences (an article over that goes alone: ingest keeps at most 2,000 sentences of each)."""
    batches: list[list[tuple[_Candidate, StoredArticle, float]]] = []
    pairs = 0
    for item in group:
        size = rows * len(item[0].sentences)
        if not batches or len(batches[-1]) == _ALIGN_BATCH or pairs + size > MAX_BATCH_PAIRS:
            batches.append([])
            pairs = 0
        batches[-1].append(item)
        pairs += size
    return batches


def _batch_bytes(rows: int, sentences: list[int]) -> int:
    """What aligning the report's `rows` sentences with articles of these many sentences takes."""
    return sum(sentences) * SENTENCE_BYTES + alignment_bytes(rows, rows * sum(sentences), len(sentences))


def rank(report: Report, found: dict[str, _Candidate], named: dict[str, list[str]]) -> list[_Candidate]:
    """Candidates by coverage score (before time), best first."""
    chosen = [c for c in found.values() if len(c.embeddings)]
    coverage = coverage_scores(report.embeddings, [c.embeddings for c in chosen])
    for candidate, value in zip(chosen, coverage.tolist()):
        candidate.matched = named.get(candidate.id, [])
        candidate.score = (1 - NAMES_WEIGHT) * value + NAMES_WEIGHT * _names_share(report, candidate.matched)
    return sorted(chosen, key=lambda c: (-c.score, c.id))


class _CheckedAligner(Aligner):
    """The aligner for a report and articles whose languages search and ingest have already checked:
    identifying each text's language again would cost more than linking their sentences."""

    def validate(self, source: Document, targets: Sequence[Document], names: list[str],
                 roles: frozenset[Role]) -> None:
        self.limits.check_targets(len(targets))


def _article_document(article: StoredArticle, sentences: list[str]) -> Document:
    """A stored article as the aligner takes it: its kept sentences, one per line (sentence j is line j)."""
    return presegment("\n".join(map(_one_line, sentences)), article.language, charge=False)  # see describe


def _one_line(sentence: str) -> str:
    """A sentence with its line breaks (a few run across one) as spaces, so that it stays one line."""
    return " ".join(sentence.splitlines())


def _fallback_pairs(report: Report, candidate: _Candidate) -> list[tuple[int, int, float]]:
    """Mutual best sentence pairs from FALLBACK_PAIR_COSINE on, best first."""
    cosine = report.embeddings @ candidate.embeddings.T
    if not cosine.size:
        return []
    best_column, best_row = cosine.argmax(axis=1), cosine.argmax(axis=0)
    pairs = [(report.indices[r], int(c), round(float(cosine[r, c]), 4)) for r, c in enumerate(best_column)
             if best_row[c] == r and cosine[r, c] >= FALLBACK_PAIR_COSINE]
    return sorted(pairs, key=lambda p: -p[2])[:_FALLBACK_PAIRS]


def _unaligned(report: Report, candidate: _Candidate, article: StoredArticle, score: float) -> SearchHit:
    """A hit too weak to be worth aligning: same topic when the two documents' vectors are TOPIC_COSINE alike,
    else unrelated; the names it shares with the report as the report writes them; mutual best sentence pairs."""
    cosine = float(unit_mean(report.embeddings) @ unit_mean(candidate.embeddings))
    keys = set(candidate.matched)
    names = [term.text for term in report.names if keys.intersection(term.keys)]
    pairs = _fallback_pairs(report, candidate)
    return SearchHit(article, round(score, 4), list(dict.fromkeys(names)), pairs,
                     (Coverage.SAME_TOPIC if cosine >= TOPIC_COSINE else Coverage.UNRELATED).value,
                     [(report.document.sentences[i].text, candidate.sentences[j]) for i, j, _ in pairs])


def describe(report: Report, chosen: list[tuple[_Candidate, StoredArticle, float]], encoder: Encoder,
             dictionary: Dictionary | None, settings: SearchSettings, translator: Translator | None) -> list[SearchHit]:
    """SearchHits for the chosen articles: coverage, shared names and sentence pairs from the aligner (for those
    scoring at least ALIGN_MIN_SCORE before time; see _unaligned for the others)."""
    known = dict(zip(report.sentences, report.embeddings))
    for candidate, _, _ in chosen:
        known.update(zip(map(_one_line, candidate.sentences), candidate.embeddings))
    hits = [_unaligned(report, candidate, article, score) for candidate, article, score in chosen
            if candidate.score < ALIGN_MIN_SCORE]
    chosen = [item for item in chosen if item[0].score >= ALIGN_MIN_SCORE]
    translations = None
    if translator is not None and chosen:  # once for every batch: sentence i's translation at index i
        translations = by_sentence(report.document, report.indices, translator(list(report.sentences)))
    rows = len(report.indices)
    batches = [batch for language in dict.fromkeys(article.language for _, article, _ in chosen)
               for batch in _batches([item for item in chosen if item[1].language == language], rows)]
    # One batch is aligned at a time: the request is charged for the largest, its sentences and pairs.
    need(max((_batch_bytes(rows, [len(c.sentences) for c, _, _ in batch]) for batch in batches), default=0))
    for batch in batches:
        aligner = _CheckedAligner(embedder=_StoredVectors(known, encoder), dictionary=dictionary)  # type: ignore[arg-type]
        comparison = aligner.compare(
            report.document, [_article_document(article, c.sentences) for c, article, _ in batch],
            names=[article.id for _, article, _ in batch], translations=translations,
        )
        ranked = {doc.target_doc: doc for doc in comparison.documents}
        for k, (candidate, article, score) in enumerate(batch):
            doc = ranked[k]
            links = [link for link in comparison.alignment.links if link.target_doc == k]
            links.sort(key=lambda link: (link.grade is not Grade.SAME, -link.evidence.embedding_similarity))
            pairs = [(link.source[0], link.target[0], link.evidence.embedding_similarity) for link in links]
            coverage = doc.coverage
            if coverage is Coverage.SAME_EVENT and time_factor(report.published, article.published,
                                                               settings.window_days) < 1.0:
                coverage = Coverage.SAME_TOPIC
            pairs = pairs or _fallback_pairs(report, candidate)
            texts = [(report.document.sentences[i].text, candidate.sentences[j]) for i, j, _ in pairs]
            hits.append(SearchHit(article, round(score, 4), list(dict.fromkeys(doc.shared_names)),
                                  pairs, coverage.value, texts))
    return sorted(hits, key=lambda hit: (-hit.score, hit.article.id))


def search(
    store: Store,
    report_text: str,
    language: str = "",
    *,
    encoder: Encoder,
    k: int = 5,
    published: datetime | str | None = None,
    window_days: float | None = None,
    exclude_outside: bool | None = None,
    outlets: Sequence[str] | None = None,
    translator: Translator | None = None,
    dictionary: Dictionary | None = None,
    settings: SearchSettings = SearchSettings(),
    limits: IngestLimits = IngestLimits(),
) -> list[SearchHit]:
    """The k articles sharing most coverage with the report, best first (see the module docstring)."""
    if not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise InvalidInput(f"k: {k!r} is not between 1 and {MAX_K}", field="k", limit="max_k")
    if window_days is not None:
        if not window_days >= 0:
            raise InvalidInput(f"window_days: {window_days!r} must be zero or more", field="window_days")
        settings = replace(settings, window_days=float(window_days))
    if exclude_outside is not None:
        settings = replace(settings, exclude_outside=exclude_outside)
    report = Report.prepare(report_text, language, encoder, published, limits)
    found, named = candidates(store, report, settings, k, list(outlets) if outlets is not None else None)
    return describe(report, _timed(store, report, rank(report, found, named), settings, k), encoder, dictionary,
                    settings, translator)


def _timed(store: Store, report: Report, ranked: list[_Candidate], settings: SearchSettings, k: int
           ) -> list[tuple[_Candidate, StoredArticle, float]]:
    """The best k after the time factor; articles are read only until no later candidate can catch up
    (the factor is at most 1, so a candidate scoring below the k-th timed score cannot)."""
    timed: list[tuple[_Candidate, StoredArticle, float]] = []
    for candidate in ranked:
        if len(timed) >= k and timed[k - 1][2] >= candidate.score:
            break
        article = store.get(candidate.id)
        if article is None:
            continue
        factor = time_factor(report.published, article.published, settings.window_days)
        if factor < 1.0 and settings.exclude_outside:
            continue
        timed.append((candidate, article, candidate.score * factor))
        timed.sort(key=lambda item: (-item[2], item[0].id))
    return timed[:k]
