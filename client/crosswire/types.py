"""Plain typed results shared by the client, the command line and the server core.

Pure dataclasses: importing this module pulls in neither grpc nor protobuf, so
the server core can build these objects without knowing about the wire.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


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


@dataclass(frozen=True)
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
    #: The language the text's script points to ('' when it has no letters); differs
    #: from `language` when the declared language looks wrong.
    detected_language: str = ""


@dataclass(frozen=True)
class Hypothesis:
    """An alternative translation of a sentence."""

    text: str
    score: float | None = None


@dataclass(frozen=True)
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
    """One answer of a translation stream: the translation of item `id`, or why it failed."""

    id: str
    translation: Translation | None = None
    error: str | None = None
    code: str | None = None
