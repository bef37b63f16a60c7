"""Protobuf messages ↔ the typed results of `crosswire.types`, in both directions.

The server's gRPC layer and the client use the same functions, so the wire
format is described in exactly one place.
"""

from __future__ import annotations

from crosswire.types import (
    Document,
    Hypothesis,
    LanguagePair,
    ModelInfo,
    Role,
    Sentence,
    TranslatedSegment,
    Translation,
)
from crosswire.v1 import segmentation_pb2 as seg_pb
from crosswire.v1 import translation_pb2 as tr_pb


def role_to_pb(role: Role) -> int:
    return seg_pb.SegmentRole.Value("SEGMENT_ROLE_" + role.name)


def role_from_pb(value: int) -> Role:
    name = seg_pb.SegmentRole.Name(value).removeprefix("SEGMENT_ROLE_")
    return Role.BODY if name == "UNSPECIFIED" else Role[name]


def sentence_to_pb(sentence: Sentence) -> seg_pb.Sentence:
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
    )


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
    return seg_pb.SegmentResponse(
        language=document.language, sentences=[sentence_to_pb(s) for s in document.sentences]
    )


def document_from_pb(message: seg_pb.SegmentResponse, text: str) -> Document:
    return Document(text, message.language, [sentence_from_pb(s) for s in message.sentences])


def _score_kwargs(score: float | None) -> dict:
    return {} if score is None else {"score": score}


def translation_to_pb(translation: Translation) -> tr_pb.TranslationResult:
    return tr_pb.TranslationResult(
        text=translation.text,
        source_language=translation.source_language,
        target_language=translation.target_language,
        model=translation.model,
        segments=[
            tr_pb.TranslatedSegment(
                start=s.start,
                end=s.end,
                source=s.source,
                translation=s.translation,
                alternatives=[tr_pb.Hypothesis(text=h.text, **_score_kwargs(h.score)) for h in s.alternatives],
                paragraph=s.paragraph,
                role=role_to_pb(s.role),
                translated=s.translated,
                is_duplicate=s.duplicate_of is not None,
                duplicate_of=s.duplicate_of or 0,
                **_score_kwargs(s.score),
            )
            for s in translation.segments
        ],
    )


def translation_from_pb(message: tr_pb.TranslationResult) -> Translation:
    return Translation(
        text=message.text,
        source_language=message.source_language,
        target_language=message.target_language,
        model=message.model,
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
