import datetime

from crosswire.v1 import segmentation_pb2 as _segmentation_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TranslationOptions(_message.Message):
    __slots__ = ("beam_size", "num_hypotheses", "return_scores", "max_decoding_length")
    BEAM_SIZE_FIELD_NUMBER: _ClassVar[int]
    NUM_HYPOTHESES_FIELD_NUMBER: _ClassVar[int]
    RETURN_SCORES_FIELD_NUMBER: _ClassVar[int]
    MAX_DECODING_LENGTH_FIELD_NUMBER: _ClassVar[int]
    beam_size: int
    num_hypotheses: int
    return_scores: bool
    max_decoding_length: int
    def __init__(self, beam_size: _Optional[int] = ..., num_hypotheses: _Optional[int] = ..., return_scores: _Optional[bool] = ..., max_decoding_length: _Optional[int] = ...) -> None: ...

class TranslateRequest(_message.Message):
    __slots__ = ("texts", "source_language", "target_language", "model", "options", "presegmented", "roles", "translate_duplicates")
    TEXTS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    TARGET_LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    PRESEGMENTED_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    TRANSLATE_DUPLICATES_FIELD_NUMBER: _ClassVar[int]
    texts: _containers.RepeatedScalarFieldContainer[str]
    source_language: str
    target_language: str
    model: str
    options: TranslationOptions
    presegmented: bool
    roles: _containers.RepeatedScalarFieldContainer[_segmentation_pb2.SegmentRole]
    translate_duplicates: bool
    def __init__(self, texts: _Optional[_Iterable[str]] = ..., source_language: _Optional[str] = ..., target_language: _Optional[str] = ..., model: _Optional[str] = ..., options: _Optional[_Union[TranslationOptions, _Mapping]] = ..., presegmented: _Optional[bool] = ..., roles: _Optional[_Iterable[_Union[_segmentation_pb2.SegmentRole, str]]] = ..., translate_duplicates: _Optional[bool] = ...) -> None: ...

class TranslateResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[TranslationResult]
    def __init__(self, results: _Optional[_Iterable[_Union[TranslationResult, _Mapping]]] = ...) -> None: ...

class TranslationResult(_message.Message):
    __slots__ = ("text", "source_language", "target_language", "model", "segments", "detected_language", "language_confidence", "options", "roles")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    TARGET_LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    DETECTED_LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    text: str
    source_language: str
    target_language: str
    model: str
    segments: _containers.RepeatedCompositeFieldContainer[TranslatedSegment]
    detected_language: str
    language_confidence: float
    options: TranslationOptions
    roles: _containers.RepeatedScalarFieldContainer[_segmentation_pb2.SegmentRole]
    def __init__(self, text: _Optional[str] = ..., source_language: _Optional[str] = ..., target_language: _Optional[str] = ..., model: _Optional[str] = ..., segments: _Optional[_Iterable[_Union[TranslatedSegment, _Mapping]]] = ..., detected_language: _Optional[str] = ..., language_confidence: _Optional[float] = ..., options: _Optional[_Union[TranslationOptions, _Mapping]] = ..., roles: _Optional[_Iterable[_Union[_segmentation_pb2.SegmentRole, str]]] = ...) -> None: ...

class TranslatedSegment(_message.Message):
    __slots__ = ("start", "end", "source", "translation", "score", "alternatives", "paragraph", "role", "translated", "is_duplicate", "duplicate_of", "start_utf8", "end_utf8", "start_utf16", "end_utf16")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    TRANSLATION_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    ALTERNATIVES_FIELD_NUMBER: _ClassVar[int]
    PARAGRAPH_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    TRANSLATED_FIELD_NUMBER: _ClassVar[int]
    IS_DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_OF_FIELD_NUMBER: _ClassVar[int]
    START_UTF8_FIELD_NUMBER: _ClassVar[int]
    END_UTF8_FIELD_NUMBER: _ClassVar[int]
    START_UTF16_FIELD_NUMBER: _ClassVar[int]
    END_UTF16_FIELD_NUMBER: _ClassVar[int]
    start: int
    end: int
    source: str
    translation: str
    score: float
    alternatives: _containers.RepeatedCompositeFieldContainer[Hypothesis]
    paragraph: int
    role: _segmentation_pb2.SegmentRole
    translated: bool
    is_duplicate: bool
    duplicate_of: int
    start_utf8: int
    end_utf8: int
    start_utf16: int
    end_utf16: int
    def __init__(self, start: _Optional[int] = ..., end: _Optional[int] = ..., source: _Optional[str] = ..., translation: _Optional[str] = ..., score: _Optional[float] = ..., alternatives: _Optional[_Iterable[_Union[Hypothesis, _Mapping]]] = ..., paragraph: _Optional[int] = ..., role: _Optional[_Union[_segmentation_pb2.SegmentRole, str]] = ..., translated: _Optional[bool] = ..., is_duplicate: _Optional[bool] = ..., duplicate_of: _Optional[int] = ..., start_utf8: _Optional[int] = ..., end_utf8: _Optional[int] = ..., start_utf16: _Optional[int] = ..., end_utf16: _Optional[int] = ...) -> None: ...

class Hypothesis(_message.Message):
    __slots__ = ("text", "score")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    text: str
    score: float
    def __init__(self, text: _Optional[str] = ..., score: _Optional[float] = ...) -> None: ...

class TranslateStreamRequest(_message.Message):
    __slots__ = ("id", "text", "source_language", "target_language", "model", "options", "presegmented")
    ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    TARGET_LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    PRESEGMENTED_FIELD_NUMBER: _ClassVar[int]
    id: str
    text: str
    source_language: str
    target_language: str
    model: str
    options: TranslationOptions
    presegmented: bool
    def __init__(self, id: _Optional[str] = ..., text: _Optional[str] = ..., source_language: _Optional[str] = ..., target_language: _Optional[str] = ..., model: _Optional[str] = ..., options: _Optional[_Union[TranslationOptions, _Mapping]] = ..., presegmented: _Optional[bool] = ...) -> None: ...

class StreamError(_message.Message):
    __slots__ = ("code", "message", "retry_delay")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    RETRY_DELAY_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    retry_delay: _duration_pb2.Duration
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ..., retry_delay: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class TranslateStreamResponse(_message.Message):
    __slots__ = ("id", "result", "error", "sequence")
    ID_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    id: str
    result: TranslationResult
    error: StreamError
    sequence: int
    def __init__(self, id: _Optional[str] = ..., result: _Optional[_Union[TranslationResult, _Mapping]] = ..., error: _Optional[_Union[StreamError, _Mapping]] = ..., sequence: _Optional[int] = ...) -> None: ...

class ListModelsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListModelsResponse(_message.Message):
    __slots__ = ("models",)
    MODELS_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[ModelInfo]
    def __init__(self, models: _Optional[_Iterable[_Union[ModelInfo, _Mapping]]] = ...) -> None: ...

class LanguagePair(_message.Message):
    __slots__ = ("source", "target")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    source: str
    target: str
    def __init__(self, source: _Optional[str] = ..., target: _Optional[str] = ...) -> None: ...

class ModelInfo(_message.Message):
    __slots__ = ("name", "pairs", "quantization", "compute_type", "device", "license", "source", "is_default")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PAIRS_FIELD_NUMBER: _ClassVar[int]
    QUANTIZATION_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_TYPE_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    LICENSE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    IS_DEFAULT_FIELD_NUMBER: _ClassVar[int]
    name: str
    pairs: _containers.RepeatedCompositeFieldContainer[LanguagePair]
    quantization: str
    compute_type: str
    device: str
    license: str
    source: str
    is_default: bool
    def __init__(self, name: _Optional[str] = ..., pairs: _Optional[_Iterable[_Union[LanguagePair, _Mapping]]] = ..., quantization: _Optional[str] = ..., compute_type: _Optional[str] = ..., device: _Optional[str] = ..., license: _Optional[str] = ..., source: _Optional[str] = ..., is_default: _Optional[bool] = ...) -> None: ...
