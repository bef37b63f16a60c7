"""Sentence boundaries inside one paragraph, and safe cuts for over-long sentences.

One regular expression finds every place a sentence could end (terminal
punctuation, closing quotes, then a space; or a CJK full stop); a few rules per
candidate reject the false ends news text is full of: abbreviations, initials,
list numbers, and quotes followed by their attribution («…», — заявил он).
Works on Russian, English and Chinese alike, so a text in another script than
declared is still split sensibly.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from crosswire_server.segmentation.lexicon import (
    BEFORE_NUMBER,
    FINAL,
    FINAL_AFTER,
    FINAL_BEFORE_STARTER,
    NAME_INITIALS,
    NON_FINAL,
    STARTERS,
)

_CLOSERS = "\"'»”’“)]」』）》"
_OPENERS = "\"'«“„‘([「『（《"
_DASHES = "—–-‒―"
_QUOTES = "\"'»”’“"
# Runs are matched whole and only from their first character, so a long run of
# punctuation costs linear time, not quadratic.
_CANDIDATE = re.compile(
    rf"(?<![.!?…])(?P<end>[.!?…]++)[{re.escape(_CLOSERS)}]*+(?=\s)"
    rf"|(?P<cjk>[。！？]++)[{re.escape(_CLOSERS)}]*+"
)
_SPACE = re.compile(r"\s*")
_WORD = re.compile(r"\w+")
_HAS_WORD = re.compile(r"\w")
_NUMBER = re.compile(r"\d[\d.,:/\-]*|[IVXLCDM]+(?:-[IVXLCDM]+)?")
_DOTTED_ABBREVIATION = re.compile(r"(?:[^\W\d_]{1,2}\.)+[^\W\d_]{1,2}")
# A lower-case start that still opens a sentence: a site name ("rus.err.ee wrote ...").
_DOMAIN = re.compile(r"[a-z0-9\-]+(?:\.[a-z0-9\-]+)*\.[a-z]{2,6}(?=\s)")
# After a closing quote, a name and a verb of saying continue the sentence:
# '"... a duet?" Zhukov wrote under a video', '"..." Larisa Kharlamova agreed.'
_ATTRIBUTION = re.compile(
    r"(?:[A-ZА-ЯЁ@][\w'’.\-]*\s+){1,3}"
    r"(?:said|says|wrote|writes|added|adds|asked|asks|agreed|noted|notes|told|explained|stressed|emphasi[sz]ed"
    r"|stated|replied|continued|concluded|commented|tweeted|recalled|insisted|declared|announced|argued|warned"
    r"|claimed|admitted|сказал|заявил|написал|добавил|отметил|подчеркнул|пояснил|сообщил|рассказал|уточнил"
    r"|ответил|спросил)а?"
    r"(?=\s*[.,;:!?]|\s+(?:in|on|under|at|during|after|while|from|via|when|в|во|на|под|после|при)\s)"
)
_PARENTHESIS_REACH = 200
_NUMBER_RANGE = re.compile(r"[+\-−–]?\d")
_SOFT_CUT = re.compile(r"[,;:)\]»”\"]\s|\s[—–-]\s")


def split_sentences(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """(start, end) of each sentence in text[start:end], a paragraph with no edge whitespace, one at a time
    (a paragraph of a hundred thousand sentences never has them all in a list)."""
    last: tuple[int, int] | None = None  # held back: a trailing " |" may still join it
    begin = checked = start  # text[begin:checked] is known to hold no word character
    for match in _CANDIDATE.finditer(text, start, end):
        cut = match.end()
        if cut >= end:
            break
        if match.lastgroup == "cjk" or _is_boundary(text, match, begin, end):
            if _HAS_WORD.search(text, checked, cut):
                if last is not None:
                    yield last
                last = (begin, cut)
                begin = checked = _SPACE.match(text, cut, end).end()
            else:
                checked = cut
    if begin < end:
        if last is not None and not _HAS_WORD.search(text, begin, end):
            last = (last[0], end)  # a trailing " |" or " *" belongs to the last sentence
        else:
            if last is not None:
                yield last
            last = (begin, end)
    if last is not None:
        yield last


def cut_long(text: str, start: int, end: int, limit: int) -> list[tuple[int, int]]:
    """Cut text[start:end] into pieces of at most `limit` characters at the safest places.

    Prefers a comma, semicolon, colon or dash, then any space, and only then a
    hard cut, so a run of characters without punctuation never grows unbounded.
    """
    pieces = []
    while end - start > limit:
        window_end = start + limit
        cut = _last_soft_cut(text, start + limit // 2, window_end)
        if cut is None:
            space = max(text.rfind(" ", start + 1, window_end), text.rfind("\u3000", start + 1, window_end))
            cut = space if space > start else window_end
        piece_end = cut
        while piece_end > start and text[piece_end - 1].isspace():
            piece_end -= 1
        pieces.append((start, piece_end))
        start = _SPACE.match(text, cut, end).end()
    if start < end:
        pieces.append((start, end))
    return pieces


def _last_soft_cut(text: str, low: int, high: int) -> int | None:
    """Offset just after the last punctuation-plus-space in text[low:high], if any."""
    cut = None
    for match in _SOFT_CUT.finditer(text, low, high):
        cut = match.start() + 1
    return cut


def _is_boundary(text: str, match: re.Match, begin: int, end: int) -> bool:
    """Whether the candidate `match` (inside a sentence that began at `begin`) ends a sentence."""
    punct_start = match.start("end")
    nxt = _SPACE.match(text, match.end(), end).end()
    while nxt < end - 1 and text[nxt] in _OPENERS:
        nxt += 1
    char = text[nxt]
    quoted = match.group(0)[-1] in _QUOTES
    if char in _DASHES:
        after_dash = _SPACE.match(text, nxt + 1, end).end()
        if after_dash >= end:
            return True
        # "…!» — сказал он" goes on; "…сказал он. — Мы готовы" is a new line of speech;
        # "в 2021-2025 гг. - 66,4 руб." is judged by what stands before the dash.
        if text[after_dash].isupper():
            return not (quoted and _ATTRIBUTION.match(text, after_dash, end))
        nxt, char = after_dash, text[after_dash]
    if char.islower():
        return bool(_DOMAIN.match(text, nxt, end))
    if quoted and _ATTRIBUTION.match(text, nxt, end):
        return False
    if _in_short_parenthesis(text, begin, punct_start, nxt):
        return False  # "(авиабаза НАТО. Ред.)"
    punct = match.group("end")
    if punct in ("...", "…") and _NUMBER_RANGE.match(text, nxt, end):
        before = text[max(begin, punct_start - 6):punct_start].rstrip()
        if before and (before[-1].isdigit() or before[-1] in "°ºCСF"):
            return False  # "+3 ... +8 градусов", "+15°С...+17°С"
    if punct != ".":
        return True
    return _ends_at_dot(text, punct_start, begin, nxt)


def _in_short_parenthesis(text: str, begin: int, position: int, nxt: int) -> bool:
    """Whether position is inside a parenthesis that closes a few characters after nxt."""
    low = max(begin, position - _PARENTHESIS_REACH)
    return text.rfind("(", low, position) > text.rfind(")", low, position) and ")" in text[nxt:nxt + 12]


def _ends_at_dot(text: str, dot: int, begin: int, nxt: int) -> bool:
    """Whether a single dot before a capital, digit or symbol ends the sentence."""
    word_start = dot
    while word_start > begin and not text[word_start - 1].isspace():
        word_start -= 1
    while word_start < dot and text[word_start] in _OPENERS:
        word_start += 1
    word = text[word_start:dot]
    if not word or not word[-1].isalnum():
        return True  # "(ИГ). Иракские", "«Роснефть». Компания"
    if _NUMBER.fullmatch(word) and word[0].isdigit():
        return not (word_start == begin and len(word) <= 3)  # "1. Первый пункт" is a list number
    key = word.lower()
    next_is_digit = text[nxt].isdigit()
    if len(word) == 1 and word.isupper() or key in NAME_INITIALS and word[0].isupper():
        return _next_is_starter(text, nxt) and not _is_initial_at(text, nxt)
    if key in FINAL_AFTER:
        return _previous_word(text, word_start, begin) == FINAL_AFTER[key] and not next_is_digit
    if key in NON_FINAL:
        return False
    if key in BEFORE_NUMBER:
        return not next_is_digit
    if key in FINAL:
        return not next_is_digit
    if key in FINAL_BEFORE_STARTER:
        if key in ("г", "в") and not _NUMBER.fullmatch(_previous_word(text, word_start, begin)):
            return False  # "г. Москва", not "2016 г."
        return _next_is_starter(text, nxt)
    if _DOTTED_ABBREVIATION.fullmatch(key):
        return _next_is_starter(text, nxt)  # an unknown dotted abbreviation: "N.Y.", "Ph.D."
    return True


def _previous_word(text: str, word_start: int, begin: int) -> str:
    """The word before position word_start (without a trailing dot), lower-cased."""
    stop = word_start
    while stop > begin and text[stop - 1].isspace():
        stop -= 1
    first = stop
    while first > begin and not text[first - 1].isspace():
        first -= 1
    return text[first:stop].rstrip(".").lower()


def _next_is_starter(text: str, position: int) -> bool:
    word = _WORD.match(text, position)
    return word is not None and word.group().lower() in STARTERS


def _is_initial_at(text: str, position: int) -> bool:
    """Whether an initial ("В.", "Дж.") starts at position."""
    word = _WORD.match(text, position)
    if word is None or word.end() >= len(text) or text[word.end()] != ".":
        return False
    token = word.group()
    return len(token) == 1 and token.isupper() or token.lower() in NAME_INITIALS
