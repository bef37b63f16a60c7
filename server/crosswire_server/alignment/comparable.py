"""Comparable-mode linking: a report's sentences against other outlets' independent coverage.

Embedding similarity says two sentences are about the same thing; it cannot
say they state the same fact (any two sentences about hockey standings are
close). So linking runs in three steps:

1. Candidates: each source sentence's best CANDIDATES partners in each target
   document by the pair score (cosine plus names, numbers and translation,
   margin-normalised), each target sentence's best CANDIDATES rows, and pairs
   that share a specific name (see SpecificNames).
2. The probability that a candidate pair states the same fact, from a small
   logistic model over its evidence (FEATURES; SameFactModel): embedding
   cosine and margin, shared numbers, the words a bilingual dictionary (or the
   machine translation, when a model for the pair is installed) carries
   across, shared names, length ratio, rank, and how alike the two documents
   are. Numbers of the same unit or dates stated differently, and
   attribution-only sentences ("…, reports The Straits Times"), rule "same"
   out (facts.py).
3. Links, within each target document: "same" for a pair at or above
   SAME_PROBABILITY that is its source or its target sentence's most
   probable partner, or each other's most probable partner standing out
   from both sentences' neighbours by DISTINCT_MARGIN; "related" for a
   source sentence's best remaining candidate when it reaches
   RELATED_PROBABILITY, shares a specific name, or is a mutual best partner
   from MUTUAL_RELATED_COSINE on.

The model and thresholds are fitted and chosen by
benchmarks/calibrate_crossoutlet.py, which prints its cross-validated figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from crosswire.types import Disagreement, DisagreementKind, Grade
from crosswire_server.alignment.dictionary import Dictionary, english_content_words
from crosswire_server.alignment.evidence import sentence_terms, shared_terms
from crosswire_server.alignment.facts import disagreements, place_disagreement, statement
from crosswire_server.alignment.scoring import DEFAULT_WEIGHTS, PairFeatures, Weights, margin
from crosswire_server.alignment.unmatched import UNMATCHED_FEATURES, unmatched_evidence

#: Partners kept per sentence and target document in step 1.
CANDIDATES = 3

#: The evidence of a pair, in the order the model weighs it: embedding cosine, how far it exceeds
#: HIGH_COSINE, its margin against both sentences' nearest neighbours (scoring.margin), Dice
#: overlap of numbers, the larger share of one side's content words the dictionary (or the machine
#: translation) finds on the other, |log| of the length ratio, whether a name is shared, the pair's
#: cosine rank in its row (0 = best, capped at CANDIDATES), and the cosine of the two documents'
#: mean embeddings; then what each side states that the other does not (unmatched.py).
FEATURES = (
    "cosine", "high_cosine", "margin", "numbers", "words", "length", "shared_name", "row_rank", "document_cosine",
    *UNMATCHED_FEATURES,
)
#: Cosine above this is what translations have and independent coverage rarely does ("high_cosine").
HIGH_COSINE = 0.6


@dataclass(frozen=True)
class SameFactModel:
    """Logistic regression over standardised FEATURES: P(same fact) = sigmoid(w . (x - mean) / scale + bias)."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float

    def probability(self, evidence: np.ndarray) -> np.ndarray:
        """P(same fact) for each row of an (n, len(FEATURES)) evidence matrix."""
        z = (evidence - np.array(self.mean)) / np.array(self.scale)
        return 1.0 / (1.0 + np.exp(-(z @ np.array(self.weights) + self.bias)))


#: Fitted by `python benchmarks/calibrate_crossoutlet.py` on the shared cross-outlet labels
#: (../shared/data/eval/ru-en/crossoutlet-wmt21.tsv, all 60 tasks); the script prints these lines.
SAME_FACT_MODEL = SameFactModel(
    mean=(0.2217, 0.0102, -0.1425, 0.0375, 0.1076, 0.5012, 0.1847, 2.2893, 0.507, 1.5139, 2.2037, 0.4478, 0.5015,
          0.017),
    scale=(0.1948, 0.0432, 0.1539, 0.1786, 0.1737, 0.4194, 0.388, 1.1011, 0.1455, 1.9422, 2.5331, 0.8976, 0.9808,
           0.15),
    weights=(0.963, -0.0181, 2.3535, 0.19, 0.2026, 0.5393, 0.2111, 0.3903, 0.2163, -0.4173, -0.3921, -1.2311,
             -0.9269, 0.4563),
    bias=-7.1712,
)
#: The same fit on evidence computed without a dictionary (no "words" column, names matched by sound alone).
SAME_FACT_MODEL_WITHOUT_WORDS = SameFactModel(
    mean=(0.2217, 0.0102, -0.1425, 0.0375, 0.0, 0.5012, 0.1847, 2.2893, 0.507, 1.5351, 2.3148, 0.4478, 0.5015,
          0.0007),
    scale=(0.1948, 0.0432, 0.1539, 0.1786, 1.0, 0.4194, 0.388, 1.1011, 0.1455, 1.9522, 2.6065, 0.8976, 0.9808,
           0.0262),
    weights=(1.3096, -0.0646, 2.346, 0.5852, 0.0, 0.5945, 0.2213, 0.3878, 0.3914, -0.404, -0.3115, -1.1554, -0.8147,
             0.0231),
    bias=-7.3749,
)

#: Thresholds on the same-fact probability, chosen on the shared labels under cross-validation
#: by calibrate_crossoutlet.py: SAME_PROBABILITY is the lowest whose precision stays >= 0.80
#: there. Besides RELATED_PROBABILITY, two rules make "related": a specific name shared (see
#: SpecificNames), or each other's most probable partner from MUTUAL_RELATED_COSINE on (which keeps
#: Tatoeba's short generic translations from going unlinked).
SAME_PROBABILITY = 0.6
RELATED_PROBABILITY = 0.15
MUTUAL_RELATED_COSINE = 0.4
#: A pair that is its source and its target sentence's most probable partner and stands out from both
#: sentences' neighbours by this margin (scoring.margin) is "same" below SAME_PROBABILITY: what a translation
#: looks like («В КНДР зафиксирован первый случай…» ~ "North Korea has registered its first case…"), while
#: independent coverage rarely stands out so far. Chosen by calibrate_crossoutlet.py: the lowest margin that
#: keeps the cross-validated precision of the shared labels at the operating point.
DISTINCT_MARGIN = 0.18
#: Documents whose mean embeddings are at least this close share a topic: only then does a shared
#: name make two of their sentences "related" (on the seeds and the WMT21 Navy Day coverage,
#: articles on the report's topic score 0.60-0.69, a Donbass ceasefire report against them 0.40).
TOPIC_COSINE = 0.5


@dataclass(frozen=True)
class Pair:
    """One source sentence linked to one target sentence (positions in the score matrices)."""

    source: int
    target: int
    score: float
    grade: Grade
    probability: float = 0.0
    disagreements: list[Disagreement] = field(default_factory=list)


@dataclass(frozen=True)
class Texts:
    """The sentences on both sides and their languages (what the evidence beyond matrices needs)."""

    source: Sequence[str]
    target: Sequence[str]
    source_language: str
    target_language: str
    source_translations: Sequence[str] | None = None


def candidate_pairs(scores: np.ndarray, target_doc: np.ndarray, k: int = CANDIDATES) -> list[tuple[int, int]]:
    """(row, column) pairs: each row's k best columns in each document, and each column's k best rows."""
    pairs: set[tuple[int, int]] = set()
    for doc in np.unique(target_doc):
        columns = np.flatnonzero(target_doc == doc)
        block = scores[:, columns]
        if block.size == 0:
            continue
        top_columns = np.argsort(-block, axis=1)[:, :k]
        for row, best in enumerate(top_columns):
            pairs.update((row, int(columns[c])) for c in best)
        top_rows = np.argsort(-block, axis=0)[:k]
        for c, column in enumerate(columns):
            pairs.update((int(row), int(column)) for row in top_rows[:, c])
    return sorted(pairs)


def _russian_side(texts: Texts) -> tuple[Sequence[str], Sequence[str], bool] | None:
    """(Russian sentences, English sentences, whether the source is the Russian side), or None."""
    if (texts.source_language, texts.target_language) == ("ru", "en"):
        return texts.source, texts.target, True
    if (texts.source_language, texts.target_language) == ("en", "ru"):
        return texts.target, texts.source, False
    return None


def _word_coverage(
    pairs: list[tuple[int, int]], texts: Texts, dictionary: Dictionary | None,
) -> np.ndarray | None:
    """The larger share of one side's content words that the dictionary finds translated on the other."""
    sides = _russian_side(texts) if dictionary is not None else None
    if sides is None or dictionary is None:
        return None
    russian, english, source_is_russian = sides
    senses = dictionary.russian_to_english
    russian_words = [
        [frozenset(sense for key in keys for sense in senses.get(key, ())) for keys in dictionary.russian_keys(text)]
        for text in russian
    ]
    english_words = [dictionary.english_keys(text) for text in english]
    english_heads = [frozenset(head for keys in words for head in keys) for words in english_words]
    coverage = np.zeros(len(pairs), dtype=np.float32)
    for n, (row, column) in enumerate(pairs):
        r, e = (row, column) if source_is_russian else (column, row)
        words, target = russian_words[r], english_words[e]
        if words and target:
            russian_covered = sum(1 for meanings in words if not meanings.isdisjoint(english_heads[e]))
            meant = frozenset().union(*words)
            english_covered = sum(1 for keys in target if not meant.isdisjoint(keys))
            coverage[n] = max(russian_covered / len(words), english_covered / len(target))
    return coverage


def _translation_coverage(pairs: list[tuple[int, int]], texts: Texts) -> np.ndarray | None:
    """The larger share of content words a source sentence's machine translation and a target sentence share."""
    if texts.source_translations is None:
        return None
    translated = [english_content_words(text) for text in texts.source_translations]
    target = [english_content_words(text) for text in texts.target]
    coverage = np.zeros(len(pairs), dtype=np.float32)
    for n, (row, column) in enumerate(pairs):
        if translated[row] and target[column]:
            shared = len(translated[row] & target[column])
            coverage[n] = max(shared / len(translated[row]), shared / len(target[column]))
    return coverage


def pair_evidence(
    features: PairFeatures, target_doc: np.ndarray, pairs: list[tuple[int, int]], texts: Texts,
    dictionary: Dictionary | None,
) -> tuple[np.ndarray, bool]:
    """The FEATURES of each candidate pair, and whether the "words" column holds anything.

    "words" is the dictionary's share of translated content words, or, when the
    source sentences come with machine translations into English, the share of
    content words the translation and the target have in common (the larger).
    """
    if not pairs:
        return np.zeros((0, len(FEATURES)), dtype=np.float32), False
    rows = np.array([row for row, _ in pairs], dtype=np.int64)
    columns = np.array([column for _, column in pairs], dtype=np.int64)
    row_rank = np.zeros(len(pairs), dtype=np.float32)
    document_cosine = np.zeros(len(pairs), dtype=np.float32)
    source_centroid = _unit(features.source_vectors.mean(axis=0))
    position = np.zeros(len(target_doc), dtype=np.int64)  # each column's place within its document
    for doc in np.unique(target_doc):
        in_doc = np.flatnonzero(target_doc == doc)
        position[in_doc] = np.arange(len(in_doc))
        order = np.argsort(np.argsort(-features.cosine[:, in_doc], axis=1), axis=1)
        mine = target_doc[columns] == doc
        row_rank[mine] = np.minimum(order[rows[mine], position[columns[mine]]], CANDIDATES)
        document_cosine[mine] = float(source_centroid @ _unit(features.target_vectors[in_doc].mean(axis=0)))
    words = _word_coverage(pairs, texts, dictionary)
    translated = _translation_coverage(pairs, texts) if texts.target_language == "en" else None
    if translated is not None:
        words = translated if words is None else np.maximum(words, translated)
    source_lengths = np.array([len(text) for text in texts.source], dtype=np.float32) + 1
    target_lengths = np.array([len(text) for text in texts.target], dtype=np.float32) + 1
    scores = margin(features.cosine)
    evidence = np.stack(
        [
            features.cosine[rows, columns],
            np.maximum(0.0, features.cosine[rows, columns] - HIGH_COSINE),
            scores[rows, columns],
            features.numbers[rows, columns],
            words if words is not None else np.zeros(len(pairs), dtype=np.float32),
            np.abs(np.log(source_lengths[rows] / target_lengths[columns])),
            (features.names[rows, columns] > 0).astype(np.float32),
            row_rank,
            document_cosine,
        ],
        axis=1,
    )
    unmatched = unmatched_evidence(pairs, texts.source, texts.target, texts.source_language, texts.target_language,
                                   dictionary)
    return np.hstack([evidence, unmatched]), words is not None


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / max(float(np.linalg.norm(vector)), 1e-9)


def link_comparable(
    features: PairFeatures,
    target_doc: np.ndarray,
    texts: Texts,
    dictionary: Dictionary | None = None,
    weights: Weights = DEFAULT_WEIGHTS,
    same: float = SAME_PROBABILITY,
    related: float = RELATED_PROBABILITY,
) -> list[Pair]:
    """Comparable-mode links (see the module docstring); target_doc gives each column's document."""
    specific = SpecificNames(texts, target_doc)
    pairs = sorted(set(candidate_pairs(margin(features.combined(weights)), target_doc))
                   | set(specific.candidates(features.names)))
    evidence, with_words = pair_evidence(features, target_doc, pairs, texts, dictionary)
    model = SAME_FACT_MODEL if with_words else SAME_FACT_MODEL_WITHOUT_WORDS
    probability = model.probability(evidence) if pairs else np.zeros(0)
    return choose_links(pairs, probability, evidence, target_doc, texts, dictionary, same, related, specific)


def choose_links(
    pairs: list[tuple[int, int]],
    probability: np.ndarray,
    evidence: np.ndarray,
    target_doc: np.ndarray,
    texts: Texts,
    dictionary: Dictionary | None,
    same: float = SAME_PROBABILITY,
    related: float = RELATED_PROBABILITY,
    specific: SpecificNames | None = None,
    distinct: float = DISTINCT_MARGIN,
) -> list[Pair]:
    """Step 3: a candidate at or above `same` that nothing rules out is "same" when it is the most
    probable of its source sentence's candidates in that document or of its target sentence's
    (so a headline and a body sentence may both state one fact), and so is a mutual most probable
    pair whose margin reaches `distinct`; each source sentence without one in a document gets its best remaining candidate there as "related" if it reaches `related`,
    or, in documents on one topic (TOPIC_COSINE), shares a specific name or is its mutual best
    partner with cosine >= MUTUAL_RELATED_COSINE."""
    specific = specific or SpecificNames(texts, target_doc)
    row_best: dict[tuple[int, int], float] = {}
    column_best: dict[int, float] = {}
    for (row, column), value in zip(pairs, probability.tolist()):
        key = (row, int(target_doc[column]))
        row_best[key] = max(row_best.get(key, 0.0), value)
        column_best[column] = max(column_best.get(column, 0.0), value)
    found: list[Pair] = []
    with_same: set[tuple[int, int]] = set()
    best_other: dict[tuple[int, int], int] = {}
    cosine = evidence[:, FEATURES.index("cosine")] if len(pairs) else np.zeros(0)
    document_cosine = evidence[:, FEATURES.index("document_cosine")] if len(pairs) else np.zeros(0)
    margins = evidence[:, FEATURES.index("margin")] if len(pairs) else np.zeros(0)
    for n in np.argsort(-probability, kind="stable"):
        row, column = pairs[n]
        key = (row, int(target_doc[column]))
        value = float(probability[n])
        if value < same and (key in with_same or key in best_other):
            continue
        best = value >= row_best[key] or value >= column_best[column]
        mutual = value >= row_best[key] and value >= column_best[column]
        if (value >= same and best) or (mutual and margins[n] >= distinct):
            details = _disagreements(texts, row, column, dictionary)
            if not _rules_out(details) and not _attribution(texts, row, column):
                with_same.add(key)
                found.append(Pair(row, column, value, Grade.SAME, value, details))
                continue
        same_topic = document_cosine[n] >= TOPIC_COSINE
        if key not in best_other and (
            value >= related
            or (same_topic and mutual and cosine[n] >= MUTUAL_RELATED_COSINE)
            or (same_topic and specific.shared(row, column))
        ):
            best_other[key] = int(n)
    for key, n in best_other.items():
        if key not in with_same:
            row, column = pairs[n]
            value = float(probability[n])
            found.append(Pair(row, column, value, Grade.RELATED, value, _disagreements(texts, row, column, dictionary)))
    return sorted(found, key=lambda pair: (pair.source, pair.target))


#: A name is specific to a few sentences when at most this share of its document's sentences, or at
#: most SPECIFIC_NAME_COUNT of them, name it (a short report names its subject in most sentences).
SPECIFIC_NAME_SHARE = 0.25
SPECIFIC_NAME_COUNT = 3


class SpecificNames:
    """Names that single out a few sentences (Carter, al-Abadi), unlike those both documents keep naming."""

    def __init__(self, texts: Texts, target_doc: np.ndarray) -> None:
        self.texts = texts
        self.target_doc = target_doc
        self._common: dict[int | None, set[str]] = {}
        self._shared: dict[tuple[int, int], bool] = {}  # step 1 and step 3 ask about the same pairs

    def _common_keys(self, doc: int | None) -> set[str]:
        """Keys of the names found in more than SPECIFIC_NAME_SHARE of a document's sentences (None: the source).

        A name common to both documents is their topic (Russia, Syria); one the report
        repeats but the article names once (Carter) still singles out a sentence there.
        """
        if doc not in self._common:
            if doc is None:
                sentences, language = list(self.texts.source), self.texts.source_language
            else:
                columns = np.flatnonzero(self.target_doc == doc)
                sentences, language = [self.texts.target[c] for c in columns], self.texts.target_language
            counts: dict[str, int] = {}
            for text in sentences:
                for key in {k for t in sentence_terms(text, language).names if t.is_name_like for k in t.keys}:
                    counts[key] = counts.get(key, 0) + 1
            self._common[doc] = {
                key for key, count in counts.items()
                if count > SPECIFIC_NAME_SHARE * len(sentences) and count > SPECIFIC_NAME_COUNT
            }
        return self._common[doc]

    def candidates(self, names: np.ndarray, per_row: int = CANDIDATES) -> list[tuple[int, int]]:
        """Pairs sharing a specific name, up to `per_row` per source sentence and document (most names shared
        first): two sentences about al-Abadi are candidates whatever their embeddings say."""
        pairs = []
        for doc in np.unique(self.target_doc):
            columns = np.flatnonzero(self.target_doc == doc)
            block = names[:, columns]
            for row in np.flatnonzero(block.max(axis=1) > 0) if block.size else []:
                order = [c for c in np.argsort(-block[row]) if block[row, c] > 0]
                found = 0
                for c in order:
                    if self.shared(int(row), int(columns[c])):
                        pairs.append((int(row), int(columns[c])))
                        found += 1
                        if found == per_row:
                            break
        return pairs

    def shared(self, row: int, column: int) -> bool:
        """Whether the two sentences share a name that is not common to both documents."""
        if (row, column) not in self._shared:
            self._shared[row, column] = self._share(row, column)
        return self._shared[row, column]

    def _share(self, row: int, column: int) -> bool:
        doc = int(self.target_doc[column])
        common = self._common_keys(None) & self._common_keys(doc)
        source = tuple(t for t in sentence_terms(self.texts.source[row], self.texts.source_language).names
                       if t.is_name_like and not common & set(t.keys))
        target = tuple(t for t in sentence_terms(self.texts.target[column], self.texts.target_language).names
                       if t.is_name_like and not common & set(t.keys))
        return bool(source and target and shared_terms(source, target))


def _rules_out(details: list[Disagreement]) -> bool:
    """Numbers and dates that disagree rule "same" out; a different place only weighs against it."""
    return any(d.kind is not DisagreementKind.NAME for d in details)


def _disagreements(texts: Texts, row: int, column: int, dictionary: Dictionary | None) -> list[Disagreement]:
    """Numbers, dates and places the two sentences state differently."""
    source, target = texts.source[row], texts.target[column]
    found = disagreements(source, texts.source_language, target, texts.target_language, dictionary)
    place = place_disagreement(source, texts.source_language, target, texts.target_language)
    return found + [place] if place is not None else found


def _attribution(texts: Texts, row: int, column: int) -> bool:
    """Whether the pair is a mere attribution: either sentence only names a source, unless both do and
    name the same one («Об этом сообщает газета "Туой че"» ~ "…was reported in the Tuoi Tre newspaper")."""
    source = texts.source[row], texts.source_language
    target = texts.target[column], texts.target_language
    source_only, target_only = statement(*source).attribution, statement(*target).attribution
    if source_only and target_only:
        return not shared_terms(sentence_terms(*source).names, sentence_terms(*target).names)
    return source_only or target_only
