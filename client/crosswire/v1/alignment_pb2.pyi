from crosswire.v1 import article_pb2 as _article_pb2
from crosswire.v1 import segmentation_pb2 as _segmentation_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AlignMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ALIGN_MODE_UNSPECIFIED: _ClassVar[AlignMode]
    ALIGN_MODE_PARALLEL: _ClassVar[AlignMode]
    ALIGN_MODE_COMPARABLE: _ClassVar[AlignMode]

class LinkGrade(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LINK_GRADE_UNSPECIFIED: _ClassVar[LinkGrade]
    LINK_GRADE_SAME: _ClassVar[LinkGrade]
    LINK_GRADE_RELATED: _ClassVar[LinkGrade]

class DisagreementKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DISAGREEMENT_KIND_UNSPECIFIED: _ClassVar[DisagreementKind]
    DISAGREEMENT_KIND_NUMBER: _ClassVar[DisagreementKind]
    DISAGREEMENT_KIND_NAME: _ClassVar[DisagreementKind]
    DISAGREEMENT_KIND_DATE: _ClassVar[DisagreementKind]

class Coverage(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    COVERAGE_UNSPECIFIED: _ClassVar[Coverage]
    COVERAGE_SAME_EVENT: _ClassVar[Coverage]
    COVERAGE_SAME_TOPIC: _ClassVar[Coverage]
    COVERAGE_UNRELATED: _ClassVar[Coverage]
ALIGN_MODE_UNSPECIFIED: AlignMode
ALIGN_MODE_PARALLEL: AlignMode
ALIGN_MODE_COMPARABLE: AlignMode
LINK_GRADE_UNSPECIFIED: LinkGrade
LINK_GRADE_SAME: LinkGrade
LINK_GRADE_RELATED: LinkGrade
DISAGREEMENT_KIND_UNSPECIFIED: DisagreementKind
DISAGREEMENT_KIND_NUMBER: DisagreementKind
DISAGREEMENT_KIND_NAME: DisagreementKind
DISAGREEMENT_KIND_DATE: DisagreementKind
COVERAGE_UNSPECIFIED: Coverage
COVERAGE_SAME_EVENT: Coverage
COVERAGE_SAME_TOPIC: Coverage
COVERAGE_UNRELATED: Coverage

class InputDocument(_message.Message):
    __slots__ = ("name", "text")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    name: str
    text: str
    def __init__(self, name: _Optional[str] = ..., text: _Optional[str] = ...) -> None: ...

class SegmentedDocument(_message.Message):
    __slots__ = ("name", "language", "sentences", "detected_language")
    NAME_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    SENTENCES_FIELD_NUMBER: _ClassVar[int]
    DETECTED_LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    name: str
    language: str
    sentences: _containers.RepeatedCompositeFieldContainer[_segmentation_pb2.Sentence]
    detected_language: str
    def __init__(self, name: _Optional[str] = ..., language: _Optional[str] = ..., sentences: _Optional[_Iterable[_Union[_segmentation_pb2.Sentence, _Mapping]]] = ..., detected_language: _Optional[str] = ...) -> None: ...

class SharedTerm(_message.Message):
    __slots__ = ("source", "target")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    source: str
    target: str
    def __init__(self, source: _Optional[str] = ..., target: _Optional[str] = ...) -> None: ...

class Evidence(_message.Message):
    __slots__ = ("embedding_similarity", "translation_similarity", "names", "numbers", "words", "disagreements", "same_probability")
    EMBEDDING_SIMILARITY_FIELD_NUMBER: _ClassVar[int]
    TRANSLATION_SIMILARITY_FIELD_NUMBER: _ClassVar[int]
    NAMES_FIELD_NUMBER: _ClassVar[int]
    NUMBERS_FIELD_NUMBER: _ClassVar[int]
    WORDS_FIELD_NUMBER: _ClassVar[int]
    DISAGREEMENTS_FIELD_NUMBER: _ClassVar[int]
    SAME_PROBABILITY_FIELD_NUMBER: _ClassVar[int]
    embedding_similarity: float
    translation_similarity: float
    names: _containers.RepeatedCompositeFieldContainer[SharedTerm]
    numbers: _containers.RepeatedCompositeFieldContainer[SharedTerm]
    words: _containers.RepeatedCompositeFieldContainer[SharedTerm]
    disagreements: _containers.RepeatedCompositeFieldContainer[Disagreement]
    same_probability: float
    def __init__(self, embedding_similarity: _Optional[float] = ..., translation_similarity: _Optional[float] = ..., names: _Optional[_Iterable[_Union[SharedTerm, _Mapping]]] = ..., numbers: _Optional[_Iterable[_Union[SharedTerm, _Mapping]]] = ..., words: _Optional[_Iterable[_Union[SharedTerm, _Mapping]]] = ..., disagreements: _Optional[_Iterable[_Union[Disagreement, _Mapping]]] = ..., same_probability: _Optional[float] = ...) -> None: ...

class Disagreement(_message.Message):
    __slots__ = ("kind", "source", "target")
    KIND_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    kind: DisagreementKind
    source: str
    target: str
    def __init__(self, kind: _Optional[_Union[DisagreementKind, str]] = ..., source: _Optional[str] = ..., target: _Optional[str] = ...) -> None: ...

class Link(_message.Message):
    __slots__ = ("source", "target_doc", "target", "score", "grade", "evidence")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    TARGET_DOC_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    GRADE_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    source: _containers.RepeatedScalarFieldContainer[int]
    target_doc: int
    target: _containers.RepeatedScalarFieldContainer[int]
    score: float
    grade: LinkGrade
    evidence: Evidence
    def __init__(self, source: _Optional[_Iterable[int]] = ..., target_doc: _Optional[int] = ..., target: _Optional[_Iterable[int]] = ..., score: _Optional[float] = ..., grade: _Optional[_Union[LinkGrade, str]] = ..., evidence: _Optional[_Union[Evidence, _Mapping]] = ...) -> None: ...

class UnalignedSentences(_message.Message):
    __slots__ = ("target_doc", "indices")
    TARGET_DOC_FIELD_NUMBER: _ClassVar[int]
    INDICES_FIELD_NUMBER: _ClassVar[int]
    target_doc: int
    indices: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, target_doc: _Optional[int] = ..., indices: _Optional[_Iterable[int]] = ...) -> None: ...

class AlignRequest(_message.Message):
    __slots__ = ("source", "targets", "source_language", "target_language", "mode", "presegmented", "roles")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    TARGET_LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    PRESEGMENTED_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    source: InputDocument
    targets: _containers.RepeatedCompositeFieldContainer[InputDocument]
    source_language: str
    target_language: str
    mode: AlignMode
    presegmented: bool
    roles: _containers.RepeatedScalarFieldContainer[_segmentation_pb2.SegmentRole]
    def __init__(self, source: _Optional[_Union[InputDocument, _Mapping]] = ..., targets: _Optional[_Iterable[_Union[InputDocument, _Mapping]]] = ..., source_language: _Optional[str] = ..., target_language: _Optional[str] = ..., mode: _Optional[_Union[AlignMode, str]] = ..., presegmented: _Optional[bool] = ..., roles: _Optional[_Iterable[_Union[_segmentation_pb2.SegmentRole, str]]] = ...) -> None: ...

class AlignResponse(_message.Message):
    __slots__ = ("source", "targets", "links", "unaligned_source", "unaligned_targets", "mode", "roles")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    LINKS_FIELD_NUMBER: _ClassVar[int]
    UNALIGNED_SOURCE_FIELD_NUMBER: _ClassVar[int]
    UNALIGNED_TARGETS_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    source: SegmentedDocument
    targets: _containers.RepeatedCompositeFieldContainer[SegmentedDocument]
    links: _containers.RepeatedCompositeFieldContainer[Link]
    unaligned_source: _containers.RepeatedScalarFieldContainer[int]
    unaligned_targets: _containers.RepeatedCompositeFieldContainer[UnalignedSentences]
    mode: AlignMode
    roles: _containers.RepeatedScalarFieldContainer[_segmentation_pb2.SegmentRole]
    def __init__(self, source: _Optional[_Union[SegmentedDocument, _Mapping]] = ..., targets: _Optional[_Iterable[_Union[SegmentedDocument, _Mapping]]] = ..., links: _Optional[_Iterable[_Union[Link, _Mapping]]] = ..., unaligned_source: _Optional[_Iterable[int]] = ..., unaligned_targets: _Optional[_Iterable[_Union[UnalignedSentences, _Mapping]]] = ..., mode: _Optional[_Union[AlignMode, str]] = ..., roles: _Optional[_Iterable[_Union[_segmentation_pb2.SegmentRole, str]]] = ...) -> None: ...

class CompareRequest(_message.Message):
    __slots__ = ("report", "articles", "source_language", "target_language", "presegmented", "roles", "library")
    REPORT_FIELD_NUMBER: _ClassVar[int]
    ARTICLES_FIELD_NUMBER: _ClassVar[int]
    SOURCE_LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    TARGET_LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    PRESEGMENTED_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    LIBRARY_FIELD_NUMBER: _ClassVar[int]
    report: InputDocument
    articles: _containers.RepeatedCompositeFieldContainer[InputDocument]
    source_language: str
    target_language: str
    presegmented: bool
    roles: _containers.RepeatedScalarFieldContainer[_segmentation_pb2.SegmentRole]
    library: _article_pb2.LibrarySelection
    def __init__(self, report: _Optional[_Union[InputDocument, _Mapping]] = ..., articles: _Optional[_Iterable[_Union[InputDocument, _Mapping]]] = ..., source_language: _Optional[str] = ..., target_language: _Optional[str] = ..., presegmented: _Optional[bool] = ..., roles: _Optional[_Iterable[_Union[_segmentation_pb2.SegmentRole, str]]] = ..., library: _Optional[_Union[_article_pb2.LibrarySelection, _Mapping]] = ...) -> None: ...

class RankedDocument(_message.Message):
    __slots__ = ("target_doc", "name", "score", "linked_source", "linked_target", "shared_names", "coverage", "related_source")
    TARGET_DOC_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    LINKED_SOURCE_FIELD_NUMBER: _ClassVar[int]
    LINKED_TARGET_FIELD_NUMBER: _ClassVar[int]
    SHARED_NAMES_FIELD_NUMBER: _ClassVar[int]
    COVERAGE_FIELD_NUMBER: _ClassVar[int]
    RELATED_SOURCE_FIELD_NUMBER: _ClassVar[int]
    target_doc: int
    name: str
    score: float
    linked_source: int
    linked_target: int
    shared_names: _containers.RepeatedScalarFieldContainer[str]
    coverage: Coverage
    related_source: int
    def __init__(self, target_doc: _Optional[int] = ..., name: _Optional[str] = ..., score: _Optional[float] = ..., linked_source: _Optional[int] = ..., linked_target: _Optional[int] = ..., shared_names: _Optional[_Iterable[str]] = ..., coverage: _Optional[_Union[Coverage, str]] = ..., related_source: _Optional[int] = ...) -> None: ...

class CompareRow(_message.Message):
    __slots__ = ("source", "text", "translation", "matches")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    TRANSLATION_FIELD_NUMBER: _ClassVar[int]
    MATCHES_FIELD_NUMBER: _ClassVar[int]
    source: int
    text: str
    translation: str
    matches: _containers.RepeatedCompositeFieldContainer[Link]
    def __init__(self, source: _Optional[int] = ..., text: _Optional[str] = ..., translation: _Optional[str] = ..., matches: _Optional[_Iterable[_Union[Link, _Mapping]]] = ...) -> None: ...

class SentenceRef(_message.Message):
    __slots__ = ("target_doc", "index")
    TARGET_DOC_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    target_doc: int
    index: int
    def __init__(self, target_doc: _Optional[int] = ..., index: _Optional[int] = ...) -> None: ...

class CompareResponse(_message.Message):
    __slots__ = ("alignment", "documents", "rows", "only_in_report", "only_in_coverage", "translated", "library_articles")
    ALIGNMENT_FIELD_NUMBER: _ClassVar[int]
    DOCUMENTS_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    ONLY_IN_REPORT_FIELD_NUMBER: _ClassVar[int]
    ONLY_IN_COVERAGE_FIELD_NUMBER: _ClassVar[int]
    TRANSLATED_FIELD_NUMBER: _ClassVar[int]
    LIBRARY_ARTICLES_FIELD_NUMBER: _ClassVar[int]
    alignment: AlignResponse
    documents: _containers.RepeatedCompositeFieldContainer[RankedDocument]
    rows: _containers.RepeatedCompositeFieldContainer[CompareRow]
    only_in_report: _containers.RepeatedScalarFieldContainer[int]
    only_in_coverage: _containers.RepeatedCompositeFieldContainer[SentenceRef]
    translated: bool
    library_articles: _containers.RepeatedCompositeFieldContainer[_article_pb2.Article]
    def __init__(self, alignment: _Optional[_Union[AlignResponse, _Mapping]] = ..., documents: _Optional[_Iterable[_Union[RankedDocument, _Mapping]]] = ..., rows: _Optional[_Iterable[_Union[CompareRow, _Mapping]]] = ..., only_in_report: _Optional[_Iterable[int]] = ..., only_in_coverage: _Optional[_Iterable[_Union[SentenceRef, _Mapping]]] = ..., translated: _Optional[bool] = ..., library_articles: _Optional[_Iterable[_Union[_article_pb2.Article, _Mapping]]] = ...) -> None: ...
