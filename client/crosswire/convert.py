"""Protobuf messages ↔ the typed results of `crosswire.types`, in both directions.

Both directions are client needs, not only the server's: the client reads
responses (`*_from_pb`) and builds requests, and the command prints typed results,
in-process ones too, as the messages' JSON (`*_to_pb`, cli/records.py). The
server's gRPC layer uses the same functions, so the wire format is described in
exactly one place, inside the package a client installs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta, timezone

from google.protobuf import duration_pb2, timestamp_pb2

from crosswire.types import (
    AddResult,
    AddStatus,
    Alignment,
    AlignMode,
    Article,
    CompareRow,
    Comparison,
    Coverage,
    Disagreement,
    DisagreementKind,
    Document,
    Evidence,
    Grade,
    Hypothesis,
    LanguagePair,
    LibrarySelection,
    LibraryStats,
    Link,
    ModelInfo,
    RankedDocument,
    Role,
    SearchHit,
    Sentence,
    SentencePair,
    SentenceRef,
    SharedTerm,
    TranslatedSegment,
    Translation,
)
from crosswire.v1 import alignment_pb2 as al_pb
from crosswire.v1 import article_pb2 as art_pb
from crosswire.v1 import library_pb2 as lib_pb
from crosswire.v1 import segmentation_pb2 as seg_pb
from crosswire.v1 import translation_pb2 as tr_pb


def role_to_pb(role: Role) -> int:
    return seg_pb.SegmentRole.Value("SEGMENT_ROLE_" + role.name)


def role_from_pb(value: int) -> Role:
    name = seg_pb.SegmentRole.Name(value).removeprefix("SEGMENT_ROLE_")
    return Role.BODY if name == "UNSPECIFIED" else Role[name]


def unit_offsets(text: str, spans: Iterable[tuple[int, int]]) -> list[dict[str, int]]:
    """Each (start, end) code-point span of `text` also in UTF-8 bytes and UTF-16 code units.

    The wire carries all three so that callers in Go (bytes) and JavaScript, Java
    or C# (UTF-16) slice their own strings directly. One pass over the text.
    """
    spans = list(spans)
    units: dict[int, tuple[int, int]] = {}
    utf8 = utf16 = previous = 0
    for position in sorted({p for span in spans for p in span}):
        piece = text[previous:position]
        utf8 += len(piece.encode("utf-8", "surrogatepass"))
        utf16 += len(piece.encode("utf-16-le", "surrogatepass")) // 2
        units[position], previous = (utf8, utf16), position
    return [
        {"start_utf8": units[start][0], "end_utf8": units[end][0],
         "start_utf16": units[start][1], "end_utf16": units[end][1]}
        for start, end in spans
    ]


def sentence_to_pb(sentence: Sentence, offsets: dict[str, int] | None = None) -> seg_pb.Sentence:
    """A Sentence message; `offsets` (from unit_offsets) fills the UTF-8 and UTF-16 offsets."""
    return seg_pb.Sentence(
        index=sentence.index,
        start=sentence.start,
        end=sentence.end,
        text=sentence.text,
        paragraph=sentence.paragraph,
        role=role_to_pb(sentence.role),
        is_duplicate=sentence.duplicate_of is not None,
        duplicate_of=sentence.duplicate_of or 0,
        forced_split=sentence.forced_split,
        **(offsets or {}),
    )


def _offsets_in_order(text: str, spans: Iterable[tuple[int, int]]) -> Iterator[dict[str, int]]:
    """unit_offsets, one span at a time, for spans in text order (a segmenter's sentences): no table of every
    position, so a text of many sentences holds one span's offsets at a time."""
    utf8 = utf16 = previous = 0
    for start, end in spans:
        found = []
        for position in (start, end):
            piece = text[previous:position]
            utf8 += len(piece.encode("utf-8", "surrogatepass"))
            utf16 += len(piece.encode("utf-16-le", "surrogatepass")) // 2
            found.append((utf8, utf16))
            previous = position
        yield {"start_utf8": found[0][0], "end_utf8": found[1][0],
               "start_utf16": found[0][1], "end_utf16": found[1][1]}


def _in_order(sentences: Sequence[Sentence] | Sequence[TranslatedSegment]) -> bool:
    return all(a.end <= b.start for a, b in zip(sentences, sentences[1:])) and all(s.start <= s.end for s in sentences)


def _sentence_offsets(document: Document) -> Iterable[dict[str, int]]:
    spans = ((s.start, s.end) for s in document.sentences)
    if _in_order(document.sentences):
        return _offsets_in_order(document.text, spans)
    return unit_offsets(document.text, list(spans))


def sentences_to_pb(document: Document) -> list[seg_pb.Sentence]:
    """A document's Sentence messages, with UTF-8 and UTF-16 offsets beside the code points."""
    return [sentence_to_pb(s, o) for s, o in zip(document.sentences, _sentence_offsets(document))]


def sentence_from_pb(message: seg_pb.Sentence) -> Sentence:
    return Sentence(
        index=message.index,
        start=message.start,
        end=message.end,
        text=message.text,
        paragraph=message.paragraph,
        role=role_from_pb(message.role),
        duplicate_of=message.duplicate_of if message.is_duplicate else None,
        forced_split=message.forced_split,
    )


def document_to_pb(document: Document) -> seg_pb.SegmentResponse:
    """A SegmentResponse; each sentence is added to it directly, not first built as a message of its own."""
    response = seg_pb.SegmentResponse(
        language=document.language,
        detected_language=document.detected_language,
        language_confidence=document.language_confidence,
    )
    add = response.sentences.add
    for s, offsets in zip(document.sentences, _sentence_offsets(document)):
        add(index=s.index, start=s.start, end=s.end, text=s.text, paragraph=s.paragraph, role=role_to_pb(s.role),
            is_duplicate=s.duplicate_of is not None, duplicate_of=s.duplicate_of or 0, forced_split=s.forced_split,
            **offsets)
    return response


def document_from_pb(message: seg_pb.SegmentResponse, text: str) -> Document:
    return Document(text, message.language, [sentence_from_pb(s) for s in message.sentences],
                    detected_language=message.detected_language,
                    language_confidence=round(message.language_confidence, 4))


def _score_kwargs(score: float | None) -> dict:
    return {} if score is None else {"score": score}


def translation_to_pb(translation: Translation, source_text: str | None = None) -> tr_pb.TranslationResult:
    """A TranslationResult message; with the `source_text` it translates, the UTF-8 and UTF-16 offsets too."""
    segments = translation.segments
    spans = ((s.start, s.end) for s in segments)
    if source_text is None:
        offsets: Iterable[dict[str, int]] = ({} for _ in segments)
    else:
        in_order = _in_order(segments)
        offsets = _offsets_in_order(source_text, spans) if in_order else unit_offsets(source_text, list(spans))
    result = tr_pb.TranslationResult(
        text=translation.text,
        source_language=translation.source_language,
        target_language=translation.target_language,
        model=translation.model,
        detected_language=translation.detected_language,
        language_confidence=translation.language_confidence,
    )
    add = result.segments.add  # filled in place: a list of messages first would hold every segment twice
    for s, o in zip(segments, offsets):
        segment = add(start=s.start, end=s.end, source=s.source, translation=s.translation, paragraph=s.paragraph,
                      role=role_to_pb(s.role), translated=s.translated, is_duplicate=s.duplicate_of is not None,
                      duplicate_of=s.duplicate_of or 0, **_score_kwargs(s.score), **o)
        for h in s.alternatives:
            segment.alternatives.add(text=h.text, **_score_kwargs(h.score))
    return result


def translation_from_pb(message: tr_pb.TranslationResult) -> Translation:
    return Translation(
        text=message.text,
        source_language=message.source_language,
        target_language=message.target_language,
        model=message.model,
        detected_language=message.detected_language,
        language_confidence=round(message.language_confidence, 4),
        segments=[
            TranslatedSegment(
                start=s.start,
                end=s.end,
                source=s.source,
                translation=s.translation,
                score=s.score if s.HasField("score") else None,
                alternatives=[
                    Hypothesis(h.text, h.score if h.HasField("score") else None) for h in s.alternatives
                ],
                paragraph=s.paragraph,
                role=role_from_pb(s.role),
                translated=s.translated,
                duplicate_of=s.duplicate_of if s.is_duplicate else None,
            )
            for s in message.segments
        ],
    )


def model_to_pb(info: ModelInfo) -> tr_pb.ModelInfo:
    return tr_pb.ModelInfo(
        name=info.name,
        pairs=[tr_pb.LanguagePair(source=p.source, target=p.target) for p in info.pairs],
        quantization=info.quantization,
        compute_type=info.compute_type,
        device=info.device,
        license=info.license,
        source=info.source,
        is_default=info.is_default,
    )


def model_from_pb(message: tr_pb.ModelInfo) -> ModelInfo:
    return ModelInfo(
        name=message.name,
        pairs=[LanguagePair(p.source, p.target) for p in message.pairs],
        quantization=message.quantization,
        compute_type=message.compute_type,
        device=message.device,
        license=message.license,
        source=message.source,
        is_default=message.is_default,
    )


# --- alignment (crosswire/v1/alignment.proto) ---------------------------------


def mode_to_pb(mode: AlignMode | str) -> int:
    return al_pb.AlignMode.Value("ALIGN_MODE_" + AlignMode(mode).name)


def mode_from_pb(value: int) -> AlignMode:
    name = al_pb.AlignMode.Name(value).removeprefix("ALIGN_MODE_")
    return AlignMode.COMPARABLE if name == "UNSPECIFIED" else AlignMode[name]


def _terms_to_pb(terms: list[SharedTerm]) -> list[al_pb.SharedTerm]:
    return [al_pb.SharedTerm(source=t.source, target=t.target) for t in terms]


def _disagreements_to_pb(items: list[Disagreement]) -> list[al_pb.Disagreement]:
    return [
        al_pb.Disagreement(kind=al_pb.DisagreementKind.Value("DISAGREEMENT_KIND_" + d.kind.name),
                           source=d.source, target=d.target)
        for d in items
    ]


def _disagreements_from_pb(items: Sequence[al_pb.Disagreement]) -> list[Disagreement]:
    return [
        Disagreement(DisagreementKind[al_pb.DisagreementKind.Name(d.kind).removeprefix("DISAGREEMENT_KIND_")],
                     d.source, d.target)
        for d in items
    ]


def link_to_pb(link: Link) -> al_pb.Link:
    evidence = link.evidence
    optional = {}
    if evidence.translation_similarity is not None:
        optional["translation_similarity"] = evidence.translation_similarity
    if evidence.same_probability is not None:
        optional["same_probability"] = evidence.same_probability
    return al_pb.Link(
        source=link.source,
        target_doc=link.target_doc,
        target=link.target,
        score=link.score,
        grade=al_pb.LinkGrade.Value("LINK_GRADE_" + link.grade.name),
        evidence=al_pb.Evidence(
            embedding_similarity=evidence.embedding_similarity,
            names=_terms_to_pb(evidence.names),
            numbers=_terms_to_pb(evidence.numbers),
            words=_terms_to_pb(evidence.words),
            disagreements=_disagreements_to_pb(evidence.disagreements),
            **optional,
        ),
    )


def link_from_pb(message: al_pb.Link) -> Link:
    evidence = message.evidence
    return Link(
        source=list(message.source),
        target_doc=message.target_doc,
        target=list(message.target),
        score=round(message.score, 4),
        grade=Grade[al_pb.LinkGrade.Name(message.grade).removeprefix("LINK_GRADE_")],
        evidence=Evidence(
            embedding_similarity=round(evidence.embedding_similarity, 4),
            translation_similarity=round(evidence.translation_similarity, 4)
            if evidence.HasField("translation_similarity") else None,
            names=[SharedTerm(t.source, t.target) for t in evidence.names],
            numbers=[SharedTerm(t.source, t.target) for t in evidence.numbers],
            words=[SharedTerm(t.source, t.target) for t in evidence.words],
            disagreements=_disagreements_from_pb(evidence.disagreements),
            same_probability=round(evidence.same_probability, 4) if evidence.HasField("same_probability") else None,
        ),
    )


def _segmented_to_pb(document: Document, name: str) -> al_pb.SegmentedDocument:
    return al_pb.SegmentedDocument(
        name=name, language=document.language, sentences=sentences_to_pb(document),
        detected_language=document.detected_language,
    )


def _segmented_from_pb(message: al_pb.SegmentedDocument, text: str) -> Document:
    return Document(text, message.language, [sentence_from_pb(s) for s in message.sentences],
                    detected_language=message.detected_language)


def alignment_to_pb(alignment: Alignment, source_name: str = "") -> al_pb.AlignResponse:
    return al_pb.AlignResponse(
        source=_segmented_to_pb(alignment.source, source_name),
        targets=[_segmented_to_pb(t, n) for t, n in zip(alignment.targets, alignment.target_names)],
        links=[link_to_pb(link) for link in alignment.links],
        unaligned_source=alignment.unaligned_source,
        unaligned_targets=[
            al_pb.UnalignedSentences(target_doc=k, indices=indices)
            for k, indices in enumerate(alignment.unaligned_targets)
        ],
        mode=mode_to_pb(alignment.mode),
        roles=sorted(role_to_pb(role) for role in alignment.roles),
    )


def alignment_from_pb(message: al_pb.AlignResponse, source_text: str, target_texts: list[str]) -> Alignment:
    """An AlignResponse as an Alignment; the texts are those the request sent."""
    unaligned = {u.target_doc: list(u.indices) for u in message.unaligned_targets}
    return Alignment(
        source=_segmented_from_pb(message.source, source_text),
        targets=[_segmented_from_pb(t, text) for t, text in zip(message.targets, target_texts)],
        target_names=[t.name for t in message.targets],
        mode=mode_from_pb(message.mode),
        links=[link_from_pb(link) for link in message.links],
        unaligned_source=list(message.unaligned_source),
        unaligned_targets=[unaligned.get(k, []) for k in range(len(message.targets))],
        roles=frozenset(role_from_pb(value) for value in message.roles),
    )


def comparison_to_pb(comparison: Comparison, report_name: str = "") -> al_pb.CompareResponse:
    return al_pb.CompareResponse(
        alignment=alignment_to_pb(comparison.alignment, report_name),
        documents=[
            al_pb.RankedDocument(
                target_doc=d.target_doc, name=d.name, score=d.score, linked_source=d.linked_source,
                linked_target=d.linked_target, shared_names=d.shared_names,
                coverage=al_pb.Coverage.Value("COVERAGE_" + d.coverage.name), related_source=d.related_source,
            )
            for d in comparison.documents
        ],
        rows=[
            al_pb.CompareRow(
                source=row.source, text=row.text, translation=row.translation or "",
                matches=[link_to_pb(link) for link in row.matches],
            )
            for row in comparison.rows
        ],
        only_in_report=comparison.only_in_report,
        only_in_coverage=[al_pb.SentenceRef(target_doc=r.target_doc, index=r.index) for r in comparison.only_in_coverage],
        translated=any(row.translation is not None for row in comparison.rows),
        library_articles=[article_to_pb(article) for article in comparison.library_articles],
    )


def comparison_from_pb(message: al_pb.CompareResponse, report_text: str, article_texts: list[str]) -> Comparison:
    """A CompareResponse as a Comparison; the texts are those the request sent (the library's come with it)."""
    library_articles = [article_from_pb(a) for a in message.library_articles]
    return Comparison(
        alignment=alignment_from_pb(message.alignment, report_text,
                                    [*article_texts, *(article.text for article in library_articles)]),
        documents=[
            RankedDocument(
                d.target_doc, d.name, round(d.score, 4), d.linked_source, d.linked_target, list(d.shared_names),
                _coverage_from_pb(d.coverage), d.related_source,
            )
            for d in message.documents
        ],
        rows=[
            CompareRow(row.source, row.text, row.translation if message.translated else None,
                       [link_from_pb(link) for link in row.matches])
            for row in message.rows
        ],
        only_in_report=list(message.only_in_report),
        only_in_coverage=[SentenceRef(r.target_doc, r.index) for r in message.only_in_coverage],
        library_articles=library_articles,
    )


def _coverage_from_pb(value: int) -> Coverage:
    name = al_pb.Coverage.Name(value).removeprefix("COVERAGE_")
    return Coverage.UNRELATED if name == "UNSPECIFIED" else Coverage[name]


def _documents_to_pb(texts: Sequence[str], names: Sequence[str] | None, default: str) -> list[al_pb.InputDocument]:
    names = list(names) if names is not None else [f"{default} {k}" for k in range(len(texts))]
    return [al_pb.InputDocument(name=n, text=t) for n, t in zip(names, texts)]


def align_request(
    source: str,
    targets: Sequence[str],
    *,
    source_language: str = "ru",
    target_language: str = "en",
    mode: AlignMode | str = AlignMode.COMPARABLE,
    presegmented: bool = False,
    names: Sequence[str] | None = None,
    source_name: str = "source",
    roles: Iterable[Role] | None = None,
) -> al_pb.AlignRequest:
    """Build an AlignRequest from texts."""
    if isinstance(targets, str):
        raise TypeError("targets must be a sequence of texts; wrap a single text in a list")
    return al_pb.AlignRequest(
        source=al_pb.InputDocument(name=source_name, text=source),
        targets=_documents_to_pb(targets, names, "target"),
        source_language=source_language,
        target_language=target_language,
        mode=mode_to_pb(mode),
        presegmented=presegmented,
        roles=[role_to_pb(r) for r in roles or ()],
    )


def compare_request(
    report: str,
    articles: Sequence[str],
    *,
    source_language: str = "ru",
    target_language: str = "en",
    presegmented: bool = False,
    names: Sequence[str] | None = None,
    report_name: str = "report",
    roles: Iterable[Role] | None = None,
    library: LibrarySelection | None = None,
) -> al_pb.CompareRequest:
    """Build a CompareRequest from texts; with `library`, the server adds the articles its library finds."""
    if isinstance(articles, str):
        raise TypeError("articles must be a sequence of texts; wrap a single text in a list")
    return al_pb.CompareRequest(
        library=selection_to_pb(library) if library is not None else None,
        report=al_pb.InputDocument(name=report_name, text=report),
        articles=_documents_to_pb(articles, names, "article"),
        source_language=source_language,
        target_language=target_language,
        presegmented=presegmented,
        roles=[role_to_pb(r) for r in roles or ()],
    )


# --- the article library (crosswire/v1/library.proto) -------------------------


def timestamp_to_pb(moment: datetime | None) -> timestamp_pb2.Timestamp | None:
    """A Timestamp for an aware datetime (a naive one is taken as UTC); None stays None (the field unset)."""
    if moment is None:
        return None
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment if moment.tzinfo is None else moment.astimezone(timezone.utc))
    return stamp


def timestamp_from_pb(message: object, name: str) -> datetime | None:
    """The Timestamp field `name` of a message as an aware UTC datetime, or None when it is unset."""
    if not message.HasField(name):  # type: ignore[attr-defined]
        return None
    return getattr(message, name).ToDatetime(tzinfo=timezone.utc)


def article_to_pb(article: Article) -> art_pb.Article:
    return art_pb.Article(
        id=article.id, name=article.name, outlet=article.outlet, url=article.url, title=article.title,
        published=timestamp_to_pb(article.published), language=article.language, text=article.text,
        added=timestamp_to_pb(article.added), sentence_count=article.sentence_count,
    )


def article_from_pb(message: art_pb.Article) -> Article:
    return Article(
        name=message.name, text=message.text, outlet=message.outlet, url=message.url, title=message.title,
        published=timestamp_from_pb(message, "published"), language=message.language, id=message.id,
        added=timestamp_from_pb(message, "added"), sentence_count=message.sentence_count,
    )


def selection_to_pb(selection: LibrarySelection) -> art_pb.LibrarySelection:
    window = None
    if selection.window is not None:
        window = duration_pb2.Duration()
        window.FromTimedelta(selection.window)
    return art_pb.LibrarySelection(k=selection.k, published=timestamp_to_pb(selection.published), window=window,
                                   outlets=list(selection.outlets))


def selection_from_pb(message: art_pb.LibrarySelection) -> LibrarySelection:
    window = message.window.ToTimedelta() if message.HasField("window") else None
    return LibrarySelection(message.k, timestamp_from_pb(message, "published"), window, tuple(message.outlets))


def add_result_from_pb(message: lib_pb.AddArticleResult) -> AddResult:
    name = lib_pb.AddStatus.Name(message.status).removeprefix("ADD_STATUS_")
    return AddResult(message.name, message.id, AddStatus.REFUSED if name == "UNSPECIFIED" else AddStatus[name],
                     message.reason)


def search_hit_from_pb(message: lib_pb.SearchHit) -> SearchHit:
    return SearchHit(
        article=article_from_pb(message.article),
        score=round(message.score, 4),
        shared_names=list(message.shared_names),
        pairs=[SentencePair(p.report_sentence, p.article_sentence, round(p.similarity, 4), p.report_text,
                            p.article_text) for p in message.pairs],
        coverage=_coverage_from_pb(message.coverage),
    )


def stats_from_pb(message: lib_pb.StatsResponse) -> LibraryStats:
    return LibraryStats(
        articles=message.articles, sentences=message.sentences, outlets=dict(message.outlets),
        languages=dict(message.languages), oldest=timestamp_from_pb(message, "oldest"),
        newest=timestamp_from_pb(message, "newest"), bytes_on_disk=message.bytes_on_disk, backend=message.backend,
    )


def search_request(report: str, language: str = "", selection: LibrarySelection | None = None) -> lib_pb.SearchRequest:
    """Build a SearchRequest; `language` "" = identify it, `selection` None = the server's defaults."""
    return lib_pb.SearchRequest(report=report, language=language or "",
                                selection=selection_to_pb(selection) if selection is not None else None)


#: Bytes of article messages per AddArticles request the clients send: servers take 4 MiB by default,
#: and a request adds a few bytes of framing per article.
ADD_BATCH_BYTES = 3 * 1024 * 1024


def add_requests(articles: Iterable[Article], batch_size: int = 100,
                 max_bytes: int = ADD_BATCH_BYTES) -> Iterable[lib_pb.AddArticlesRequest]:
    """AddArticlesRequests of at most `batch_size` articles and about `max_bytes` each (a larger article goes alone)."""
    batch: list[art_pb.Article] = []
    size = 0
    for article in articles:
        message = article_to_pb(article)
        if batch and (len(batch) >= batch_size or size + message.ByteSize() > max_bytes):
            yield lib_pb.AddArticlesRequest(articles=batch)
            batch, size = [], 0
        batch.append(message)
        size += message.ByteSize()
    if batch:
        yield lib_pb.AddArticlesRequest(articles=batch)
