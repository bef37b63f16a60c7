import datetime

from crosswire.v1 import alignment_pb2 as _alignment_pb2
from crosswire.v1 import article_pb2 as _article_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AddStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ADD_STATUS_UNSPECIFIED: _ClassVar[AddStatus]
    ADD_STATUS_ADDED: _ClassVar[AddStatus]
    ADD_STATUS_UNCHANGED: _ClassVar[AddStatus]
    ADD_STATUS_REPLACED: _ClassVar[AddStatus]
    ADD_STATUS_REFUSED: _ClassVar[AddStatus]
ADD_STATUS_UNSPECIFIED: AddStatus
ADD_STATUS_ADDED: AddStatus
ADD_STATUS_UNCHANGED: AddStatus
ADD_STATUS_REPLACED: AddStatus
ADD_STATUS_REFUSED: AddStatus

class AddArticlesRequest(_message.Message):
    __slots__ = ("articles",)
    ARTICLES_FIELD_NUMBER: _ClassVar[int]
    articles: _containers.RepeatedCompositeFieldContainer[_article_pb2.Article]
    def __init__(self, articles: _Optional[_Iterable[_Union[_article_pb2.Article, _Mapping]]] = ...) -> None: ...

class AddArticleResult(_message.Message):
    __slots__ = ("name", "id", "status", "reason")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    name: str
    id: str
    status: AddStatus
    reason: str
    def __init__(self, name: _Optional[str] = ..., id: _Optional[str] = ..., status: _Optional[_Union[AddStatus, str]] = ..., reason: _Optional[str] = ...) -> None: ...

class AddArticlesResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[AddArticleResult]
    def __init__(self, results: _Optional[_Iterable[_Union[AddArticleResult, _Mapping]]] = ...) -> None: ...

class GetArticleRequest(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: str
    def __init__(self, key: _Optional[str] = ...) -> None: ...

class GetArticleResponse(_message.Message):
    __slots__ = ("article",)
    ARTICLE_FIELD_NUMBER: _ClassVar[int]
    article: _article_pb2.Article
    def __init__(self, article: _Optional[_Union[_article_pb2.Article, _Mapping]] = ...) -> None: ...

class DeleteArticlesRequest(_message.Message):
    __slots__ = ("keys",)
    KEYS_FIELD_NUMBER: _ClassVar[int]
    keys: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, keys: _Optional[_Iterable[str]] = ...) -> None: ...

class DeleteArticlesResponse(_message.Message):
    __slots__ = ("deleted",)
    DELETED_FIELD_NUMBER: _ClassVar[int]
    deleted: int
    def __init__(self, deleted: _Optional[int] = ...) -> None: ...

class ListArticlesRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "outlet")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    OUTLET_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    outlet: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., outlet: _Optional[str] = ...) -> None: ...

class ListArticlesResponse(_message.Message):
    __slots__ = ("articles", "next_page_token")
    ARTICLES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    articles: _containers.RepeatedCompositeFieldContainer[_article_pb2.Article]
    next_page_token: str
    def __init__(self, articles: _Optional[_Iterable[_Union[_article_pb2.Article, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class SearchRequest(_message.Message):
    __slots__ = ("report", "language", "selection")
    REPORT_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    SELECTION_FIELD_NUMBER: _ClassVar[int]
    report: str
    language: str
    selection: _article_pb2.LibrarySelection
    def __init__(self, report: _Optional[str] = ..., language: _Optional[str] = ..., selection: _Optional[_Union[_article_pb2.LibrarySelection, _Mapping]] = ...) -> None: ...

class SentencePair(_message.Message):
    __slots__ = ("report_sentence", "article_sentence", "similarity", "report_text", "article_text")
    REPORT_SENTENCE_FIELD_NUMBER: _ClassVar[int]
    ARTICLE_SENTENCE_FIELD_NUMBER: _ClassVar[int]
    SIMILARITY_FIELD_NUMBER: _ClassVar[int]
    REPORT_TEXT_FIELD_NUMBER: _ClassVar[int]
    ARTICLE_TEXT_FIELD_NUMBER: _ClassVar[int]
    report_sentence: int
    article_sentence: int
    similarity: float
    report_text: str
    article_text: str
    def __init__(self, report_sentence: _Optional[int] = ..., article_sentence: _Optional[int] = ..., similarity: _Optional[float] = ..., report_text: _Optional[str] = ..., article_text: _Optional[str] = ...) -> None: ...

class SearchHit(_message.Message):
    __slots__ = ("article", "score", "shared_names", "pairs", "coverage")
    ARTICLE_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    SHARED_NAMES_FIELD_NUMBER: _ClassVar[int]
    PAIRS_FIELD_NUMBER: _ClassVar[int]
    COVERAGE_FIELD_NUMBER: _ClassVar[int]
    article: _article_pb2.Article
    score: float
    shared_names: _containers.RepeatedScalarFieldContainer[str]
    pairs: _containers.RepeatedCompositeFieldContainer[SentencePair]
    coverage: _alignment_pb2.Coverage
    def __init__(self, article: _Optional[_Union[_article_pb2.Article, _Mapping]] = ..., score: _Optional[float] = ..., shared_names: _Optional[_Iterable[str]] = ..., pairs: _Optional[_Iterable[_Union[SentencePair, _Mapping]]] = ..., coverage: _Optional[_Union[_alignment_pb2.Coverage, str]] = ...) -> None: ...

class SearchResponse(_message.Message):
    __slots__ = ("hits",)
    HITS_FIELD_NUMBER: _ClassVar[int]
    hits: _containers.RepeatedCompositeFieldContainer[SearchHit]
    def __init__(self, hits: _Optional[_Iterable[_Union[SearchHit, _Mapping]]] = ...) -> None: ...

class StatsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StatsResponse(_message.Message):
    __slots__ = ("articles", "sentences", "outlets", "languages", "oldest", "newest", "bytes_on_disk", "backend")
    class OutletsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class LanguagesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    ARTICLES_FIELD_NUMBER: _ClassVar[int]
    SENTENCES_FIELD_NUMBER: _ClassVar[int]
    OUTLETS_FIELD_NUMBER: _ClassVar[int]
    LANGUAGES_FIELD_NUMBER: _ClassVar[int]
    OLDEST_FIELD_NUMBER: _ClassVar[int]
    NEWEST_FIELD_NUMBER: _ClassVar[int]
    BYTES_ON_DISK_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    articles: int
    sentences: int
    outlets: _containers.ScalarMap[str, int]
    languages: _containers.ScalarMap[str, int]
    oldest: _timestamp_pb2.Timestamp
    newest: _timestamp_pb2.Timestamp
    bytes_on_disk: int
    backend: str
    def __init__(self, articles: _Optional[int] = ..., sentences: _Optional[int] = ..., outlets: _Optional[_Mapping[str, int]] = ..., languages: _Optional[_Mapping[str, int]] = ..., oldest: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., newest: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., bytes_on_disk: _Optional[int] = ..., backend: _Optional[str] = ...) -> None: ...
