"""Text → paragraphs → sentences, with code-point offsets into the original text."""

from __future__ import annotations

import re

from crosswire.types import Document, Sentence

# A sentence ends at terminal punctuation (plus closing quotes/brackets) that is
# followed by whitespace and an upper-case letter, digit or opening quote.
_LATIN_CYRILLIC_END = re.compile(r"[.!?…]+[\"»”’)\]]*(?=\s+[\"«“„(\[]?[A-ZА-ЯЁ0-9])")
# Chinese and Japanese full stops need no following space.
_CJK_END = re.compile(r"[。！？!?]+[”’」』）)]*")
_SCRIPTS = {
    "ru": re.compile(r"[А-Яа-яЁё]"),
    "zh": re.compile(r"[\u4e00-\u9fff]"),
    "en": re.compile(r"[A-Za-z]"),
}


def detect_language(text: str, candidates: list[str] | None = None) -> str:
    """Guess the language of a text from its script; '' when nothing matches."""
    counts = {
        lang: len(pattern.findall(text))
        for lang, pattern in _SCRIPTS.items()
        if candidates is None or lang in candidates
    }
    best = max(counts, key=counts.get, default="")
    return best if best and counts[best] else ""


def _split_line(line: str, offset: int, language: str) -> list[tuple[int, int]]:
    """Sentence spans within one line, stripped of surrounding whitespace."""
    pattern = _CJK_END if language in ("zh", "ja") else _LATIN_CYRILLIC_END
    spans, start = [], 0
    for match in pattern.finditer(line):
        spans.append((start, match.end()))
        start = match.end()
    spans.append((start, len(line)))
    result = []
    for begin, end in spans:
        piece = line[begin:end]
        stripped = piece.strip()
        if stripped:
            lead = len(piece) - len(piece.lstrip())
            result.append((offset + begin + lead, offset + begin + lead + len(stripped)))
    return result


def segment(text: str, language: str) -> Document:
    """Split a text into sentences; every non-empty line is a paragraph."""
    sentences: list[Sentence] = []
    paragraph = 0
    position = 0
    for line in text.splitlines(keepends=True):
        spans = _split_line(line, position, language)
        for start, end in spans:
            sentences.append(Sentence(len(sentences), start, end, text[start:end], paragraph))
        if spans:
            paragraph += 1
        position += len(line)
    return Document(text=text, language=language, sentences=sentences)
