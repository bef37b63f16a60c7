"""Names and numbers shared by two sentences in different scripts.

Russian words are transliterated to Latin and both sides are reduced to a
rough phonetic key («Ракка» and "Raqqa" both become "raka"), so a name spelt
by two conventions still matches; numbers are parsed to values so that
«6 000 метров» and "6,000 metres" share 6000.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

_CYRILLIC_TO_LATIN = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh",
    "з": "z", "и": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
    "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu",
    "я": "ya", "і": "i", "ї": "i", "є": "e", "ґ": "g",
}

# Spelling variants that stand for one sound, rewritten in this order.
_PHONETIC_RULES = [
    (r"shch|sch", "s"), (r"dzh|dj", "j"), (r"tch", "c"), (r"zh", "j"), (r"kh", "h"), (r"ch", "c"), (r"sh", "s"),
    (r"ts|tz", "s"), (r"ph", "f"), (r"th", "t"), (r"ck", "k"), (r"c(?=[eiy])", "s"), (r"c", "k"), (r"q", "k"),
    (r"w", "v"), (r"x", "ks"), (r"y", "i"), (r"h", ""), (r"ee", "i"), (r"oo", "u"), (r"i(?=[au])", ""),
    (r"(.)\1+", r"\1"),
]


def _phonetic_step(pattern: str, replacement: str) -> Callable[[str], str]:
    """One rule as a function: a literal is a str.replace (the same left-to-right, non-overlapping rewrite as
    re.sub, several times faster); a pattern runs only when the word holds one of the letters it starts with."""
    if pattern.isalpha():
        return lambda word: word.replace(pattern, replacement)
    regex = re.compile(pattern)
    alternatives = pattern.split("|")
    needs = tuple(alternatives) if all(part.isalpha() for part in alternatives) else (pattern[0],)
    if not needs[0].isalpha():
        return lambda word: regex.sub(replacement, word)
    return lambda word: regex.sub(replacement, word) if any(need in word for need in needs) else word


_PHONETIC_STEPS = [_phonetic_step(pattern, replacement) for pattern, replacement in _PHONETIC_RULES]
_TRANSLITERATION = str.maketrans(
    {**_CYRILLIC_TO_LATIN, **{upper.upper(): latin.capitalize() for upper, latin in _CYRILLIC_TO_LATIN.items()}}
)

# Case endings of Russian nouns and adjectives, longest first: «Керри» keeps
# its form, «Лаврова» is tried as «Лавров», «Тому» as «Том».
_RUSSIAN_ENDINGS = sorted(
    "ии ия ию ией иям иях ами ями ого его ому ему ыми ими ой ей ом ем ам ям ах ях ов ев ую юю ая яя ые ие ый ий ых их "
    "ским ской ских ского ском скому ский ская ское ские а я у ю е ы и".split(),
    key=len, reverse=True,
)
_ENDINGS = frozenset(_RUSSIAN_ENDINGS)
_ENDING_LENGTHS = sorted({len(ending) for ending in _RUSSIAN_ENDINGS}, reverse=True)

# Acronyms whose letters differ between the languages.
_ACRONYMS = {
    "сша": ("us", "usa"), "оон": ("un",), "ес": ("eu",), "иг": ("is", "isis", "isil"),
    "игил": ("isil", "isis", "is"), "рф": ("russia",), "фрг": ("frg", "germany"),
    "мид": ("mfa",), "вмф": ("navy",), "вкс": ("aerospace",), "мчс": ("emergencies",),
    "оаэ": ("uae",), "кндр": ("dprk",), "фбр": ("fbi",), "цру": ("cia",), "мвф": ("imf",),
    "воз": ("who",), "ссср": ("ussr",), "вто": ("wto",), "обсе": ("osce",), "мок": ("ioc",),
}

# English names of places and peoples that transliteration cannot reach,
# keyed by the start of the Russian word («России», «российский» -> Russia).
_EXONYMS = {
    "росси": ("russia", "russian"), "русск": ("russian",), "герман": ("germany", "german"),
    "немец": ("german", "germany"), "кита": ("china", "chinese"),
    "турц": ("turkey", "turkish"), "турец": ("turkey", "turkish"), "япон": ("japan", "japanese"),
    "грузи": ("georgia", "georgian"), "венгр": ("hungary", "hungarian"), "греци": ("greece",),
    "греч": ("greek", "greece"), "польш": ("poland",), "польск": ("polish", "poland"),
    "швец": ("sweden",), "шведск": ("swedish", "sweden"), "норвеги": ("norway",),
    "норвежск": ("norwegian", "norway"), "финлянд": ("finland",), "финск": ("finnish", "finland"),
    "египет": ("egypt",), "египт": ("egypt", "egyptian"), "москв": ("moscow",),
    "московск": ("moscow",), "киев": ("kiev", "kyiv"), "британ": ("britain", "british", "uk"),
    "англ": ("england", "english", "britain"), "франц": ("france", "french"),
    "испан": ("spain", "spanish"), "итал": ("italy", "italian"), "нидерланд": ("netherlands", "dutch"),
    "голланд": ("netherlands", "dutch", "holland"), "бельги": ("belgium", "belgian"),
    "европ": ("europe", "european"), "белорус": ("belarus", "belarusian"),
    "беларус": ("belarus", "belarusian"), "израил": ("israel", "israeli"), "иран": ("iran", "iranian"),
    "ирак": ("iraq", "iraqi"), "кремл": ("kremlin",), "санкт": ("saint", "st"),
}
_EXONYM_PREFIXES = tuple(_EXONYMS)

# Capitalised English words that are not names (sentence starts and the like).
ENGLISH_NON_NAMES = frozenset(
    """a an the this that these those there then than it its he she they we you i his her their our
    my your in on at to of for from by with as and or but if when while after before since until
    about over under between during into through against among is are was were be been has have
    had do does did will would can could should may might must not no yes so also however
    according meanwhile earlier later today yesterday tomorrow mr mrs ms dr read all new more
    some many most what which who whom whose where why how one two three here""".split()
)

_WORD = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*")
_CYRILLIC = re.compile(r"[а-яё]")
_MIN_KEY = 3
_BLOCK = 2


@dataclass(frozen=True)
class Term:
    """A name or number as written in a sentence, with the keys it is matched by."""

    text: str
    keys: tuple[str, ...]
    is_name_like: bool = True


@dataclass(frozen=True)
class SentenceTerms:
    """What a sentence offers as evidence: names (and name-like words) and numbers."""

    names: tuple[Term, ...]
    numbers: tuple[Term, ...]

    @property
    def proper_names(self) -> int:
        """How many of the names are written as names (capitalised or acronyms)."""
        return sum(term.is_name_like for term in self.names)


def transliterate(text: str) -> str:
    """Russian (and Ukrainian) Cyrillic to plain Latin letters, capitals kept; other characters kept."""
    return text.translate(_TRANSLITERATION)


@lru_cache(maxsize=65536)
def phonetic_key(word: str) -> str:
    """A rough spelling-independent key of a Latin or Cyrillic word ("Raqqa" -> "raka")."""
    latin = transliterate(word.lower())
    if not (latin.isascii() and latin.isalpha()):
        latin = "".join(c for c in unicodedata.normalize("NFKD", latin) if c.isascii() and c.isalpha())
    for step in _PHONETIC_STEPS:
        latin = step(latin)
    return latin


@lru_cache(maxsize=65536)
def _russian_keys(word: str) -> tuple[str, ...]:
    """Keys of a Russian word: its full form and its stem without a case ending.

    «э» also stands for English "a" in transcribed names («Мэри» "Mary",
    «Хэмилтон» "Hamilton"), so a word with «э» is keyed both ways.
    """
    lower = word.lower()
    spellings = [lower, lower.replace("э", "а")] if "э" in lower else [lower]
    keys = [phonetic_key(spelling) for spelling in spellings]
    keys.extend(  # longest ending first; a word ends in at most one ending of each length
        phonetic_key(spelling[:-length])
        for spelling in spellings
        for length in _ENDING_LENGTHS
        if len(spelling) - length >= _MIN_KEY and spelling[-length:] in _ENDINGS
    )
    keys.extend(_ACRONYMS.get(lower, ()))
    if lower.startswith(_EXONYM_PREFIXES):
        keys.extend(key for prefix, names in _EXONYMS.items() if lower.startswith(prefix) for key in names)
    if not _is_name_like(word):
        keys = [key for key in keys if len(key) >= 4]
    return tuple(dict.fromkeys(k for k in keys if len(k) >= 2))


def _is_name_like(word: str) -> bool:
    return word[:1].isupper() or (len(word) > 1 and word.isupper())


def _names(text: str) -> tuple[Term, ...]:
    """Name candidates of a sentence.

    English: capitalised words that are not common sentence starters. Russian:
    every word of three letters or more, because adjectives derived from
    names are written in lower case («сирийский» ~ "Syrian"); only the
    capitalised ones count as names when sizing the evidence.
    """
    return tuple(term for term in map(_name_term, _WORD.findall(text)) if term is not None)


@lru_cache(maxsize=65536)
def _name_term(word: str) -> Term | None:
    """The name candidate one word makes (see _names), or None; news repeat their names, so this is memoised."""
    if _CYRILLIC.search(word.lower()):
        name_like = _is_name_like(word)
        if (len(word) >= _MIN_KEY if name_like else len(word) >= 5) or word.lower() in _ACRONYMS:
            keys = _russian_keys(word)
            if "-" in word:  # «Санкт-Петербурге»: each part is a name too
                keys = tuple(dict.fromkeys([*keys, *(k for part in word.split("-") if len(part) >= _MIN_KEY
                                                     for k in _russian_keys(part))]))
            if keys:
                return Term(word, keys, name_like)
    elif _is_name_like(word) and word.lower() not in ENGLISH_NON_NAMES:
        parts = [part for part in re.split(r"[-'’]", word) if len(part) >= _MIN_KEY] if "-" in word else []
        keys = tuple(dict.fromkeys((phonetic_key(word), word.lower(), *map(phonetic_key, parts))))
        if len(keys[0]) >= 2:
            return Term(word, keys)
    return None


_SCALES = {
    "тыс": 1e3, "тысяча": 1e3, "тысячи": 1e3, "тысяч": 1e3, "thousand": 1e3,
    "млн": 1e6, "миллион": 1e6, "миллиона": 1e6, "миллионов": 1e6, "million": 1e6, "mln": 1e6,
    "млрд": 1e9, "миллиард": 1e9, "миллиарда": 1e9, "миллиардов": 1e9, "billion": 1e9, "bn": 1e9,
    "трлн": 1e12, "триллион": 1e12, "триллиона": 1e12, "триллионов": 1e12, "trillion": 1e12,
}
_NUMBER = re.compile(
    r"(?<![\w.,])(\d{1,3}(?:[ \u00a0\u202f\u2009,.]\d{3})+|\d+)(?:([.,])(\d+))?(?![\d])"
    r"(?:\s*(%s)\b\.?)?" % "|".join(sorted(_SCALES, key=len, reverse=True)),
    re.IGNORECASE,
)
_DATE = re.compile(r"\b(\d{1,2})\.(\d{1,2})\.(\d{2,4})\b")


def _number_value(whole: str, sep: str | None, fraction: str | None, language: str) -> float:
    """Value of one written number; Russian uses spaces (and English commas) for thousands."""
    digits = re.sub(r"[ \u00a0\u202f\u2009,.]", "", whole)
    if sep and fraction:
        if language == "en" and sep == "," and len(fraction) == 3:
            return float(digits + fraction)
        return float(f"{digits}.{fraction}")
    return float(digits)


#: Number words, by lemma (Russian) or word (English): «сорок кораблей» ~ "40 ships".
_NUMBER_WORDS = {
    "ru": {
        "два": 2, "две": 2, "три": 3, "четыре": 4, "пять": 5, "шесть": 6, "семь": 7, "восемь": 8, "девять": 9,
        "десять": 10, "одиннадцать": 11, "двенадцать": 12, "тринадцать": 13, "четырнадцать": 14,
        "пятнадцать": 15, "шестнадцать": 16, "семнадцать": 17, "восемнадцать": 18, "девятнадцать": 19,
        "двадцать": 20, "тридцать": 30, "сорок": 40, "пятьдесят": 50, "шестьдесят": 60, "семьдесят": 70,
        "восемьдесят": 80, "девяносто": 90, "сто": 100, "двести": 200, "триста": 300, "четыреста": 400,
        "пятьсот": 500, "шестьсот": 600, "семьсот": 700, "восемьсот": 800, "девятьсот": 900,
        "двое": 2, "трое": 3, "четверо": 4, "пятеро": 5, "десяток": 10, "дюжина": 12,
    },
    "en": {
        "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
        "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
        "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
        "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "dozen": 12,
    },
}
# Inflected forms of the Russian number words: the stem before a case ending.
_RUSSIAN_NUMBER_FORMS = re.compile(
    r"\b(двух|двум|двумя|трех|трёх|трем|трём|тремя|четырех|четырёх|четырем|четырьмя|"
    r"(?:пят|шест|сем|восьм|девят|десят|одиннадцат|двенадцат|тринадцат|четырнадцат|пятнадцат|шестнадцат|"
    r"семнадцат|восемнадцат|девятнадцат|двадцат|тридцат)(?:и|ью)|сорока|ста|двухсот|трехсот|трёхсот|"
    r"четырехсот|пятисот|шестисот|семисот|восьмисот|девятисот|"
    r"два|две|три|четыре|пять|шесть|семь|восемь|девять|десять|одиннадцать|двенадцать|тринадцать|четырнадцать|"
    r"пятнадцать|шестнадцать|семнадцать|восемнадцать|девятнадцать|двадцать|тридцать|сорок|пятьдесят|"
    r"шестьдесят|семьдесят|восемьдесят|девяносто|сто|двести|триста|четыреста|пятьсот|шестьсот|семьсот|"
    r"восемьсот|девятьсот|двое|трое|четверо|пятеро|десяток|дюжина)\b",
    re.IGNORECASE,
)
_RUSSIAN_NUMBER_STEMS = {
    "двух": 2, "двум": 2, "двумя": 2, "трех": 3, "трёх": 3, "трем": 3, "трём": 3, "тремя": 3,
    "четырех": 4, "четырёх": 4, "четырем": 4, "четырьмя": 4, "сорока": 40, "ста": 100,
    "двухсот": 200, "трехсот": 300, "трёхсот": 300, "четырехсот": 400, "пятисот": 500, "шестисот": 600,
    "семисот": 700, "восьмисот": 800, "девятисот": 900,
}
_ENGLISH_NUMBER_WORDS = re.compile(r"\b(%s)\b" % "|".join(_NUMBER_WORDS["en"]), re.IGNORECASE)


def _first_letters(pattern: re.Pattern[str]) -> re.Pattern[str]:
    """The same pattern behind a look-ahead for the first letters of its words: the same matches, found in
    a third of the time (the engine no longer tries every alternative at every word)."""
    words = re.findall(r"[^\W\d_]+", re.sub(r"\\[a-zA-Z]", " ", pattern.pattern))  # not the b of \b
    letters = "".join(sorted({word[0] for word in words}))
    return re.compile(rf"(?=[{letters}]){pattern.pattern}", pattern.flags)


_RUSSIAN_NUMBER_FORMS = _first_letters(_RUSSIAN_NUMBER_FORMS)
_ENGLISH_NUMBER_WORDS = _first_letters(_ENGLISH_NUMBER_WORDS)


def _number_word_value(word: str, language: str) -> int | None:
    lower = word.lower()
    if language == "en":
        return _NUMBER_WORDS["en"].get(lower)
    if lower in _NUMBER_WORDS["ru"]:
        return _NUMBER_WORDS["ru"][lower]
    if lower in _RUSSIAN_NUMBER_STEMS:
        return _RUSSIAN_NUMBER_STEMS[lower]
    for stem, value in _NUMBER_WORDS["ru"].items():
        if lower[:-1] == stem[:-1] or lower[:-2] == stem[:-1]:  # пяти, пятью ~ пять; двадцати ~ двадцать
            return value
    return None


def _number_words(text: str, language: str) -> list[tuple[str, float]]:
    """Numbers written as words ("forty", «сорока»), with their values; a few tens and units joined."""
    pattern = _ENGLISH_NUMBER_WORDS if language == "en" else _RUSSIAN_NUMBER_FORMS
    found: list[tuple[re.Match[str], int]] = []
    for match in pattern.finditer(text):
        value = _number_word_value(match.group(), language)
        if value is not None:
            found.append((match, value))
    out: list[tuple[str, float]] = []
    for match, value in found:
        previous = out[-1] if out else None
        if previous and 20 <= previous[1] < 100 and value < 10 and text[match.start() - 1 : match.start()] in " -":
            out[-1] = (f"{previous[0]} {match.group()}", previous[1] + value)
        else:
            out.append((match.group(), float(value)))
    return out


def _rounded_keys(value: float) -> list[str]:
    """The value rounded to fewer significant digits (2 at least), as other outlets may write it.

    812,485 also keys as 812,500 and 812,000, so «812,5 тысячи» matches it;
    rounding stops at three digits, so 644,000 is not 640,000 and 25,000 is not
    «20 тысяч». Values under 10,000 (years among them) are not rounded.
    """
    if value != int(value) or value < 10_000:
        return []
    digits = len(str(int(value)).rstrip("0"))
    magnitude = len(str(int(value)))
    keys = []
    for significant in range(digits - 1, 2, -1):
        step = 10 ** (magnitude - significant)
        rounded = int(round(value / step)) * step
        keys.append(_format_number(float(rounded)))
    return keys


def _numbers(text: str, language: str) -> tuple[Term, ...]:
    """Numbers of a sentence as values; dates dd.mm.yyyy give day and year; number words count too."""
    terms = []
    for match in _DATE.finditer(text):
        for part in (match.group(1), match.group(3)):
            terms.append(Term(match.group(), (_format_number(float(part)),)))
    text = _DATE.sub(" ", text)
    for match in _NUMBER.finditer(text):
        value = _number_value(match.group(1), match.group(2), match.group(3), language)
        scale = match.group(4)
        keys = [_format_number(value)]
        if scale:
            value *= _SCALES[scale.lower().rstrip(".")]
            keys.insert(0, _format_number(value))
        terms.append(Term(match.group().strip(), tuple(dict.fromkeys([*keys, *_rounded_keys(value)]))))
    for words, value in _number_words(text, language):
        terms.append(Term(words, (_format_number(value),)))
    return tuple(terms)


def _format_number(value: float) -> str:
    return f"{value:.6g}" if value != int(value) or value >= 1e15 else str(int(value))


@lru_cache(maxsize=65536)
def sentence_terms(text: str, language: str) -> SentenceTerms:
    """Names and numbers of one sentence, ready for matching."""
    return SentenceTerms(_names(text), _numbers(text, language))


@lru_cache(maxsize=262144)
def keys_match(a: str, b: str) -> bool:
    """Whether two phonetic keys name the same thing: equal, an inflected prefix, or a few edits apart.

    Keys must agree on their first two letters (which also lets matching be
    looked up by those letters instead of comparing every pair).
    """
    if a == b:
        return True
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    if len(short) < _MIN_KEY or a[:_BLOCK] != b[:_BLOCK]:
        return False
    if long_.startswith(short) and (len(long_) == len(short) + 1 or (len(short) > _MIN_KEY and len(short) >= 0.6 * len(long_))):
        return True
    return len(short) >= 5 and _within_edits(a, b, max(1, len(long_) // 5))


def _within_edits(a: str, b: str, limit: int) -> bool:
    """Whether the Levenshtein distance of a and b is at most `limit`.

    A common prefix and suffix change nothing to the distance, so they are cut
    first; what remains differs in its first and last letters, so one edit can
    only be a single substituted letter. Otherwise the table is filled, giving up
    as soon as a row's every cell is over the limit (cells never decrease along
    a path). Long documents compare many names, so this matters.
    """
    if abs(len(a) - len(b)) > limit:
        return False
    shorter, prefix, suffix = min(len(a), len(b)), 0, 0
    while prefix < shorter and a[prefix] == b[prefix]:
        prefix += 1
    while suffix < shorter - prefix and a[-1 - suffix] == b[-1 - suffix]:
        suffix += 1
    a, b = a[prefix : len(a) - suffix], b[prefix : len(b) - suffix]
    if not a or not b:
        return max(len(a), len(b)) <= limit
    if limit <= 1:
        return limit == 1 and len(a) == len(b) == 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > limit:
            return False
        previous = current
    return previous[-1] <= limit


def _matching_pairs(source: list[tuple[str, ...]], target: list[tuple[str, ...]], fuzzy: bool) -> set[tuple[int, int]]:
    """(i, j) for every source key tuple i that matches target key tuple j.

    Names (fuzzy) match when any two keys match (see keys_match), and only keys
    that share their first letters are compared, each distinct pair of keys once;
    numbers match by an equal key.
    """
    columns: dict[str, list[int]] = {}
    for column, keys in enumerate(target):
        for key in keys:
            columns.setdefault(key, []).append(column)
    matched: dict[str, list[int]] = columns
    if fuzzy:
        block: dict[str, list[str]] = {}
        for key in columns:
            block.setdefault(key[:_BLOCK], []).append(key)
        matched = {}
        for key in {key for keys in source for key in keys}:
            matched[key] = [column for other in block.get(key[:_BLOCK], ()) if keys_match(key, other)
                            for column in columns[other]]
    return {(row, column) for row, keys in enumerate(source) for key in keys for column in matched.get(key, ())}


def shared_terms(source: tuple[Term, ...], target: tuple[Term, ...], fuzzy: bool = True) -> list[tuple[str, str]]:
    """Pairs (source text, target text) of terms that match, each target term used once.

    Names match fuzzily (see keys_match); numbers (fuzzy=False) only by equal value.
    """
    columns: dict[int, list[int]] = {}
    for row, column in sorted(_matching_pairs([t.keys for t in source], [t.keys for t in target], fuzzy)):
        columns.setdefault(row, []).append(column)
    pairs, used = [], set()
    for row, matches in columns.items():
        column = next((k for k in matches if k not in used), None)
        if column is not None:
            pairs.append((source[row].text, target[column].text))
            used.add(column)
    return pairs


def clear_caches() -> None:
    """Forget memoised keys, terms and matches (for timing a cold start)."""
    for cached in (phonetic_key, _russian_keys, _name_term, sentence_terms, keys_match):
        cached.cache_clear()


def _incidence(terms: list[tuple[Term, ...]]) -> tuple[np.ndarray, list[tuple[str, ...]]]:
    """Sentence x distinct-term count matrix, and the distinct key tuples."""
    ids: dict[tuple[str, ...], int] = {}
    cells = [(row, ids.setdefault(term.keys, len(ids))) for row, sentence in enumerate(terms) for term in sentence]
    matrix = np.zeros((len(terms), len(ids)), dtype=np.float32)
    for row, column in cells:
        matrix[row, column] += 1
    return matrix, list(ids)


def _term_matches(source: list[tuple[str, ...]], target: list[tuple[str, ...]], fuzzy: bool) -> np.ndarray:
    """Matrix of which distinct source terms match which target terms (1.0 = match)."""
    matches = np.zeros((len(source), len(target)), dtype=np.float32)
    for row, column in _matching_pairs(source, target, fuzzy):
        matches[row, column] = 1
    return matches


def _dice(source: list[tuple[Term, ...]], target: list[tuple[Term, ...]], source_sizes: np.ndarray, fuzzy: bool) -> np.ndarray:
    """Dice overlap of every source/target sentence pair's terms (0 where neither has any)."""
    a, source_keys = _incidence(source)
    b, target_keys = _incidence(target)
    if not source_keys or not target_keys:
        return np.zeros((len(source), len(target)), dtype=np.float32)
    covered = (a @ _term_matches(source_keys, target_keys, fuzzy)) > 0
    shared = covered.astype(np.float32) @ b.T
    total = source_sizes[:, None] + b.sum(axis=1)[None, :]
    # In place: two (source x target) matrices at a time, not six.
    np.maximum(total, 1, out=total)
    shared *= 2
    shared /= total
    del total
    return np.minimum(shared, np.float32(1.0), out=shared)


def overlap_matrices(source: list[SentenceTerms], target: list[SentenceTerms]) -> tuple[np.ndarray, np.ndarray]:
    """Dice overlap of names and of numbers for every source/target sentence pair."""
    names = _dice(
        [s.names for s in source], [t.names for t in target],
        np.array([s.proper_names for s in source], dtype=np.float32), fuzzy=True,
    )
    numbers = _dice(
        [s.numbers for s in source], [t.numbers for t in target],
        np.array([len(s.numbers) for s in source], dtype=np.float32), fuzzy=False,
    )
    return names, numbers
