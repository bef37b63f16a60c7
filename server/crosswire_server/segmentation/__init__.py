"""News text → paragraphs → sentences, each with its role in the article and any earlier copy.

`segment` is what translation and alignment call: nothing of the text is
dropped, only labelled, and every sentence is located by code-point offsets
into the original, so `text[s.start:s.end] == s.text`. Sentences never overlap,
come in order, and together cover every visible character.
"""

from __future__ import annotations

import re

from crosswire.types import LANGUAGE_CODE, Document, Role, Sentence

from crosswire_server.errors import InvalidInput
from crosswire_server.segmentation.duplicates import find_duplicates
from crosswire_server.segmentation.language import (
    MIN_CONFIDENCE,
    Identification,
    check_declared,
    has_letters,
    identify,
)
from crosswire_server.segmentation.sentences import cut_long, split_sentences
from crosswire_server.segmentation.structure import article_parts
from crosswire_server.segmentation.text import View, paragraphs

__all__ = ["MAX_SENTENCE_CHARS", "MIN_CONFIDENCE", "Identification", "check_declared", "has_letters", "identify",
           "segment"]

#: A "sentence" longer than this (no usable punctuation) is cut and flagged forced_split.
MAX_SENTENCE_CHARS = 1000
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
    spans = [view.original_span(start, end) for start, end, *_ in pieces]
    roles = [role for *_, role, _ in pieces]
    duplicates = find_duplicates([view.text[start:end] for start, end, *_ in pieces], roles)
    sentences = [
        Sentence(index, start, end, text[start:end], paragraph, role, duplicate_of, forced)
        for index, ((start, end), (_, _, paragraph, role, forced), duplicate_of) in enumerate(
            zip(spans, pieces, duplicates)
        )
    ]
    return Document(text, language.lower() or found.language, sentences, detected_language=found.language,
                    language_confidence=found.confidence)


def _pieces(text: str, limit: int) -> list[tuple[int, int, int, Role, bool]]:
    """(start, end, paragraph, role, forced_split) of every sentence, in view offsets."""
    spans = paragraphs(text)
    pieces = []
    for paragraph, ((start, end), part) in enumerate(zip(spans, article_parts(text, spans))):
        if part.dateline_end is not None:
            pieces.append((start, part.dateline_end, paragraph, Role.DATELINE, False))
            start = _SPACE.match(text, part.dateline_end, end).end()
        for sentence_start, sentence_end in split_sentences(text, start, end):
            if sentence_end - sentence_start <= limit:
                pieces.append((sentence_start, sentence_end, paragraph, part.role, False))
            else:
                pieces.extend(
                    (a, b, paragraph, part.role, True) for a, b in cut_long(text, sentence_start, sentence_end, limit)
                )
    return pieces
