"""Which target documents share coverage with the source, ranked with a score in [0, 1].

An article covers the same event when at least one of its sentences states one
of the report's facts (a "same" link), the same topic when it has only
"related" links and the two documents' mean embeddings are at least
TOPIC_COSINE alike, and is unrelated otherwise. A document's score mixes how much of each side its sentence links cover,
how close the two documents' mean embeddings are, and how many names they
share (names matched across scripts, see evidence.py).
"""

from __future__ import annotations

import numpy as np

from crosswire.types import DEFAULT_ROLES, Alignment, Coverage, Grade, RankedDocument, Role
from crosswire_server.alignment.comparable import TOPIC_COSINE
from crosswire_server.alignment.embeddings import Embedder
from crosswire_server.alignment.evidence import Term, sentence_terms, shared_terms
from crosswire_server.alignment.inputs import eligible

#: Weights of sentence-link coverage, document-embedding similarity and shared
#: names in the document score (they add up to 1).
COVERAGE_WEIGHT = 0.6
CENTROID_WEIGHT = 0.2
NAMES_WEIGHT = 0.2
#: Related links count this much towards coverage.
RELATED_CREDIT = 0.5


def _eligible_texts(alignment: Alignment, document: int | None, roles: frozenset[Role]) -> list[str]:
    doc = alignment.source if document is None else alignment.targets[document]
    return [doc.sentences[i].text for i in eligible(doc, roles)]


def _distinct_names(texts: list[str], language: str) -> list[Term]:
    seen: dict[tuple[str, ...], Term] = {}
    for text in texts:
        for term in sentence_terms(text, language).names:
            if term.is_name_like:
                seen.setdefault(term.keys, term)
    return list(seen.values())


def _centroid(embedder: Embedder, texts: list[str]) -> np.ndarray:
    mean = embedder.encode(texts).mean(axis=0)
    return mean / max(float(np.linalg.norm(mean)), 1e-9)


def rank_documents(alignment: Alignment, embedder: Embedder, roles: frozenset[Role] = DEFAULT_ROLES) -> list[RankedDocument]:
    """Target documents ranked best first by the coverage they share with the source."""
    source_texts = _eligible_texts(alignment, None, roles)
    source_names = _distinct_names(source_texts, alignment.source.language)
    source_centroid = _centroid(embedder, source_texts)
    ranked = []
    for k, name in enumerate(alignment.target_names):
        texts = _eligible_texts(alignment, k, roles)
        links = [link for link in alignment.links if link.target_doc == k]
        same_source = {i for link in links if link.grade is Grade.SAME for i in link.source}
        related_source = {i for link in links for i in link.source} - same_source
        same_target = {j for link in links if link.grade is Grade.SAME for j in link.target}
        source_cover = (len(same_source) + RELATED_CREDIT * len(related_source)) / len(source_texts)
        target_cover = len(same_target) / len(texts)
        coverage = float(np.sqrt(source_cover * target_cover))
        centroid = max(0.0, float(source_centroid @ _centroid(embedder, texts)))
        target_names = _distinct_names(texts, alignment.targets[k].language)
        shared = shared_terms(tuple(source_names), tuple(target_names))
        name_total = len(source_names) + len(target_names)
        names = 2 * len(shared) / name_total if name_total else 0.0
        score = COVERAGE_WEIGHT * coverage + CENTROID_WEIGHT * centroid + NAMES_WEIGHT * names
        ranked.append(
            RankedDocument(
                target_doc=k,
                name=name,
                score=round(score, 4),
                linked_source=len(same_source),
                linked_target=len(same_target),
                shared_names=[target for _, target in shared],
                coverage=(
                    Coverage.SAME_EVENT if same_source
                    else Coverage.SAME_TOPIC if links and centroid >= TOPIC_COSINE
                    else Coverage.UNRELATED
                ),
                related_source=len(related_source),
            )
        )
    return sorted(ranked, key=lambda doc: (-doc.score, doc.target_doc))
