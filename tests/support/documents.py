"""What every segmented document must satisfy, whatever its text."""

from __future__ import annotations

import unicodedata

from crosswire.types import Document


def _invisible(char: str) -> bool:
    return char.isspace() or unicodedata.category(char) in ("Cc", "Cf")


def assert_well_formed(document: Document) -> None:
    """Spans in order, disjoint, exact slices of the text, covering every visible character."""
    text = document.text
    covered = [False] * len(text)
    previous_end, previous_paragraph = 0, 0
    for index, sentence in enumerate(document.sentences):
        assert sentence.index == index
        assert previous_end <= sentence.start < sentence.end <= len(text), sentence
        assert text[sentence.start:sentence.end] == sentence.text
        assert sentence.text == sentence.text.strip(), f"edge whitespace in {sentence.text!r}"
        assert sentence.paragraph >= previous_paragraph
        if sentence.duplicate_of is not None:
            first = document.sentences[sentence.duplicate_of]
            assert sentence.duplicate_of < index and first.duplicate_of is None
        for position in range(sentence.start, sentence.end):
            covered[position] = True
        previous_end, previous_paragraph = sentence.end, sentence.paragraph
    lost = [char for char, inside in zip(text, covered) if not inside and not _invisible(char)]
    assert not lost, f"characters outside every sentence: {''.join(lost)[:80]!r}"
