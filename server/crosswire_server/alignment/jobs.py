"""Texts in, alignment out: validation, segmentation, optional machine translation, alignment.

Shared by the gRPC servicer and the in-process command line, so both treat a
request the same way. Translation is asynchronous (the translation engine
batches across requests); segmentation and alignment run in a worker thread,
which gives up soon after the awaiting task is cancelled (client gone, deadline).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from crosswire.types import ALIGNMENT_LANGUAGES, DEFAULT_ROLES, Alignment, AlignMode, Comparison, Document, Role
from crosswire_server.alignment.aligner import Aligner
from crosswire_server.alignment.inputs import by_sentence, eligible, prepare
from crosswire_server.budget import MemoryBudget, current_reservation, in_thread
from crosswire_server.errors import InvalidInput, Overloaded

T = TypeVar("T")

#: Memory an Align or Compare takes per (source, target) sentence pair while it scores them: several
#: float32 pair matrices (features, combined score, margin). tracemalloc's peak of Aligner.align,
#: comparable mode with translations, 1,000 x 6,000 sentences: 194 MiB, 34 B a pair; 48 leaves room
#: for the allocator (1,000 x 4,000 sentences, the most the default limits allow: 183 MiB).
PAIR_BYTES = 48
#: ... and per source sentence and target document: each row's candidates in each document, with their
#: evidence. `python benchmarks/align_rows.py`, tracemalloc's peak of Aligner.align, 1,000 source sentences
#: against 5,000 in 5, 50, 100 and 200 documents: 153, 199, 259 and 373 MiB, 1.05-1.2 KiB more per row
#: and document; charged 1 KiB beside PAIR_BYTES (234, 278, 327 and 424 MiB).
ROW_DOCUMENT_BYTES = 1024


def alignment_bytes(rows: int, pairs: int, documents: int) -> int:
    """What scoring `pairs` sentence pairs of `rows` source sentences against `documents` targets takes."""
    return pairs * PAIR_BYTES + rows * documents * ROW_DOCUMENT_BYTES


#: Translates sentences one-to-one: (sentences, source language, target language) -> translations.
TranslateFn = Callable[[list[str], str, str], Awaitable[list[str]]]


def in_batches(translate: TranslateFn, size: int) -> TranslateFn:
    """A translate function that sends at most `size` sentences per call (the engine's max_texts)."""

    async def batched(sentences: list[str], source: str, target: str) -> list[str]:
        done: list[str] = []
        for start in range(0, len(sentences), size):
            done += await translate(sentences[start : start + size], source, target)
        return done

    return batched


async def _stoppable(work: Callable[[threading.Event], T]) -> T:
    """Run `work(stop)` in a worker thread; when the awaiting task is cancelled, set `stop` so the thread lets go."""
    stop = threading.Event()
    try:
        return await in_thread(work, stop)
    except asyncio.CancelledError:
        stop.set()
        raise


@dataclass(frozen=True)
class AlignJob:
    """One Align or Compare request, as plain values."""

    source: str
    targets: Sequence[str]
    names: Sequence[str] | None = None
    source_language: str = "ru"
    target_language: str = "en"
    mode: AlignMode = AlignMode.COMPARABLE
    presegmented: bool = False
    roles: frozenset[Role] = field(default=DEFAULT_ROLES)


def _language(value: str, default: str, field_name: str) -> str:
    language = value or default
    if language not in ALIGNMENT_LANGUAGES:
        raise InvalidInput(f"{field_name}: {language!r} is not supported; use one of {', '.join(ALIGNMENT_LANGUAGES)}")
    return language


async def _prepare(aligner: Aligner, job: AlignJob, targets_field: str) -> tuple[Document, list[Document]]:
    """Check what can be checked before segmenting, then segment every text off the event loop."""
    source_language = _language(job.source_language, "ru", "source_language")
    target_language = _language(job.target_language, "en", "target_language")
    aligner.limits.check_targets(len(job.targets), targets_field)

    def segment_all() -> tuple[Document, list[Document]]:
        return (
            prepare(job.source, source_language, job.presegmented),
            [prepare(text, target_language, job.presegmented) for text in job.targets],
        )

    return await in_thread(segment_all)


async def _translations(
    aligner: Aligner, source: Document, target_language: str, roles: frozenset[Role], translate: TranslateFn | None
) -> list[str] | None:
    """Machine translations of the source's sentences (by index), or None without a translator."""
    indices = eligible(source, roles)
    if translate is None or not indices or len(source.sentences) > aligner.limits.max_sentences_per_document:
        return None
    texts = await translate([source.sentences[i].text for i in indices], source.language, target_language)
    return by_sentence(source, indices, texts)


def pair_charge(aligner: Aligner, job: AlignJob, source: Document, targets: list[Document],
                budget: MemoryBudget | None) -> contextlib.AbstractContextManager:
    """Reserve PAIR_BYTES per sentence pair that takes part and ROW_DOCUMENT_BYTES per source sentence and
    target document, once the texts are segmented and before the pair matrices exist, beside what the request
    holds already (its estimate at the door, grown by its sentences); a request over its own limits is refused
    as such, never as an overload."""
    if budget is None:
        return contextlib.nullcontext()
    rows = len(eligible(source, job.roles))
    pairs = rows * sum(len(eligible(target, job.roles)) for target in targets)
    try:
        door = current_reservation()
        return budget.reserve(alignment_bytes(rows, pairs, len(targets)), beside=door.size if door else 0,
                              first=door.first if door else 0)
    except (Overloaded, InvalidInput):
        aligner.validate(source, targets, list(job.names or [""] * len(targets)), job.roles)
        raise


async def align_texts(aligner: Aligner, job: AlignJob, translate: TranslateFn | None = None,
                      budget: MemoryBudget | None = None) -> Alignment:
    """Segment, translate (when a translator is given) and align, charging `budget` for the sentence pairs."""
    source, targets = await _prepare(aligner, job, "targets")
    with pair_charge(aligner, job, source, targets, budget):
        translations = await _translations(aligner, source, targets[0].language, job.roles, translate)
        return await _stoppable(
            lambda stop: aligner.align(source, targets, job.mode, job.names, translations, job.roles, stop)
        )


async def compare_texts(aligner: Aligner, job: AlignJob, translate: TranslateFn | None = None,
                        budget: MemoryBudget | None = None) -> Comparison:
    """Segment, translate (when a translator is given), align and rank, charging `budget` for the pairs."""
    report, articles = await _prepare(aligner, job, "articles")
    with pair_charge(aligner, job, report, articles, budget):
        translations = await _translations(aligner, report, articles[0].language, job.roles, translate)
        return await _stoppable(
            lambda stop: aligner.compare(report, articles, job.names, translations, job.roles, stop))
