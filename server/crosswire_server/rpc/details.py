"""Standard google.rpc error details for a failed call, which every gRPC language decodes.

A caller reads them from the `grpc-status-details-bin` trailer (a serialized
google.rpc.Status): ErrorInfo (why, and which limit), BadRequest (which field),
QuotaFailure (which limit), RetryInfo (when retrying can help) and RequestInfo
(the request id to quote from the server log).
"""

from __future__ import annotations

import re

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2

from crosswire.v1 import alignment_pb2, segmentation_pb2, translation_pb2

from crosswire_server.errors import CrosswireError, Overloaded

DOMAIN = "crosswire.v1"
DETAILS_TRAILER = "grpc-status-details-bin"

# A message that starts with a request field path ("texts[2] is empty", "options.beam_size=9 ...").
_FIELD_PATH = re.compile(r"^([a-z_]+)((?:\[\d+\])?(?:\.[a-z_]+(?:\[\d+\])?)*)(?=[=:\s]|$)")
_LIMIT = re.compile(r"\b(max_[a-z_]+)\b")
_REQUESTS = (
    translation_pb2.TranslateRequest, translation_pb2.TranslateStreamRequest, segmentation_pb2.SegmentRequest,
    alignment_pb2.AlignRequest, alignment_pb2.CompareRequest,
)
_REQUEST_FIELDS = frozenset(f.name for message in _REQUESTS for f in message.DESCRIPTOR.fields)


def field_of(error: CrosswireError) -> str:
    """The request field the error is about: the one it names, else a field path its message starts with."""
    if error.field:
        return error.field
    match = _FIELD_PATH.match(str(error))
    return match.group(0) if match and match.group(1) in _REQUEST_FIELDS else ""


def limit_of(error: CrosswireError) -> str:
    """The server setting the error is about: the one it names, else the first max_* its message names."""
    if error.limit:
        return error.limit
    match = _LIMIT.search(str(error))
    return match.group(1) if match else ""


def _reason(error: CrosswireError) -> str:
    """The error's kind in ErrorInfo's UPPER_SNAKE_CASE, e.g. INVALID_INPUT, UNSUPPORTED_PAIR, OVERLOADED."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(error).__name__).upper()


def _pack(message: object) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def rich_status(code: grpc.StatusCode, message: str, request_id: str, error: CrosswireError | None = None,
                limits: object = None, retry_after_s: float = 0.0) -> status_pb2.Status:
    """The google.rpc.Status of a failed call: its code, its message unchanged, and the details that apply.

    `limits` (the server config) gives the value of a named limit; `retry_after_s`
    is the delay RetryInfo suggests when a queue is full.
    """
    details: list[object] = []
    if error is not None:
        field, limit = field_of(error), limit_of(error)
        metadata = {}
        if limit:
            metadata["limit"] = limit
            if isinstance(getattr(limits, limit, None), (int, float)):
                metadata["limit_value"] = str(getattr(limits, limit))
        if field:
            metadata["field"] = field
        details.append(error_details_pb2.ErrorInfo(reason=_reason(error), domain=DOMAIN, metadata=metadata))
        if field:
            violation = error_details_pb2.BadRequest.FieldViolation(field=field, description=message)
            details.append(error_details_pb2.BadRequest(field_violations=[violation]))
        if limit:
            quota = error_details_pb2.QuotaFailure.Violation(subject=limit, description=message)
            details.append(error_details_pb2.QuotaFailure(violations=[quota]))
        if isinstance(error, Overloaded) and retry_after_s > 0:
            delay = duration_pb2.Duration()
            delay.FromNanoseconds(int(retry_after_s * 1e9))
            details.append(error_details_pb2.RetryInfo(retry_delay=delay))
    details.append(error_details_pb2.RequestInfo(request_id=request_id))
    return status_pb2.Status(code=code.value[0], message=message, details=[_pack(d) for d in details])
