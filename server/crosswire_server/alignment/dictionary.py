"""Words translated through a bilingual dictionary: evidence that two sentences say the same thing.

Embeddings see that two sentences are about hockey; the dictionary sees that
«набрала 64 очка» and "has 68 points" share "points" but not the team, and that
«парадный строй кораблей» and "the parade line of warships" share three words.

The dictionary is read from dictd files of English-Russian dictionaries
(Debian's `mueller7-dict`, 46,000 headwords, and `dict-freedict-eng-rus`) and
inverted: every Russian word that stands alone as a translation of an English
headword points to it. Words are reduced to lemmas with simplemma (a lookup
table, microseconds a word), Russian verbs also lose their aspect suffix
(«заявить» and «заявлять» share «заяв»), an English word is looked up under
its lemma and also under its own form where that is a headword ("took": "take"
and "took"; "found": "find" and "found"), and an English compound falls back
to its last part ("warship" -> "ship"). Without any
dictionary file the signal is simply absent (see `load_dictionary`).
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
import pickle
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import simplemma
from platformdirs import user_cache_dir
from simplemma.strategies import DefaultStrategy

log = logging.getLogger(__name__)

#: Where Debian installs the dictd files (`apt-get install mueller7-dict dict-freedict-eng-rus`).
DEFAULT_DICTIONARIES = ("/usr/share/dictd/mueller7", "/usr/share/dictd/freedict-eng-rus")

_BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_HEADWORD = re.compile(r"[a-z][a-z'-]*")
_CYRILLIC_WORD = re.compile(r"[а-яё]+(?:-[а-яё]+)?")
_RUSSIAN_TOKEN = re.compile(r"[А-Яа-яЁё]+(?:-[А-Яа-яЁё]+)*")
_ENGLISH_TOKEN = re.compile(r"[A-Za-z]+(?:-[A-Za-z]+)*")
_VERB = re.compile(r"(.{3,}?)(?:ивать|ывать|ать|ять|ить|еть|уть|нуть|ти|чь)(?:ся|сь)?$")
_LABIAL_L = re.compile(r"([бвмпф])л$")
#: Words remembered by each of the three word caches (lemma, Russian keys, English headword): with 32,768
#: entries each they hold at most about 16 MB between them (62,000 entries of news words took 10 MB).
WORD_CACHE_SIZE = 32_768
#: A Russian word translating more English headwords than this says too little to count.
MAX_SENSES = 40

# Function words and words every news sentence has; they are never evidence.
RUSSIAN_STOPWORDS = frozenset(
    """и в во не что он на я с со как а то все она так его но да ты к у же вы за бы по только ее мне было вот от
    меня еще нет о об обо из ему теперь когда даже ну ли если уже или ни быть был него до вас нибудь опять уж вам
    ведь там потом себя ничего ей может они тут где есть надо ней для мы тебя их чем была сам чтоб без будто чего
    раз тоже себе под будет ж тогда кто этот того потому этого какой совсем ним здесь этом почти мой тем чтобы нее
    сейчас были куда зачем всех никогда можно при наконец об другой хоть после над больше тот через эти нас про
    всего них какая много разве эту моя впрочем хорошо свою этой перед иногда лучше чуть том нельзя такой им более
    всегда конечно всю между это также который которая которые которое свой весь сказать заявить сообщить отметить
    сообщаться стать год время""".split()
)
ENGLISH_STOPWORDS = frozenset(
    """a an the of to in on at for from by with and or but is are was were be been being has have had do does did
    will would can could should may might must not no this that these those it its he she they we you i his her
    their our as also than then there here which who whom whose what when where why how all any some more most other
    such only own same so too very just over under about into through during before after above below up down out
    off again further once said say says told year according""".split()
)


def _number(digits: str) -> int:
    value = 0
    for char in digits:
        value = value * 64 + _BASE64.index(char)
    return value


def _dictd_entries(stem: str) -> Iterator[tuple[str, str]]:
    """(headword, article) pairs of a dictd dictionary (STEM.index and STEM.dict.dz)."""
    data = gzip.open(f"{stem}.dict.dz").read()
    with open(f"{stem}.index", encoding="utf-8") as index:
        for line in index:
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 3:
                start, length = _number(parts[1]), _number(parts[2])
                yield parts[0], data[start : start + length].decode("utf-8", "replace")


def _translations(article: str) -> Iterator[tuple[str, bool]]:
    """(Russian word, stands alone) for the short translations of an article, skipping examples and labels.

    A word that stands alone is a translation by itself («залив»); the others come
    from two-word translations («морской залив», «военно-морской флот»).
    """
    body = article.split("\n", 1)[1] if "\n" in article else ""
    body = re.sub(r"\[[^\]]*\]|\([^)]*\)|_\S+", " ", body)
    for segment in re.split(r"[;,\n]|\d+[).]", body):
        if re.search(r"[A-Za-z]", segment):
            continue
        words = [word for word in _CYRILLIC_WORD.findall(segment.lower()) if len(word) >= 3]
        if 1 <= len(words) <= 2:
            for word in words:
                yield word, len(words) == 1


def verb_key(lemma: str) -> str:
    """A Russian lemma without ё, and a verb without its aspect and reflexive suffix («заявлять» -> «заяв»)."""
    lemma = lemma.replace("ё", "е")
    match = _VERB.match(lemma)
    return _LABIAL_L.sub(r"\1", match.group(1)) if match else lemma


@dataclass(frozen=True)
class Dictionary:
    """Russian word keys mapped to the English headwords they translate."""

    russian_to_english: dict[str, frozenset[str]]
    headwords: frozenset[str]

    @classmethod
    def from_dictd(cls, stems: Sequence[str]) -> Dictionary:
        """Invert English-Russian dictd dictionaries (single-word English headwords only)."""
        alone: dict[str, set[str]] = {}
        in_pairs: dict[str, set[str]] = {}
        headwords: set[str] = set()
        for stem in stems:
            for head, article in _dictd_entries(stem):
                head = head.strip().lower()
                if not _HEADWORD.fullmatch(head):
                    continue
                headwords.add(head)
                for word, stands_alone in _translations(article):
                    (alone if stands_alone else in_pairs).setdefault(verb_key(word), set()).add(head)
        senses = {}
        for key in alone.keys() | in_pairs.keys():
            wide = alone.get(key, set()) | in_pairs.get(key, set())
            narrow = alone.get(key, set())
            chosen = wide if len(wide) <= MAX_SENSES else narrow
            if 0 < len(chosen) <= MAX_SENSES:
                senses[key] = frozenset(chosen)
        return cls(senses, frozenset(headwords))

    def russian_keys(self, text: str) -> tuple[tuple[str, ...], ...]:
        """Dictionary keys of the content words of a Russian sentence, each word once.

        A word has one key per lemma it may have («парадному»: «парадный», «парадное»).
        """
        keys = (_russian_keys(token.lower()) for token in _RUSSIAN_TOKEN.findall(text))
        return tuple(dict.fromkeys(key for key in keys if key))

    def english_keys(self, text: str) -> tuple[tuple[str, ...], ...]:
        """Headwords of the content words of an English sentence, in order, each word once.

        A word has one key per headword it is found under ("took": "take", "took"; see `headwords`).
        """
        keys = (self._headwords(token.lower()) for token in _ENGLISH_TOKEN.findall(text))
        return tuple(dict.fromkeys(key for key in keys if key))

    def _headwords(self, word: str) -> tuple[str, ...]:
        if len(word) < 3 or word in ENGLISH_STOPWORDS:
            return ()
        return headwords(word, self.headwords)

    def senses(self, word: str) -> frozenset[str]:
        """The English headwords one Russian word (any case, any form) may translate; empty for function words."""
        return frozenset().union(*(self.russian_to_english.get(key, ()) for key in _russian_keys(word.lower())))

    def english_headwords(self, word: str) -> tuple[str, ...]:
        """The headwords an English word (any case) is found under: its lemma's and its own (see `headwords`)."""
        return headwords(word.lower(), self.headwords)

    def word_pairs(self, russian_text: str, english_text: str) -> list[tuple[str, str]]:
        """(Russian word, English word) as the sentences write them, where one translates the other."""
        english: dict[tuple[str, ...], str] = {}
        for token in _ENGLISH_TOKEN.findall(english_text):
            keys = self._headwords(token.lower())
            if keys:
                english.setdefault(keys, token)
        pairs, seen = [], set()
        for token in _RUSSIAN_TOKEN.findall(russian_text):
            keys = _russian_keys(token.lower())
            if not keys or keys in seen:
                continue
            senses = set().union(*(self.russian_to_english.get(key, ()) for key in keys))
            match = next((heads for heads in english if not senses.isdisjoint(heads)), None)
            if match is not None:
                seen.add(keys)
                pairs.append((token, english.pop(match)))
        return pairs


@lru_cache(maxsize=WORD_CACHE_SIZE)
def headwords(word: str, known: frozenset[str] = frozenset()) -> tuple[str, ...]:
    """The headwords a lower-case English word is found under: its lemma, and the word itself when that is a
    headword too; else the end of a compound ("warship" -> "ship"); with no `known` headwords, the lemma.

    The lemma comes first because mueller7 lists inflected forms as headwords of their own
    ("took", "held", "men": "past of take"), whose articles translate nothing; the form stays
    a key for the forms that mean something else too ("found": «основать», "saw": «пила»).
    """
    lemma = _english_lemma(word)
    if not known:
        return (lemma,)
    found = tuple(key for key in dict.fromkeys((lemma, word)) if key in known)
    if found:
        return found
    for start in range(1, len(lemma) - 3):
        if lemma[start:] in known:
            return (lemma[start:],)
    return (lemma,)


def english_content_words(text: str) -> frozenset[str]:
    """Lemmas of the content words of an English sentence (for comparing a machine translation with it)."""
    return frozenset(
        _english_lemma(token.lower()) for token in _ENGLISH_TOKEN.findall(text)
        if len(token) >= 3 and token.lower() not in ENGLISH_STOPWORDS
    )


def _english_lemma(word: str) -> str:
    return _lemma(word, "en")


@lru_cache(maxsize=WORD_CACHE_SIZE)
def _lemma(word: str, language: str) -> str:
    """simplemma's lemma of a lower-case word (a dictionary lookup, about 20 us a word)."""
    return _lemmatizer().lemmatize(word, lang=language).lower()


@lru_cache(maxsize=1)
def _lemmatizer() -> simplemma.Lemmatizer:
    """simplemma reading its compressed tables in place: 23 MB for Russian and English instead of 162 MB as
    dictionaries, for the same lemmas at about 20 instead of 4 us a word (the caches here keep repeated words)."""
    return simplemma.Lemmatizer(lemmatization_strategy=DefaultStrategy(low_memory=True), cache_max_size=0)


@lru_cache(maxsize=WORD_CACHE_SIZE)
def _russian_keys(word: str) -> tuple[str, ...]:
    """Dictionary keys of one lower-case Russian word: its lemma's and, when it differs, its own form's.

    The form itself stays a key because the lemmatiser may map a participle or a
    name to a lemma the dictionary lacks. Empty for function words and short words.
    """
    if len(word) < 3 or word in RUSSIAN_STOPWORDS:
        return ()
    lemma = _lemma(word, "ru")
    if lemma in RUSSIAN_STOPWORDS:
        return ()
    return tuple(dict.fromkeys((verb_key(lemma), verb_key(word))))


@lru_cache(maxsize=1)
def load_dictionary(stems: tuple[str, ...] = DEFAULT_DICTIONARIES) -> Dictionary | None:
    """The dictionary from the dictd files that exist among `stems`; None (and a log line) when none does.

    The inverted dictionary is kept in the user's cache folder (keyed by the
    files' sizes and times), so only the first start reads the dictd files.
    """
    present = [stem for stem in stems if Path(f"{stem}.index").exists() and Path(f"{stem}.dict.dz").exists()]
    if not present:
        log.warning(
            "no English-Russian dictionary found (%s); alignment runs without dictionary evidence. "
            "On Debian: apt-get install mueller7-dict dict-freedict-eng-rus", ", ".join(stems),
        )
        return None
    _lemma("тест", "ru"), _lemma("test", "en")  # loads the lemmatiser's tables (half a second) now, not in a request
    signature = "|".join(
        f"{stem}:{os.stat(f'{stem}.dict.dz').st_size}:{os.stat(f'{stem}.dict.dz').st_mtime_ns}" for stem in present
    )
    cached = Path(user_cache_dir("crosswire")) / f"dictionary-{hashlib.sha256(signature.encode()).hexdigest()[:16]}.pickle"
    try:
        with cached.open("rb") as handle:
            loaded = pickle.load(handle)
        if isinstance(loaded, Dictionary):
            return loaded
    except (OSError, pickle.PickleError, EOFError, AttributeError):
        pass
    dictionary = Dictionary.from_dictd(present)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(f".{os.getpid()}.partial")
        with partial.open("wb") as handle:
            pickle.dump(dictionary, handle, protocol=pickle.HIGHEST_PROTOCOL)
        partial.replace(cached)
    except OSError as exc:
        log.info("could not cache the inverted dictionary in %s: %s", cached, exc)
    return dictionary


def clear_caches() -> None:
    """Forget memoised lemmas, keys and headwords (for timing a cold start)."""
    for cached in (_russian_keys, _lemma, headwords):
        cached.cache_clear()
