"""Which language a text is in, judged by its script: enough to tell Russian, English and Chinese apart."""

from __future__ import annotations

import re

_SCRIPTS = {
    "ru": re.compile(r"[А-Яа-яЁё]"),
    "zh": re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]"),
    "en": re.compile(r"[A-Za-z]"),
}
# Long texts are judged on a few spread-out samples of this many characters.
_SAMPLE = 1000
_SAMPLES = 4


def detect_language(text: str, candidates: list[str] | None = None) -> str:
    """The language whose script has the most letters in the text; '' when none has any."""
    sample = _sample(text)
    counts = {
        language: len(pattern.findall(sample))
        for language, pattern in _SCRIPTS.items()
        if candidates is None or language in candidates
    }
    best = max(counts, key=counts.__getitem__, default="")
    return best if best and counts[best] else ""


def _sample(text: str) -> str:
    if len(text) <= _SAMPLE * _SAMPLES:
        return text
    step = len(text) // _SAMPLES
    return "".join(text[i * step:i * step + _SAMPLE] for i in range(_SAMPLES))
