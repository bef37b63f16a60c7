"""The alignment engine: segmented documents in, links, unaligned sentences and rankings out.

`Aligner.align` links a source document with one or more target documents,
in parallel (monotone) or comparable (non-monotone) mode; `Aligner.compare`
adds the document ranking and the side-by-side rows of a report against
candidate articles. Only sentences with the requested roles that are not
duplicates take part (by default headline and body).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from crosswire.types import (
    DEFAULT_ROLES,
    Alignment,
    AlignMode,
    CompareRow,
    Comparison,
    Document,
    Evidence,
    Grade,
    Link,
    Role,
    SentenceRef,
    SharedTerm,
)
from crosswire_server.alignment.comparable import Pair, Texts, link_comparable
from crosswire_server.alignment.dictionary import Dictionary, load_dictionary
from crosswire_server.alignment.documents import rank_documents
from crosswire_server.alignment.embeddings import Embedder, default_embedder
from crosswire_server.alignment.evidence import sentence_terms, shared_terms
from crosswire_server.alignment.inputs import by_sentence, eligible
from crosswire_server.alignment.parallel import align_monotone
from crosswire_server.alignment.scoring import DEFAULT_WEIGHTS, PairFeatures, Weights, pair_features
from crosswire_server.errors import InvalidInput, Stopped
from crosswire_server.segmentation import Identification, check_declared

if TYPE_CHECKING:
    from crosswire_server.config import ServerConfig

#: Machine translations of source sentences: a list (one per source sentence,
#: by index) or a function translating a list of sentences.
Translations = Sequence[str] | Callable[[list[str]], list[str]]

#: Parallel-mode links scoring at least this are graded "same", the rest "related".
PARALLEL_SAME_SCORE = 0.5


@dataclass(frozen=True)
class AlignmentLimits:
    """Request sizes the engine accepts; larger requests fail with InvalidInput."""

    max_targets: int = 200
    max_sentences_per_document: int = 1000
    max_target_sentences: int = 4000
    #: Source sentences taking part times target documents: each row's candidates in each document cost memory
    #: (alignment/jobs.py, ROW_DOCUMENT_BYTES) and time (1,000 against 200 documents: 208 s of CPU, against
    #: 29 s in 5 documents for the same pairs; `python benchmarks/align_rows.py`).
    max_source_by_targets: int = 50_000

    @classmethod
    def from_config(cls, config: ServerConfig) -> AlignmentLimits:
        """The limits a server (or the in-process command line) is configured with."""
        return cls(config.max_align_targets, config.max_align_sentences, config.max_align_target_sentences,
                   config.max_align_source_by_targets)

    def check_targets(self, count: int, field: str = "targets") -> None:
        """Refuse no target document or more than max_targets, naming the request's field."""
        if not count:
            raise InvalidInput(f"{field}: at least one target document is required")
        if count > self.max_targets:
            raise InvalidInput(f"{field}: {count} documents, the limit is {self.max_targets}")


@dataclass
class _Side:
    """The sentences of one side that take part, and where they come from."""

    language: str
    texts: list[str]
    document: list[int]
    index: list[int]


class Aligner:
    """Links sentences across languages; holds the embedder (and its cache) between calls."""

    def __init__(
        self,
        embedder: Embedder | None = None,
        limits: AlignmentLimits = AlignmentLimits(),
        weights: Weights = DEFAULT_WEIGHTS,
        dictionary: Dictionary | None | bool = True,
    ) -> None:
        """`dictionary`: True loads the installed one (see dictionary.py), False or None goes without."""
        self.embedder = embedder or default_embedder()
        self.limits = limits
        self.weights = weights
        self.dictionary = load_dictionary() if dictionary is True else (dictionary or None)

    def align(
        self,
        source: Document,
        targets: Sequence[Document],
        mode: AlignMode = AlignMode.COMPARABLE,
        names: Sequence[str] | None = None,
        translations: Translations | None = None,
        roles: frozenset[Role] = DEFAULT_ROLES,
        stop: threading.Event | None = None,
        **parallel_options: float,
    ) -> Alignment:
        """Link the source's sentences with those of every target document.

        Setting `stop` (from another thread) abandons the work with Stopped at
        the next chunk of sentences. `parallel_options` (skip, merge_penalty)
        override the monotone aligner's constants; they exist for calibration.
        """
        mode = AlignMode(mode)
        names = list(names) if names is not None else [f"target {k}" for k in range(len(targets))]
        self.validate(source, targets, names, roles)
        source_side = _Side(source.language, *self._collect([source], roles))
        target_side = _Side(targets[0].language, *self._collect(targets, roles))
        translated = self._translate(source, source_side, translations)
        features = pair_features(
            self.embedder, source_side.texts, target_side.texts,
            source.language, targets[0].language, translated, stop,
        )
        if mode is AlignMode.PARALLEL:
            links = self._parallel(source, targets, source_side, target_side, features, translated, stop,
                                   parallel_options)
        else:
            links = self._comparable(source_side, target_side, features, translated)
        return _result(source, targets, names, mode, links, roles)

    def compare(
        self,
        report: Document,
        articles: Sequence[Document],
        names: Sequence[str] | None = None,
        translations: Translations | None = None,
        roles: frozenset[Role] = DEFAULT_ROLES,
        stop: threading.Event | None = None,
    ) -> Comparison:
        """Rank articles by shared coverage and build the side-by-side rows.

        "Only in the report" and "only in the coverage" hold the sentences no
        "same" link covers (a related sentence does not report the same thing);
        the latter only for articles that share at least one "same" link.
        """
        if translations is not None and not isinstance(translations, Sequence):
            translations = _translate_all(report, roles, translations)
        alignment = self.align(report, articles, AlignMode.COMPARABLE, names, translations, roles, stop)
        documents = rank_documents(alignment, self.embedder, roles)
        by_source: dict[int, list[Link]] = {}
        for link in alignment.links:
            for i in link.source:
                by_source.setdefault(i, []).append(link)
        rank = {doc.target_doc: position for position, doc in enumerate(documents)}
        rows = [
            CompareRow(
                source=i,
                text=report.sentences[i].text,
                translation=translations[i] if translations is not None else None,
                matches=sorted(by_source.get(i, []), key=lambda link: (link.grade is not Grade.SAME, rank[link.target_doc], -link.score)),
            )
            for i in eligible(report, roles)
        ]
        same = [link for link in alignment.links if link.grade is Grade.SAME]
        same_source = {i for link in same for i in link.source}
        same_targets = {(link.target_doc, j) for link in same for j in link.target}
        only_in_coverage = [
            SentenceRef(k, j)
            for k, article in enumerate(articles)
            for j in eligible(article, roles)
            if (k, j) not in same_targets and documents[rank[k]].linked_source > 0
        ]
        return Comparison(
            alignment=alignment,
            documents=documents,
            rows=rows,
            only_in_report=[row.source for row in rows if row.source not in same_source],
            only_in_coverage=only_in_coverage,
        )

    def validate(self, source: Document, targets: Sequence[Document], names: list[str], roles: frozenset[Role]) -> None:
        """InvalidInput, naming the field and limit, for a request align and compare would refuse."""
        limits = self.limits
        limits.check_targets(len(targets))
        if len(names) != len(targets):
            raise InvalidInput(f"names: {len(names)} names for {len(targets)} target documents")
        if len({t.language for t in targets}) > 1:
            raise InvalidInput("targets: all target documents must have the same language")
        rows = total = 0  # sentences taking part: the source's, and all targets' together
        for field, document in [("source", source), *((f"targets[{k}]", t) for k, t in enumerate(targets))]:
            count = len(eligible(document, roles))
            if count == 0:
                wanted = ", ".join(sorted(role.value for role in roles))
                raise InvalidInput(f"{field}: the document has no sentence to align (empty, or no {wanted} sentences)")
            if len(document.sentences) > limits.max_sentences_per_document:
                raise InvalidInput(
                    f"{field}: {len(document.sentences)} sentences, the limit is "
                    f"{limits.max_sentences_per_document} per document"
                )
            known = Identification(document.detected_language, document.language_confidence)
            check_declared(document.text, document.language, field, known if document.detected_language else None)
            if field == "source":
                rows = count
            else:
                total += count
        if total > limits.max_target_sentences:
            raise InvalidInput(
                f"targets: {total} sentences in all, the limit is {limits.max_target_sentences}"
            )
        if rows * len(targets) > limits.max_source_by_targets:
            raise InvalidInput(
                f"source: {rows} sentences against {len(targets)} target documents ({rows * len(targets)}), over "
                f"the limit max_align_source_by_targets={limits.max_source_by_targets}; send fewer documents a "
                "request", field="source", limit="max_align_source_by_targets")

    @staticmethod
    def _collect(documents: Sequence[Document], roles: frozenset[Role]) -> tuple[list[str], list[int], list[int]]:
        texts, docs, indices = [], [], []
        for k, document in enumerate(documents):
            for i in eligible(document, roles):
                texts.append(document.sentences[i].text)
                docs.append(k)
                indices.append(i)
        return texts, docs, indices

    @staticmethod
    def _translate(source: Document, side: _Side, translations: Translations | None) -> list[str] | None:
        """Translations of the source sentences that take part, in their order."""
        if translations is None:
            return None
        if callable(translations):
            return list(translations(side.texts))
        if len(translations) != len(source.sentences):
            raise InvalidInput(
                f"translations: {len(translations)} given for {len(source.sentences)} source sentences"
            )
        return [translations[i] for i in side.index]

    def _comparable(self, source: _Side, target: _Side, features: PairFeatures,
                    translated: list[str] | None) -> list[Link]:
        texts = Texts(source.texts, target.texts, source.language, target.language, translated)
        pairs = link_comparable(features, np.array(target.document, dtype=np.int64), texts, self.dictionary,
                                self.weights)
        return [
            self._link(source, target, features, [p.source], [p.target], p.score, p.grade, p)
            for p in pairs
        ]

    def _parallel(
        self,
        source_doc: Document,
        targets: Sequence[Document],
        source: _Side,
        target: _Side,
        features: PairFeatures,
        translated: list[str] | None,
        stop: threading.Event | None,
        options: dict[str, float],
    ) -> list[Link]:
        """Monotone alignment with each target document in turn."""
        links = []
        source_pairs = _adjacent(source.texts)
        translated_pairs = _adjacent(translated) if translated is not None else None
        for k, document in enumerate(targets):
            Stopped.check(stop)
            columns = [c for c, doc in enumerate(target.document) if doc == k]
            texts = [target.texts[c] for c in columns]
            target_pairs = _adjacent(texts)
            one_one = features.combined(self.weights)[:, columns]
            one_two = self._scores(source.texts, target_pairs, source_doc, document, translated, stop)
            two_one = self._scores(source_pairs, texts, source_doc, document, translated_pairs, stop)
            for bead in align_monotone(one_one, one_two, two_one, **options):
                grade = Grade.SAME if bead.score >= PARALLEL_SAME_SCORE else Grade.RELATED
                links.append(
                    self._link(source, target, features, list(bead.source), [columns[j] for j in bead.target], bead.score, grade)
                )
        return links

    def _scores(self, source: list[str], target: list[str], source_doc: Document, target_doc: Document,
                translated: list[str] | None, stop: threading.Event | None) -> np.ndarray:
        if not source or not target:
            return np.zeros((len(source), len(target)), dtype=np.float32)
        features = pair_features(self.embedder, source, target, source_doc.language, target_doc.language, translated,
                                 stop)
        return features.combined(self.weights)

    def _link(
        self,
        source: _Side,
        target: _Side,
        features: PairFeatures,
        rows: list[int],
        columns: list[int],
        score: float,
        grade: Grade,
        pair: Pair | None = None,
    ) -> Link:
        """A link between source rows and target columns of the feature matrices (`pair`: comparable mode's)."""
        block = np.ix_(rows, columns)
        source_text = " ".join(source.texts[r] for r in rows)
        target_text = " ".join(target.texts[c] for c in columns)
        source_terms = sentence_terms(source_text, source.language)
        target_terms = sentence_terms(target_text, target.language)
        translation = None if features.translation is None else float(features.translation[block].max())
        return Link(
            source=[source.index[r] for r in rows],
            target_doc=target.document[columns[0]],
            target=[target.index[c] for c in columns],
            score=round(float(score), 4),
            grade=grade,
            evidence=Evidence(
                embedding_similarity=round(float(features.cosine[block].max()), 4),
                translation_similarity=None if translation is None else round(translation, 4),
                names=[SharedTerm(a, b) for a, b in shared_terms(source_terms.names, target_terms.names)],
                numbers=[SharedTerm(a, b) for a, b in shared_terms(source_terms.numbers, target_terms.numbers, fuzzy=False)],
                words=self._shared_words(source_text, source.language, target_text, target.language),
                disagreements=pair.disagreements if pair is not None else [],
                same_probability=None if pair is None else round(pair.probability, 4),
            ),
        )


    def _shared_words(self, source_text: str, source_language: str, target_text: str, target_language: str,
                      ) -> list[SharedTerm]:
        """Words the dictionary translates into each other, as each side writes them."""
        if self.dictionary is None or {source_language, target_language} != {"ru", "en"}:
            return []
        if source_language == "ru":
            return [SharedTerm(a, b) for a, b in self.dictionary.word_pairs(source_text, target_text)]
        return [SharedTerm(b, a) for a, b in self.dictionary.word_pairs(target_text, source_text)]


def _adjacent(texts: list[str]) -> list[str]:
    """Each sentence joined with the next one (the candidates for 1-2 and 2-1 links)."""
    return [f"{a} {b}" for a, b in zip(texts, texts[1:])]


def _translate_all(report: Document, roles: frozenset[Role], translate: Callable[[list[str]], list[str]]) -> list[str]:
    """Translations for every report sentence: the eligible ones translated, the others left empty."""
    indices = eligible(report, roles)
    return by_sentence(report, indices, translate([report.sentences[i].text for i in indices]))


def _result(
    source: Document,
    targets: Sequence[Document],
    names: list[str],
    mode: AlignMode,
    links: list[Link],
    roles: frozenset[Role],
) -> Alignment:
    linked_source = {i for link in links for i in link.source}
    linked_targets = {(link.target_doc, j) for link in links for j in link.target}
    return Alignment(
        source=source,
        targets=list(targets),
        target_names=names,
        mode=mode,
        links=links,
        roles=roles,
        unaligned_source=[i for i in eligible(source, roles) if i not in linked_source],
        unaligned_targets=[
            [j for j in eligible(t, roles) if (k, j) not in linked_targets] for k, t in enumerate(targets)
        ],
    )
