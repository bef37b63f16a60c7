"""What every servicer shares: the runtime state, error → status mapping and the request log."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from typing import TYPE_CHECKING, Any

import grpc

from crosswire.convert import role_from_pb
from crosswire.types import Role
from crosswire.v1.segmentation_pb2 import SegmentRole

from crosswire_server.access import PermissionDenied, Unauthenticated, current_caller
from crosswire_server.budget import MemoryBudget
from crosswire_server.config import ServerConfig
from crosswire_server.errors import CrosswireError, InvalidInput, NotFound, NotReady, Overloaded, Stopped
from crosswire_server.logs import clip
from crosswire_server.rpc.details import DETAILS_TRAILER, rich_status
from crosswire_server.translation import TranslationEngine

if TYPE_CHECKING:
    from crosswire_server.metrics import Metrics

log = logging.getLogger("crosswire.requests")

_STATUS = [
    (Unauthenticated, grpc.StatusCode.UNAUTHENTICATED),
    (PermissionDenied, grpc.StatusCode.PERMISSION_DENIED),
    (InvalidInput, grpc.StatusCode.INVALID_ARGUMENT),
    (NotFound, grpc.StatusCode.NOT_FOUND),
    (Overloaded, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (NotReady, grpc.StatusCode.UNAVAILABLE),
    (Stopped, grpc.StatusCode.CANCELLED),
]


def roles_from_request(values: Iterable[int]) -> list[Role]:
    """SegmentRole values of a request as Roles; UNSPECIFIED or an unknown number is refused, naming the position."""
    values = list(values)
    for i, value in enumerate(values):
        if value == 0:
            raise InvalidInput(f"roles[{i}] is SEGMENT_ROLE_UNSPECIFIED; name a role or leave roles empty",
                               field=f"roles[{i}]")
        if value not in SegmentRole.values():
            raise InvalidInput(f"roles[{i}]={value} is not a SegmentRole this server knows", field=f"roles[{i}]")
    return [role_from_pb(value) for value in values]


def status_for(error: CrosswireError) -> grpc.StatusCode:
    """The gRPC status code that a core error stands for."""
    return next((code for kind, code in _STATUS if isinstance(error, kind)), grpc.StatusCode.INTERNAL)


class Runtime:
    """State the servicers share: the config and, once models are loaded, the engine."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.metrics: Metrics | None = None
        self._engine: TranslationEngine | None = None
        self._problem = "models are still loading; retry shortly"
        #: Set when the server starts shutting down: long-lived calls end then (rpc/shutdown.py).
        self.stopping = asyncio.Event()
        #: Memory held by the requests in progress (rpc/budget.py, and stream messages as they are read).
        self.budget = MemoryBudget.from_config(config)

    @property
    def engine(self) -> TranslationEngine:
        """The translation engine; raises NotReady (UNAVAILABLE) while there is none."""
        if self._engine is None:
            raise NotReady(self._problem)
        return self._engine

    @property
    def ready(self) -> bool:
        return self._engine is not None

    def set_engine(self, engine: TranslationEngine) -> None:
        self._engine = engine

    def set_problem(self, problem: str) -> None:
        self._problem = problem

    def check_size(self, request: Any) -> None:
        """Reject a request message over max_message_bytes, naming the limit."""
        size = request.ByteSize()
        if size > self.config.max_message_bytes:
            raise InvalidInput(
                f"request is {size} bytes, over the limit max_message_bytes={self.config.max_message_bytes}",
                limit="max_message_bytes",
            )

    def check_response(self, response: Any, advice: str) -> Any:
        """The response, or ResponseTooLarge when it is over max_response_bytes; `advice` says how to ask for less.

        Stock gRPC clients refuse a reply over 4 MiB after the server has done the
        work and logged OK; refusing it here tells every caller why, the same way.
        """
        size, limit = response.ByteSize(), self.config.max_response_bytes
        if size > limit:
            raise ResponseTooLarge(
                f"the response would be {size} bytes, over the limit max_response_bytes={limit} "
                f"(stock gRPC clients accept at most 4194304); {advice}, or raise max_response_bytes "
                "on the server together with the client's receive limit",
                limit="max_response_bytes",
            )
        return response


class ResponseTooLarge(InvalidInput):
    """The answer to a request would be larger than max_response_bytes (INVALID_ARGUMENT: resending it cannot help)."""


#: A client's x-request-id is kept when it looks like an id; anything else gets a fresh one.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:/+=-]{1,128}")


class RequestRecord:
    """Facts about one request, written as one log line when it ends."""

    def __init__(self, method: str, context: grpc.aio.ServicerContext, metrics: Metrics | None = None) -> None:
        metadata = dict(context.invocation_metadata() or ())
        given = metadata.get("x-request-id")
        request_id = given if isinstance(given, str) and _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex[:16]
        self.fields: dict[str, Any] = {"id": request_id, "method": method}
        caller = current_caller()  # the API key's name or the certificate's subject, never a token
        if caller is not None and caller.name:
            self.fields["client"] = caller.name
        self._metrics = metrics
        self._started = time.perf_counter()

    def add(self, **fields: Any) -> None:
        self.fields.update(fields)

    def emit(self, status: grpc.StatusCode, error: str = "") -> None:
        seconds = time.perf_counter() - self._started
        if self._metrics is not None:
            self._metrics.observe_request(self.fields["method"], status.name, seconds)
        self.fields["ms"] = round(seconds * 1000, 1)
        self.fields["status"] = status.name
        if error:
            self.fields["error"] = error
        level = logging.ERROR if status == grpc.StatusCode.INTERNAL else logging.INFO
        log.log(level, "request", extra={"fields": self.fields})


@contextlib.asynccontextmanager
async def handling(context: grpc.aio.ServicerContext, method: str,
                   runtime: Runtime | None = None) -> AsyncIterator[RequestRecord]:
    """Run a handler body: map core errors to statuses, never leak a crash, log one line (and count it).

    A failure carries the standard google.rpc details (rpc/details.py) beside its code and message.
    """
    record = RequestRecord(method, context, runtime.metrics if runtime else None)
    config = runtime.config if runtime else None
    # In trailers, not headers: a call answered without headers stays retryable by the client.
    trailers = (("x-request-id", record.fields["id"]),)
    context.set_trailing_metadata(trailers)
    status, error = grpc.StatusCode.OK, ""
    try:
        yield record
    except CrosswireError as exc:
        status, error = status_for(exc), clip(str(exc))
        retry_after_s = getattr(exc, "retry_after_s", None) or (config.retry_after_s if config else 0.0)
        details = rich_status(status, error, record.fields["id"], exc, config, retry_after_s)
        await context.abort(status, error, (*trailers, (DETAILS_TRAILER, details.SerializeToString())))
    except asyncio.CancelledError:
        remaining = context.time_remaining()
        status = grpc.StatusCode.DEADLINE_EXCEEDED if remaining is not None and remaining <= 0 else grpc.StatusCode.CANCELLED
        raise
    except grpc.aio.AbortError:
        raise
    except Exception:
        status, error = grpc.StatusCode.INTERNAL, "internal error"
        log.exception("request failed", extra={"fields": record.fields})
        message = f"internal error (request id {record.fields['id']}); see the server log"
        details = rich_status(status, message, record.fields["id"])
        await context.abort(status, message, (*trailers, (DETAILS_TRAILER, details.SerializeToString())))
    finally:
        record.emit(status, error)
