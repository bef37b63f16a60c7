"""Repeated headlines and paragraphs: each repeat points at its first occurrence.

Scrapes repeat things: the headline twice, a whole body a second time. Any
sentence that is long enough, or that is not running text (a headline, a
caption), is a duplicate when its words match an earlier sentence; a short body
sentence ("Да.") only when a neighbour is a repeat too, i.e. inside a repeated
passage, so genuine short repetitions in dialogue are still translated.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from crosswire.types import Role

_NON_WORD = re.compile(r"[\W_]+")
# A body sentence with at least this many words is a duplicate on its own.
MIN_WORDS = 5


def normalize(text: str) -> str:
    """Words only, case-folded: what two copies of a sentence have in common."""
    return _NON_WORD.sub(" ", text.casefold()).strip()


def find_duplicates(texts: Iterable[str], roles: Sequence[Role]) -> list[int | None]:
    """For each sentence, the index of the earlier sentence it repeats, or None."""
    first: dict[str, int] = {}
    candidates: list[int | None] = []
    words: list[int] = []  # of each sentence, rather than its normalised text: one key per distinct sentence
    for index, text in enumerate(texts):
        key = normalize(text)
        words.append(key.count(" ") + 1)
        earlier = first.setdefault(key, index) if key else index
        candidates.append(earlier if earlier != index else None)
    del first
    result = []
    for index, earlier in enumerate(candidates):
        if earlier is not None and not (
            roles[index] != Role.BODY
            or words[index] >= MIN_WORDS
            or index > 0 and candidates[index - 1] is not None
            or index + 1 < len(candidates) and candidates[index + 1] is not None
        ):
            earlier = None
        result.append(earlier)
    return result
