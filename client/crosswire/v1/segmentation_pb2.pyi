from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SegmentRole(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SEGMENT_ROLE_UNSPECIFIED: _ClassVar[SegmentRole]
    SEGMENT_ROLE_BODY: _ClassVar[SegmentRole]
    SEGMENT_ROLE_HEADLINE: _ClassVar[SegmentRole]
    SEGMENT_ROLE_DATELINE: _ClassVar[SegmentRole]
    SEGMENT_ROLE_TIMESTAMP: _ClassVar[SegmentRole]
    SEGMENT_ROLE_CAPTION: _ClassVar[SegmentRole]
    SEGMENT_ROLE_SECTION: _ClassVar[SegmentRole]
    SEGMENT_ROLE_BOILERPLATE: _ClassVar[SegmentRole]
    SEGMENT_ROLE_PULL_QUOTE: _ClassVar[SegmentRole]
SEGMENT_ROLE_UNSPECIFIED: SegmentRole
SEGMENT_ROLE_BODY: SegmentRole
SEGMENT_ROLE_HEADLINE: SegmentRole
SEGMENT_ROLE_DATELINE: SegmentRole
SEGMENT_ROLE_TIMESTAMP: SegmentRole
SEGMENT_ROLE_CAPTION: SegmentRole
SEGMENT_ROLE_SECTION: SegmentRole
SEGMENT_ROLE_BOILERPLATE: SegmentRole
SEGMENT_ROLE_PULL_QUOTE: SegmentRole

class Sentence(_message.Message):
    __slots__ = ("index", "start", "end", "text", "paragraph", "role", "is_duplicate", "duplicate_of", "forced_split", "start_utf8", "end_utf8", "start_utf16", "end_utf16")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    PARAGRAPH_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    IS_DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_OF_FIELD_NUMBER: _ClassVar[int]
    FORCED_SPLIT_FIELD_NUMBER: _ClassVar[int]
    START_UTF8_FIELD_NUMBER: _ClassVar[int]
    END_UTF8_FIELD_NUMBER: _ClassVar[int]
    START_UTF16_FIELD_NUMBER: _ClassVar[int]
    END_UTF16_FIELD_NUMBER: _ClassVar[int]
    index: int
    start: int
    end: int
    text: str
    paragraph: int
    role: SegmentRole
    is_duplicate: bool
    duplicate_of: int
    forced_split: bool
    start_utf8: int
    end_utf8: int
    start_utf16: int
    end_utf16: int
    def __init__(self, index: _Optional[int] = ..., start: _Optional[int] = ..., end: _Optional[int] = ..., text: _Optional[str] = ..., paragraph: _Optional[int] = ..., role: _Optional[_Union[SegmentRole, str]] = ..., is_duplicate: _Optional[bool] = ..., duplicate_of: _Optional[int] = ..., forced_split: _Optional[bool] = ..., start_utf8: _Optional[int] = ..., end_utf8: _Optional[int] = ..., start_utf16: _Optional[int] = ..., end_utf16: _Optional[int] = ...) -> None: ...

class SegmentRequest(_message.Message):
    __slots__ = ("text", "language")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    text: str
    language: str
    def __init__(self, text: _Optional[str] = ..., language: _Optional[str] = ...) -> None: ...

class SegmentResponse(_message.Message):
    __slots__ = ("language", "sentences", "detected_language", "language_confidence")
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    SENTENCES_FIELD_NUMBER: _ClassVar[int]
    DETECTED_LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    language: str
    sentences: _containers.RepeatedCompositeFieldContainer[Sentence]
    detected_language: str
    language_confidence: float
    def __init__(self, language: _Optional[str] = ..., sentences: _Optional[_Iterable[_Union[Sentence, _Mapping]]] = ..., detected_language: _Optional[str] = ..., language_confidence: _Optional[float] = ...) -> None: ...
