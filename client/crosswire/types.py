"""Plain typed results shared by the client, the command line and the server core.

Pure dataclasses: importing this module pulls in neither grpc nor protobuf, so
the server core can build these objects without knowing about the wire.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum

#: An ISO 639 language code, optionally with subtags ("ru", "zh-Hans"): what every language field accepts.
LANGUAGE_CODE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*")
#: Languages both the segmentation rules and the sentence encoder handle: what alignment accepts.
ALIGNMENT_LANGUAGES = ("ru", "en", "zh")


class Role(str, Enum):
    """What a sentence is within its article (see SegmentRole in the contract)."""

    BODY = "body"
    HEADLINE = "headline"
    DATELINE = "dateline"
    TIMESTAMP = "timestamp"
    CAPTION = "caption"
    SECTION = "section"
    BOILERPLATE = "boilerplate"
    PULL_QUOTE = "pull_quote"


#: Roles translated and aligned unless a caller asks for others.
DEFAULT_ROLES: frozenset[Role] = frozenset({Role.HEADLINE, Role.BODY})


@dataclass(frozen=True, slots=True)  # slots: a text may hold hundreds of thousands of sentences
class Sentence:
    """One sentence of a text, located by code-point offsets into the original."""

    index: int
    start: int
    end: int
    text: str
    paragraph: int = 0
    role: Role = Role.BODY
    duplicate_of: int | None = None
    forced_split: bool = False


@dataclass(frozen=True)
class Document:
    """A segmented text: the original string and its sentences, in order."""

    text: str
    language: str
    sentences: list[Sentence] = field(default_factory=list)
    #: The language identified in the text ('' when it has no letters); differs
    #: from `language` when the declared language looks wrong.
    detected_language: str = ""
    #: The language identifier's confidence in `detected_language`, from 0 to 1 (a measurement,
    #: left out of equality: alignment results do not carry it).
    language_confidence: float = field(default=0.0, compare=False)


@dataclass(frozen=True)
class Hypothesis:
    """An alternative translation of a sentence."""

    text: str
    score: float | None = None


@dataclass(frozen=True, slots=True)  # slots: as many as the text has sentences
class TranslatedSegment:
    """A source sentence, where it stands in the source text, and its translation."""

    start: int
    end: int
    source: str
    translation: str
    score: float | None = None
    alternatives: list[Hypothesis] = field(default_factory=list)
    paragraph: int = 0
    role: Role = Role.BODY
    translated: bool = True
    duplicate_of: int | None = None


@dataclass(frozen=True)
class Translation:
    """The translation of one text, with paragraph breaks kept."""

    text: str
    source_language: str
    target_language: str
    model: str
    segments: list[TranslatedSegment] = field(default_factory=list)
    #: The language identified in the source text ('' when it has no letters) and the
    #: identifier's confidence in it, 0 to 1; set also when the request declared the language.
    detected_language: str = ""
    language_confidence: float = 0.0


@dataclass(frozen=True)
class LanguagePair:
    """A source/target language pair, as ISO 639-1 codes."""

    source: str
    target: str

    def __str__(self) -> str:
        return f"{self.source}->{self.target}"


@dataclass(frozen=True)
class ModelInfo:
    """An installed translation model as the server reports it."""

    name: str
    pairs: list[LanguagePair]
    quantization: str = ""
    compute_type: str = ""
    device: str = ""
    license: str = ""
    source: str = ""
    is_default: bool = False


@dataclass(frozen=True)
class StreamResult:
    """One answer of a translation stream: the translation of item `id`, or why it failed.

    `sequence` is the item's position in the stream (from 0): a repeated id's answer
    (code "ALREADY_EXISTS") has the same id as the first one, but its own sequence.
    `retry_after_s` is set on an item refused for the caller's rate or the server's load
    (code "RESOURCE_EXHAUSTED"): send it again after that many seconds.
    """

    id: str
    translation: Translation | None = None
    error: str | None = None
    code: str | None = None
    sequence: int = 0
    retry_after_s: float | None = None


class AlignMode(str, Enum):
    """How two texts are expected to correspond (see AlignmentService)."""

    PARALLEL = "parallel"
    COMPARABLE = "comparable"


class Grade(str, Enum):
    """How strongly linked sentences correspond."""

    SAME = "same"
    RELATED = "related"


class Coverage(str, Enum):
    """Whether an article covers the report's events, or only its topic."""

    SAME_EVENT = "same_event"
    SAME_TOPIC = "same_topic"
    UNRELATED = "unrelated"


class DisagreementKind(str, Enum):
    """What two linked sentences state differently."""

    NUMBER = "number"
    NAME = "name"
    DATE = "date"


@dataclass(frozen=True)
class Disagreement:
    """A detail the two sides of a link state differently ("64" against "68")."""

    kind: DisagreementKind
    source: str
    target: str


@dataclass(frozen=True)
class SharedTerm:
    """A name or number found on both sides of a link, as each side writes it."""

    source: str
    target: str


@dataclass(frozen=True)
class Evidence:
    """Why two groups of sentences were linked."""

    embedding_similarity: float
    translation_similarity: float | None = None
    names: list[SharedTerm] = field(default_factory=list)
    numbers: list[SharedTerm] = field(default_factory=list)
    words: list[SharedTerm] = field(default_factory=list)
    disagreements: list[Disagreement] = field(default_factory=list)
    same_probability: float | None = None


@dataclass(frozen=True)
class Link:
    """Source sentences that correspond to sentences of one target document (0-based indices)."""

    source: list[int]
    target_doc: int
    target: list[int]
    score: float
    grade: Grade
    evidence: Evidence


@dataclass(frozen=True)
class Alignment:
    """Both sides segmented, their links, and the sentences left without a counterpart.

    Only sentences with the requested roles that are not duplicates take part;
    the unaligned lists hold those of them that no link covers.
    """

    source: Document
    targets: list[Document]
    target_names: list[str]
    mode: AlignMode
    links: list[Link] = field(default_factory=list)
    unaligned_source: list[int] = field(default_factory=list)
    unaligned_targets: list[list[int]] = field(default_factory=list)
    roles: frozenset[Role] = frozenset()  # the roles whose sentences took part, defaults filled in


@dataclass(frozen=True)
class RankedDocument:
    """A candidate article and how much coverage it shares with the report."""

    target_doc: int
    name: str
    score: float
    linked_source: int = 0
    linked_target: int = 0
    shared_names: list[str] = field(default_factory=list)
    coverage: Coverage = Coverage.UNRELATED
    related_source: int = 0


@dataclass(frozen=True)
class SentenceRef:
    """One sentence of one target document."""

    target_doc: int
    index: int


@dataclass(frozen=True)
class CompareRow:
    """One report sentence beside its translation and the English sentences it matches."""

    source: int
    text: str
    translation: str | None = None
    matches: list[Link] = field(default_factory=list)


@dataclass(frozen=True)
class Comparison:
    """A report against candidate articles: ranked documents and side-by-side rows.

    The "only in" lists hold sentences that no "same" link covers.
    """

    alignment: Alignment
    documents: list[RankedDocument] = field(default_factory=list)
    rows: list[CompareRow] = field(default_factory=list)
    only_in_report: list[int] = field(default_factory=list)
    only_in_coverage: list[SentenceRef] = field(default_factory=list)
    #: The articles the comparison took from the server's library, after the caller's own (see LibrarySelection).
    library_articles: list[Article] = field(default_factory=list)


# --- the article library (crosswire/v1/library.proto) -------------------------


@dataclass(frozen=True)
class Article:
    """An article of the library: what a caller adds (name and text at least) and what the library keeps.

    `published` is an aware UTC datetime or None (unknown); `language` "" means
    "identify it" when adding; `id`, `added` and `sentence_count` are set by the library.
    """

    name: str
    text: str = ""
    outlet: str = ""
    url: str = ""
    title: str = ""
    published: datetime | None = None
    language: str = ""
    id: str = ""
    added: datetime | None = None
    sentence_count: int = 0


class AddStatus(str, Enum):
    """What became of an article handed to the library."""

    ADDED = "added"
    UNCHANGED = "unchanged"  # the library had it already (same URL and text, or the same text)
    REPLACED = "replaced"  # same URL, new text: this version replaced the old one
    REFUSED = "refused"  # not added; the result's reason says why


@dataclass(frozen=True)
class AddResult:
    """The outcome for one added article; `id` is "" and `reason` says why when it was refused."""

    name: str
    id: str
    status: AddStatus
    reason: str = ""


@dataclass(frozen=True)
class LibrarySelection:
    """Which library articles a search returns or a comparison takes: the best `k` (0 = 5), near `published`
    (None = the report's own date, if it states one) within `window` (None = the server's default), of `outlets`
    (empty = all)."""

    k: int = 0
    published: datetime | None = None
    window: timedelta | None = None
    outlets: tuple[str, ...] = ()


@dataclass(frozen=True)
class SentencePair:
    """A report sentence and an article sentence that say much the same (indices 0-based)."""

    report_sentence: int
    article_sentence: int
    similarity: float
    report_text: str = ""
    article_text: str = ""


@dataclass(frozen=True)
class SearchHit:
    """An article found for a report (without its text), its score, shared names and best sentence pairs."""

    article: Article
    score: float
    shared_names: list[str] = field(default_factory=list)
    pairs: list[SentencePair] = field(default_factory=list)
    coverage: Coverage = Coverage.UNRELATED


@dataclass(frozen=True)
class LibraryStats:
    """What a library holds: counts by outlet and language, publication times, size on disk, backend."""

    articles: int
    sentences: int
    outlets: dict[str, int] = field(default_factory=dict)
    languages: dict[str, int] = field(default_factory=dict)
    oldest: datetime | None = None
    newest: datetime | None = None
    bytes_on_disk: int = 0
    backend: str = ""
