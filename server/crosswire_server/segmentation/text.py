"""The raw text as the splitter sees it: invisible characters set aside, lines grouped into paragraphs.

Zero-width, bidi, soft-hyphen and control characters must not decide where a
sentence ends, yet every offset must point into the original text. So the
splitter works on a view without them and `View.original_span` maps its spans
back. Line breaks of every convention (\\n, \\r\\n, \\r, U+2028, ...) end a line.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

# Format (Cf) characters that matter in news text, and C0/C1 controls other than
# the whitespace ones (tab and the line breaks).
_IGNORABLE = re.compile(
    "[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
    "\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f]+"
)
_LINE = re.compile(r"[^\n\r\x0b\x0c\x85\u2028\u2029]+")
_LINE_BREAK = re.compile(r"\r\n|[\n\r\x0b\x0c\x85\u2028\u2029]")
_SENTENCE_END = ".!?…:;。！？"


@dataclass(frozen=True)
class View:
    """The text without ignorable characters, and where those characters were."""

    text: str
    removed: tuple[int, ...] = ()  # for each removed character, the view offset it stood before

    @classmethod
    def of(cls, original: str) -> View:
        """Drop ignorable characters; the common case (none) costs one regex scan."""
        if not _IGNORABLE.search(original):
            return cls(original)
        parts, removed, position, kept = [], [], 0, 0
        for match in _IGNORABLE.finditer(original):
            parts.append(original[position:match.start()])
            kept += match.start() - position
            removed.extend([kept] * (match.end() - match.start()))
            position = match.end()
        parts.append(original[position:])
        return cls("".join(parts), tuple(removed))

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Offsets in the original text of the view span [start, end) (non-empty)."""
        if not self.removed:
            return start, end
        return start + bisect.bisect_right(self.removed, start), end + bisect.bisect_right(self.removed, end - 1)


def paragraphs(text: str) -> list[tuple[int, int]]:
    """(start, end) of each paragraph: a non-blank line, trimmed of edge whitespace.

    A line that ends without punctuation and is followed (no blank line between)
    by one starting in lower case continues it: hard-wrapped text stays whole.
    """
    spans: list[tuple[int, int]] = []
    for match in _LINE.finditer(text):
        start, end = _trim(text, match.start(), match.end())
        if start == end:
            continue
        if spans and _continues(text, spans[-1][1], start):
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    return spans


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _continues(text: str, previous_end: int, start: int) -> bool:
    return (
        text[start].islower()
        and text[previous_end - 1] not in _SENTENCE_END
        and len(_LINE_BREAK.findall(text, previous_end, start)) == 1
    )
