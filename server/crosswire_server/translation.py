"""The translation pipeline: texts → sentences → pieces → batched CTranslate2 → reassembled text.

All sentences of one request (of every text in it) go to the model's batch
scheduler together, where they also meet the sentences of concurrent requests.
"""

from __future__ import annotations

import asyncio
import re
import sys
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from crosswire.types import (
    DEFAULT_ROLES,
    Document,
    Hypothesis,
    LanguagePair,
    ModelInfo,
    Role,
    Sentence,
    TranslatedSegment,
    Translation,
)

from crosswire_server.access import cache_partition, charge_sentences
from crosswire_server.batching import BatchScheduler, DecodeOptions, Decoded
from crosswire_server.budget import in_thread
from crosswire_server.cache import CacheStats, TranslationCache
from crosswire_server.config import ServerConfig
from crosswire_server.engine import LoadedModel, load_models
from crosswire_server.errors import InvalidInput, NotReady, UnsupportedPair
from crosswire_server.segmentation import Identification, check_declared, has_letters, identify, segment

if TYPE_CHECKING:  # prometheus_client is imported only when metrics are on
    from crosswire_server.metrics import Metrics

DEFAULT_TARGET = "en"
_WHITESPACE = re.compile(r"\s+")
# A long sentence is preferably cut after one of these (clause punctuation).
_CLAUSE_END = (",", ";", ":", ".", "!", "?", "，", "；", "：", "、", "。", ")", "»", "\"")


def cached_bytes(key: tuple, value: Decoded) -> int:
    """About what a cache entry holds: its key's text and every piece of every hypothesis, as Python objects."""
    pieces = [piece for hypothesis in value.hypotheses for piece in hypothesis]
    return (sys.getsizeof(key[-1]) + sum(map(sys.getsizeof, pieces)) + 8 * len(pieces)
            + 64 * len(value.hypotheses) + 16 * len(value.scores or ()) + 200)


def split_long(tokens: list[str], limit: int) -> list[list[str]]:
    """Cut a piece sequence into chunks of at most `limit`, at clause or word boundaries."""
    chunks: list[list[str]] = []
    while len(tokens) > limit:
        window = tokens[:limit]
        cut = next(
            (i + 1 for i in range(limit - 1, limit // 2, -1) if window[i].endswith(_CLAUSE_END)),
            None,
        ) or next((i for i in range(limit - 1, 0, -1) if window[i].startswith("▁")), limit)
        chunks.append(tokens[:cut])
        tokens = tokens[cut:]
    chunks.append(tokens)
    return chunks


def join_layout(text: str, spans: list[tuple[int, int, str]]) -> str:
    """Join translated spans with the source's widest line break between them (else one space).

    The widest break, not the sum: an untranslated paragraph in between (a
    caption, a "Read also" link) must not leave a hole in the translation.
    """
    parts: list[str] = []
    previous_end: int | None = None
    for start, end, translated in spans:
        if previous_end is not None:
            newlines = max((run.count("\n") for run in _WHITESPACE.findall(text, previous_end, start)), default=0)
            parts.append("\n" * newlines if newlines else " ")
        parts.append(translated)
        previous_end = end
    return "".join(parts)


@dataclass
class _Text:
    """One text of a request on its way through the pipeline."""

    document: Document
    model: LoadedModel | None
    identified: Identification = Identification("", 0.0)
    selected: list[Sentence] = field(default_factory=list)
    chunks: dict[int, list[list[str]]] = field(default_factory=dict)
    decoded: dict[int, list[Decoded]] = field(default_factory=dict)


class TranslationEngine:
    """Translates texts with the loaded models; the one object the gRPC layer and CLI talk to."""

    def __init__(self, config: ServerConfig, models: list[LoadedModel]) -> None:
        self.config = config
        self._models = {model.name: model for model in models}
        self._schedulers: dict[str, BatchScheduler] = {}
        self._cache: TranslationCache[Decoded] = TranslationCache(config.cache_size, config.cache_bytes, cached_bytes)
        self._metrics: Metrics | None = None

    @classmethod
    def load(cls, config: ServerConfig) -> TranslationEngine:
        """Load every model installed in config.models_dir."""
        return cls(config, load_models(config))

    def models(self) -> list[ModelInfo]:
        return [model.info() for model in self._models.values()]

    def pairs(self) -> list[LanguagePair]:
        return sorted({pair for model in self._models.values() for pair in model.pairs}, key=str)

    def observe(self, metrics: Metrics) -> None:
        """Report batches, queue depth and cache counters to `metrics` (call before translating)."""
        self._metrics = metrics
        metrics.watch(self)

    def queue_depths(self) -> dict[str, tuple[int, int]]:
        """Per model: (sentences queued, batches being translated)."""
        return {name: (s.queued, s.running) for name, s in list(self._schedulers.items())}

    def cache_stats(self) -> CacheStats:
        return self._cache.stats()

    def scheduler(self, model: LoadedModel) -> BatchScheduler:
        """The model's batch scheduler, created on first use inside the running loop."""
        if model.name not in self._schedulers:
            inter, _ = self.config.threads(model.device)
            metrics = self._metrics
            self._schedulers[model.name] = BatchScheduler(
                model.translator,
                batch_tokens=self.config.batch_tokens,
                window_s=self.config.batch_window_ms / 1000,
                max_queued=self.config.max_queued_sentences,
                max_input_tokens=self.config.max_input_tokens,
                parallel_batches=inter,
                on_batch=(lambda *batch: metrics.observe_batch(model.name, *batch)) if metrics else None,
            )
        return self._schedulers[model.name]

    def decode_options(
        self,
        beam_size: int = 0,
        num_hypotheses: int = 0,
        return_scores: bool = False,
        max_decoding_length: int = 0,
    ) -> DecodeOptions:
        """Fill in defaults (0 = default) and check the request's options against the limits."""
        config = self.config
        beam = beam_size or config.beam_size
        if beam > config.max_beam_size:
            raise InvalidInput(f"options.beam_size={beam} is over the limit max_beam_size={config.max_beam_size}")
        hypotheses = num_hypotheses or 1
        if hypotheses > beam:
            raise InvalidInput(f"options.num_hypotheses={hypotheses} must not exceed beam_size={beam}")
        length = max_decoding_length or config.max_decoding_length
        if length > config.max_decoding_length:
            raise InvalidInput(
                f"options.max_decoding_length={length} is over the limit "
                f"max_decoding_length={config.max_decoding_length}"
            )
        return DecodeOptions(beam, hypotheses, return_scores, length)

    def check_limits(self, texts: Sequence[str]) -> None:
        """Reject requests with too many texts or characters, naming the limit."""
        if len(texts) > self.config.max_texts:
            raise InvalidInput(f"{len(texts)} texts is over the limit max_texts={self.config.max_texts}")
        chars = sum(len(text) for text in texts)
        if chars > self.config.max_chars:
            raise InvalidInput(f"{chars} characters is over the limit max_chars={self.config.max_chars}")

    def pick_model(self, source: str, target: str, name: str = "") -> LoadedModel:
        """The named model, or the default one for source→target; errors list what exists."""
        if not self._models:
            raise NotReady("no translation model is loaded; install one with `crosswire models fetch|import`")
        pair = LanguagePair(source, target)
        available = ", ".join(map(str, self.pairs()))
        if name:
            model = self._models.get(name)
            if model is None:
                raise InvalidInput(f"model={name!r} is not installed; installed: {', '.join(self._models)}")
            if pair not in model.pairs:
                raise UnsupportedPair(f"model {name!r} does not translate {pair}; it translates "
                                      + ", ".join(map(str, model.pairs)))
            return model
        candidates = [m for m in self._models.values() if pair in m.pairs]
        if not candidates:
            raise UnsupportedPair(f"no installed model translates {pair}; available pairs: {available}")
        return next((m for m in candidates if m.is_default), candidates[0])

    def _source_language(self, text: str, index: int, source: str, target: str, name: str,
                         presegmented: bool) -> tuple[str, Identification]:
        """The language to translate from, and what the identifier found in the text.

        A declared language stands unless a whole text (not one presegmented
        sentence, which may be a quotation) is confidently in another one.
        Without one, the identified language is used only when the identifier
        is sure of it and a model translates it: never the only model there is.
        """
        field_name = f"texts[{index}]"
        if source:
            self.pick_model(source, target, name)  # a missing model for the pair is said first
            return source, identify(text) if presegmented else check_declared(text, source, field_name)
        found = identify(text)
        models = [self._models[name]] if name in self._models else list(self._models.values())
        sources = sorted({p.source for m in models for p in m.pairs if p.target == target})
        installed = ", ".join(map(str, self.pairs())) or "none"
        if not has_letters(text) and len(sources) == 1:
            return sources[0], found  # no letters (numbers, punctuation): nothing to mistranslate
        if not found.sure:
            guess = f"best guess {found}" if found.language else "too little text"
            raise InvalidInput(
                f"{field_name}: could not identify the source language ({guess}); "
                f"set source_language; installed pairs: {installed}"
            )
        if found.language not in sources:
            raise UnsupportedPair(
                f"{field_name}: the text is in {found} and no installed model translates "
                f"{found.language}->{target}; installed pairs: {installed}"
            )
        return found.language, found

    async def translate(
        self,
        texts: Sequence[str],
        source: str = "",
        target: str = "",
        model: str = "",
        options: DecodeOptions | None = None,
        presegmented: bool = False,
        roles: Collection[Role] | None = None,
        translate_duplicates: bool = False,
    ) -> list[Translation]:
        """Translate texts (documents or, with presegmented, sentences); one result per text."""
        self.check_limits(texts)
        target = target or DEFAULT_TARGET
        options = options or self.decode_options()
        roles = frozenset(roles) if roles else DEFAULT_ROLES
        # Segmentation and tokenisation are CPU work: off the event loop, so other requests keep flowing.
        jobs = await in_thread(
            self._prepare_all, texts, source, target, model, presegmented, roles, translate_duplicates
        )
        # The caller's sentence rate (access.py) is charged once the sentences are known, before any decoding.
        charge_sentences(sum(len(job.selected) for job in jobs))
        await self._decode(jobs, options)
        return [self._result(job, target, translate_duplicates) for job in jobs]

    async def translate_sentences(self, sentences: Sequence[str], source: str, target: str = "") -> list[str]:
        """Translate sentences one-to-one (used by alignment for its translation signal)."""
        results = await self.translate(sentences, source=source, target=target, presegmented=True)
        return [result.text for result in results]

    def _prepare_all(self, texts: Sequence[str], source: str, target: str, name: str, presegmented: bool,
                     roles: frozenset[Role], translate_duplicates: bool) -> list[_Text]:
        """Segment every text, refuse a request that could never be queued, then tokenise.

        The limit is checked after each text's segmentation and before any tokenising
        or decoding: a request over it is refused after the cheapest step only.
        """
        jobs: list[_Text] = []
        distinct: dict[str, set[str]] = defaultdict(set)
        for i, text in enumerate(texts):
            job = self._segment(text, i, source, target, name, presegmented, roles, translate_duplicates)
            if job.model is not None:
                sentences = distinct[job.model.name]
                sentences.update(s.text for s in job.selected)
                self.check_sentences(len(sentences), len(texts))
            jobs.append(job)
        for job in jobs:
            self._tokenize(job)
        return jobs

    def check_sentences(self, count: int, texts: int = 1) -> None:
        """Refuse a request with more distinct sentences for one model than its queue ever holds (INVALID_ARGUMENT).

        A full queue is worth retrying (RESOURCE_EXHAUSTED); a request larger than the
        whole queue never is, however idle the server.
        """
        limit = self.config.max_queued_sentences
        if count > limit:
            where = "the request's texts" if texts > 1 else "the text"
            raise InvalidInput(
                f"{where} hold at least {count} distinct sentences to translate, over the limit "
                f"max_queued_sentences={limit} (the most one model queues): it could never be queued; "
                "send the text in smaller parts", limit="max_queued_sentences")

    def _segment(self, text: str, index: int, source: str, target: str, name: str,
                 presegmented: bool, roles: frozenset[Role], translate_duplicates: bool) -> _Text:
        if not text.strip():
            return _Text(Document(text, source, []), None)
        language, found = self._source_language(text, index, source, target, name, presegmented)
        model = self.pick_model(language, target, name)
        document = _single_sentence(text, language) if presegmented else segment(text, language)
        job = _Text(document, model, found)
        job.selected = [s for s in document.sentences
                        if s.role in roles and (translate_duplicates or s.duplicate_of is None)]
        return job

    def _tokenize(self, job: _Text) -> None:
        """The selected sentences' pieces, long ones cut into chunks the model accepts."""
        if job.model is None:
            return
        model, limit = job.model, self.config.max_input_tokens
        pieces = model.encode([s.text for s in job.selected]) if job.selected else []
        job.chunks = {s.index: split_long(p, limit) for s, p in zip(job.selected, pieces)}

    async def _decode(self, jobs: list[_Text], options: DecodeOptions) -> None:
        """Send every chunk of every text to its model's scheduler in one go per model."""
        by_model: dict[str, list[tuple[_Text, int]]] = defaultdict(list)
        for job in jobs:
            for sentence_index, chunks in job.chunks.items():
                by_model[job.model.name].append((job, sentence_index))

        async def run(name: str, owners: list[tuple[_Text, int]]) -> None:
            flat = [chunk for job, i in owners for chunk in job.chunks[i]]
            decoded = await self._translate_chunks(self._models[name], flat, options)
            position = 0
            for job, i in owners:
                count = len(job.chunks[i])
                job.decoded[i] = decoded[position:position + count]
                position += count

        await asyncio.gather(*(run(name, owners) for name, owners in by_model.items()))

    async def _translate_chunks(self, model: LoadedModel, chunks: list[list[str]],
                                options: DecodeOptions) -> list[Decoded]:
        """Translate piece sequences, each distinct one once: from the cache, else through the scheduler.

        With cache_per_key, each caller has a partition of its own: a shared one
        would let a client tell by the speed of an answer what another translated.
        """
        partition = cache_partition() if self.config.cache_per_key else ""
        keys = [(model.name, options, partition, " ".join(chunk)) for chunk in chunks]
        found: dict[tuple, Decoded] = {}
        missing: dict[tuple, list[str]] = {}
        for key, chunk in zip(keys, chunks):
            if key in found or key in missing:
                continue
            cached = self._cache.get(key)
            if cached is None:
                missing[key] = chunk
            else:
                found[key] = cached
        self._cache.count_hits(len(keys) - len(found) - len(missing))
        decoded = await self.scheduler(model).translate(list(missing.values()), options)
        for key, result in zip(missing, decoded):
            found[key] = result
            self._cache.put(key, result)
        return [found[key] for key in keys]

    def _result(self, job: _Text, target: str, translate_duplicates: bool) -> Translation:
        document, model = job.document, job.model
        if model is None:
            return Translation("", document.language, target, "", [])
        segments: list[TranslatedSegment] = []
        for sentence in document.sentences:
            decoded = job.decoded.get(sentence.index)
            reused = None
            if decoded is None and not translate_duplicates and sentence.duplicate_of is not None:
                reused = segments[sentence.duplicate_of] if sentence.duplicate_of < len(segments) else None
            if decoded is not None:
                best, alternatives, score = _hypotheses(model, decoded)
                segments.append(_segment(sentence, best, score, alternatives, translated=True))
            elif reused is not None and reused.translated:
                segments.append(_segment(sentence, reused.translation, reused.score, reused.alternatives,
                                         translated=True))
            else:
                segments.append(_segment(sentence, "", None, [], translated=False))
        spans = [(s.start, s.end, s.translation) for s in segments if s.translated and s.translation]
        return Translation(join_layout(document.text, spans), document.language, target, model.name, segments,
                           detected_language=job.identified.language,
                           language_confidence=job.identified.confidence)

    async def close(self) -> None:
        """Let in-flight batches finish and stop the schedulers."""
        await asyncio.gather(*(s.close() for s in self._schedulers.values()))
        self._schedulers.clear()


def _single_sentence(text: str, language: str) -> Document:
    """A presegmented text: the whole text, stripped, is one sentence."""
    start = len(text) - len(text.lstrip())
    end = len(text.rstrip())
    return Document(text, language, [Sentence(0, start, end, text[start:end])])


def _hypotheses(model: LoadedModel, decoded: list[Decoded]) -> tuple[str, list[Hypothesis], float | None]:
    """Join the chunks of one sentence: k-th hypothesis of each chunk, scores summed."""
    count = max(len(d.hypotheses) for d in decoded)
    texts = [" ".join(model.decode(d.hypotheses[min(k, len(d.hypotheses) - 1)]) for d in decoded)
             for k in range(count)]
    scores: list[float | None] = [None] * count
    if all(d.scores is not None for d in decoded):
        scores = [sum(d.scores[min(k, len(d.scores) - 1)] for d in decoded) for k in range(count)]
    alternatives = [Hypothesis(t, s) for t, s in zip(texts[1:], scores[1:])]
    return texts[0], alternatives, scores[0]


def _segment(sentence: Sentence, translation: str, score: float | None,
             alternatives: list[Hypothesis], translated: bool) -> TranslatedSegment:
    return TranslatedSegment(
        start=sentence.start,
        end=sentence.end,
        source=sentence.text,
        translation=translation,
        score=score,
        alternatives=list(alternatives),
        paragraph=sentence.paragraph,
        role=sentence.role,
        translated=translated,
        duplicate_of=sentence.duplicate_of,
    )
