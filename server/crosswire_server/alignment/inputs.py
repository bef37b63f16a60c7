"""Documents as the aligner takes them: segmented text or one sentence per line, and
the sentences that take part (requested roles, no duplicates, nothing blank)."""

from __future__ import annotations

from collections.abc import Sequence

from crosswire.types import DEFAULT_ROLES, Document, Role, Sentence
from crosswire_server.budget import need
from crosswire_server.segmentation import SENTENCE_BYTES, segment


def presegment(text: str, language: str, *, charge: bool = True) -> Document:
    """One sentence per line; sentence i is line i (empty lines are kept but never aligned). The running
    request is charged for its sentences before they exist, as segment() does, unless `charge` is False
    (the caller has charged for them)."""
    lines = text.splitlines(keepends=True)
    if charge:
        need(len(lines) * SENTENCE_BYTES)
    sentences, position = [], 0
    for index, line in enumerate(lines):
        content = line.rstrip("\r\n")
        sentences.append(Sentence(index, position, position + len(content), content, paragraph=index))
        position += len(line)
    return Document(text=text, language=language, sentences=sentences)


def prepare(text: str, language: str, presegmented: bool = False) -> Document:
    """Segment a raw text (or split it into lines when it is presegmented)."""
    return presegment(text, language) if presegmented else segment(text, language)


def eligible(document: Document, roles: frozenset[Role] = DEFAULT_ROLES) -> list[int]:
    """Indices of the sentences that take part: requested roles, not duplicates, not blank."""
    return [
        s.index
        for s in document.sentences
        if s.role in roles and s.duplicate_of is None and s.text.strip()
    ]


def by_sentence(document: Document, indices: list[int], texts: Sequence[str]) -> list[str]:
    """One text per sentence of the document: texts[k] for sentence indices[k], "" for the others
    (e.g. the machine translations of the eligible sentences, placed by sentence index)."""
    done = dict(zip(indices, texts))
    return [done.get(i, "") for i in range(len(document.sentences))]
