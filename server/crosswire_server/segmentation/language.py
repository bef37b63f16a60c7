"""Which language a text is in, with a confidence: lingua's n-gram identifier, not the script alone.

Script alone cannot tell Russian from Ukrainian, Belarusian, Bulgarian, Serbian
or Kazakh, and a text in one of those must not go through a ru→en model. A text
written mostly in Cyrillic goes to lingua's high-accuracy models of the
Cyrillic-script languages (where Russian meets its neighbours; about 200 MB,
loaded on first use); any other text to the low-accuracy models of all 75
languages (about 60 MB; the high-accuracy Latin-script models alone take
about 800 MB). `python benchmarks/language_id.py` measures this choice
against py3langid, fastText and CLD2.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

from crosswire_server.errors import InvalidInput

#: Below this confidence a detected language is a guess: it is reported, never acted on.
MIN_CONFIDENCE = 0.5
#: A declared language is refused only when the identifier is this sure of another one ...
MISMATCH_CONFIDENCE = 0.9
#: ... in a text of at least this many letters. Single English sentences of up to 107 letters
#: full of names were confidently taken for Tagalog, Latin or Italian on FLORES; no pair of them was.
MISMATCH_MIN_LETTERS = 150

# Standard varieties of one language that lingua cannot tell apart in Latin script (it knows
# Serbian in Cyrillic only): a text declared as one of them and found to be another is not refused.
_VARIANTS = frozenset({"sr", "hr", "bs"})
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_LETTER = re.compile(r"[^\W\d_]")
# A text over _SAMPLES * _SAMPLE characters is judged on _SAMPLES spread-out samples of _SAMPLE characters: lingua's
# time grows with the length, and two samples of 500 gave the same answers as four of 1,000 on the 611 articles of
# benchmarks/library.py and 49 4,000-character windows of the UDHR texts of benchmarks/language_id.py (3.0 against
# 4.0 ms a news article, identified at every ingest).
_SAMPLE = 500
_SAMPLES = 2


@dataclass(frozen=True)
class Identification:
    """The language of a text (ISO 639-1; '' when it has no letters) and the identifier's confidence, 0 to 1."""

    language: str
    confidence: float

    @property
    def sure(self) -> bool:
        """Whether the identification is confident enough to act on."""
        return bool(self.language) and self.confidence >= MIN_CONFIDENCE

    def __str__(self) -> str:
        return f"{self.language!r} (confidence {self.confidence:.2f})"


def identify(text: str) -> Identification:
    """The most likely language of the text and how sure the identifier is of it."""
    sample = _sample(text)
    letters = len(_LETTER.findall(sample))
    if not letters:
        return Identification("", 0.0)
    detector = _cyrillic() if 2 * len(_CYRILLIC.findall(sample)) > letters else _all_languages()
    values = detector.compute_language_confidence_values(sample)
    if not values or values[0].value <= 0:
        return Identification("", 0.0)
    best = values[0]
    return Identification(best.language.iso_code_639_1.name.lower(), round(best.value, 4))


def warm_up() -> None:
    """Load the identifier's models now (a second or two) instead of in the first requests that need them:
    lingua loads each language's models on first use, and more of them for a short text than for a long one."""
    for text in ("Путин прибыл в Петербург.", "Путин прибыл в Санкт-Петербург на Главный военно-морской парад, "
                 "который прошёл в акватории Невы и Финского залива.", "The parade took place in Saint Petersburg."):
        identify(text)


def has_letters(text: str) -> bool:
    """Whether the text has any letter at all (else there is no language to identify)."""
    return _LETTER.search(text) is not None


def check_declared(text: str, declared: str, field: str, found: Identification | None = None) -> Identification:
    """Refuse a text that is, beyond reasonable doubt, not in its declared language; return what was found.

    `found` is the text's identification when the caller has it already (segmentation identifies every text).
    """
    found = found or identify(text)
    primary = re.split(r"[-_]", declared.lower())[0]
    if not primary or not found.language or found.language == primary or {primary, found.language} <= _VARIANTS:
        return found
    long_enough = len(_LETTER.findall(text, 0, _SAMPLE * _SAMPLES)) >= MISMATCH_MIN_LETTERS
    if (found.confidence >= MISMATCH_CONFIDENCE and long_enough) or _unwritten(text, primary):
        raise InvalidInput(
            f"{field}: declared language is {declared!r} but the text looks {found.language!r} "
            f"(confidence {found.confidence:.2f})"
        )
    return found


def _unwritten(text: str, declared: str) -> bool:
    """Whether most letters of the text are in a script the declared language is not written in (any length)."""
    sample = _sample(text)
    counts = {script: len(pattern.findall(sample)) for script, pattern in _SCRIPT_LETTERS.items()}
    script = max(counts, key=counts.__getitem__)
    if 2 * counts[script] <= len(_LETTER.findall(sample)):
        return False
    return declared not in _written_in(script)


_SCRIPT_LETTERS = {"cyrillic": _CYRILLIC, "latin": _LATIN, "han": _HAN}


@cache
def _written_in(script: str) -> frozenset[str]:
    """ISO 639-1 codes of the languages lingua knows in a script."""
    languages = {
        "cyrillic": Language.all_with_cyrillic_script,
        "latin": Language.all_with_latin_script,
        "han": lambda: {Language.CHINESE, Language.JAPANESE},
    }[script]()
    codes = {language.iso_code_639_1.name.lower() for language in languages}
    return frozenset(codes | {"sr"} if script == "latin" else codes)  # lingua knows Serbian in Cyrillic only


@cache
def _cyrillic() -> LanguageDetector:
    return LanguageDetectorBuilder.from_all_languages_with_cyrillic_script().build()


@cache
def _all_languages() -> LanguageDetector:
    return LanguageDetectorBuilder.from_all_languages().with_low_accuracy_mode().build()


def _sample(text: str) -> str:
    if len(text) <= _SAMPLE * _SAMPLES:
        return text
    step = len(text) // _SAMPLES
    return "\n".join(text[i * step:i * step + _SAMPLE] for i in range(_SAMPLES))
