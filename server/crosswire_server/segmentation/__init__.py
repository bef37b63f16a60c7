"""News text → paragraphs → sentences, each with its role in the article and any earlier copy.

`segment` is what translation and alignment call: nothing of the text is
dropped, only labelled, and every sentence is located by code-point offsets
into the original, so `text[s.start:s.end] == s.text`. Sentences never overlap,
come in order, and together cover every visible character.
"""

from __future__ import annotations

import re
from array import array

from crosswire.types import LANGUAGE_CODE, Document, Role, Sentence

from crosswire_server.budget import need
from crosswire_server.errors import InvalidInput
from crosswire_server.segmentation.duplicates import find_duplicates
from crosswire_server.segmentation.language import (
    MIN_CONFIDENCE,
    Identification,
    check_declared,
    has_letters,
    identify,
    warm_up,
)
from crosswire_server.segmentation.sentences import cut_long, split_sentences
from crosswire_server.segmentation.structure import article_parts
from crosswire_server.segmentation.text import View, paragraphs

__all__ = ["MAX_SENTENCE_CHARS", "MIN_CONFIDENCE", "SENTENCE_BYTES", "Identification", "check_declared",
           "has_letters", "identify", "segment", "warm_up"]

#: A "sentence" longer than this (no usable punctuation) is cut and flagged forced_split.
MAX_SENTENCE_CHARS = 1000
#: Memory a request may hold per sentence of its texts once they are segmented, translated and answered:
#: `python benchmarks/memory.py --mb 1|3|4 --text short` (one-word sentences, 133,000 to 571,000 of them) grew
#: a server 525-575 B a sentence for Segment and 875-1,110 for Translate. News sentences cost less than the
#: estimate for their bytes (memory_per_request_byte); a request is charged the larger of the two.
SENTENCE_BYTES = 1280
_SPACE = re.compile(r"\s*")


def segment(text: str, language: str = "", *, max_sentence_chars: int = MAX_SENTENCE_CHARS) -> Document:
    """Split a raw article into sentences with roles and duplicate references.

    `language` is an ISO 639-1 code ("ru", "en", "zh"); empty means detect it.
    The rules work for any of these scripts, so a text in another script than
    declared is still split well; `Document.detected_language` tells the two apart.
    """
    if not isinstance(text, str):
        raise InvalidInput(f"text must be a string, not {type(text).__name__}")
    if max_sentence_chars < 1:
        raise InvalidInput(f"max_sentence_chars must be at least 1, got {max_sentence_chars}")
    language = (language or "").strip()
    if language and not LANGUAGE_CODE.fullmatch(language):
        raise InvalidInput(f"language must be a language code such as 'ru' or 'en', got {language[:20]!r}")
    found = identify(text)
    view = View.of(text)
    pieces = _pieces(view.text, max_sentence_chars)
    # The request is charged for its sentences before they exist: a text of one-word sentences costs far
    # more than its size's estimate at the door.
    need(len(pieces.starts) * SENTENCE_BYTES)
    # Pieces in flat arrays, one Sentence per piece and no list of every sentence's text besides:
    # a text of many short sentences holds a few hundred bytes per sentence at its peak.
    duplicates = find_duplicates((view.text[a:b] for a, b in zip(pieces.starts, pieces.ends)), pieces.roles)
    sentences = []
    for index, duplicate_of in enumerate(duplicates):
        start, end = view.original_span(pieces.starts[index], pieces.ends[index])
        sentences.append(Sentence(index, start, end, text[start:end], pieces.paragraphs[index], pieces.roles[index],
                                  duplicate_of, bool(pieces.forced[index])))
    del pieces, duplicates
    return Document(text, language.lower() or found.language, sentences, detected_language=found.language,
                    language_confidence=found.confidence)


class _Pieces:
    """Where each sentence is (view offsets), its paragraph, role and whether it was cut: a column each."""

    def __init__(self) -> None:
        self.starts = array("q")
        self.ends = array("q")
        self.paragraphs = array("q")
        self.roles: list[Role] = []
        self.forced = bytearray()

    def add(self, start: int, end: int, paragraph: int, role: Role, forced: bool) -> None:
        self.starts.append(start)
        self.ends.append(end)
        self.paragraphs.append(paragraph)
        self.roles.append(role)
        self.forced.append(forced)


def _pieces(text: str, limit: int) -> _Pieces:
    """Every sentence, in view offsets."""
    spans = paragraphs(text)
    pieces = _Pieces()
    for paragraph, ((start, end), part) in enumerate(zip(spans, article_parts(text, spans))):
        if part.dateline_end is not None:
            pieces.add(start, part.dateline_end, paragraph, Role.DATELINE, False)
            start = _SPACE.match(text, part.dateline_end, end).end()
        for sentence_start, sentence_end in split_sentences(text, start, end):
            if sentence_end - sentence_start <= limit:
                pieces.add(sentence_start, sentence_end, paragraph, part.role, False)
            else:
                for a, b in cut_long(text, sentence_start, sentence_end, limit):
                    pieces.add(a, b, paragraph, part.role, True)
    return pieces
