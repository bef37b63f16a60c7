"""SegmentationService: a SegmentRequest → segment() → a SegmentResponse.

Needs no model, so it answers while models are still loading.
"""

from __future__ import annotations

import grpc

from crosswire.convert import document_to_pb
from crosswire.types import Document
from crosswire.v1 import segmentation_pb2 as pb
from crosswire.v1 import segmentation_pb2_grpc as pb_grpc

from crosswire_server.budget import in_thread
from crosswire_server.errors import InvalidInput
from crosswire_server.rpc.common import ResponseTooLarge, Runtime, handling
from crosswire_server.segmentation import segment


class SegmentationServicer(pb_grpc.SegmentationServiceServicer):
    """Serves Segment within the server's request limits."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    async def Segment(self, request: pb.SegmentRequest, context: grpc.aio.ServicerContext) -> pb.SegmentResponse:
        async with handling(context, "Segment", self._runtime) as record:
            record.add(texts=1, characters=len(request.text))
            self._runtime.check_size(request)
            limit = self._runtime.config.max_chars
            if len(request.text) > limit:
                raise InvalidInput(f"text has {len(request.text)} characters, over the limit max_chars={limit}")
            # CPU work: off the event loop, so other requests keep flowing.
            document = await in_thread(segment, request.text, request.language)
            record.add(sentences=len(document.sentences), language=document.language)
            _check_floor(document, self._runtime.config.max_response_bytes)
            return self._runtime.check_response(document_to_pb(document), _ASK_LESS)


_ASK_LESS = "send less text (split it at paragraphs)"
# Every Sentence message but the first has an index, start, end, four unit offsets and a text,
# none of them zero, and is framed in the response: at least this many bytes besides its text.
_SENTENCE_FLOOR = 16


def _check_floor(document: Document, limit: int) -> None:
    """Refuse a response that is sure to be over `limit` before building it (for a text of many short
    sentences, building it costs more memory than the segmentation itself)."""
    sentences = document.sentences
    floor = sum(len(s.text) for s in sentences) + _SENTENCE_FLOOR * max(0, len(sentences) - 1)
    if floor > limit:
        raise ResponseTooLarge(
            f"the response would be over {floor} bytes ({len(sentences)} sentences), over the limit "
            f"max_response_bytes={limit} (stock gRPC clients accept at most 4194304); {_ASK_LESS}, or raise "
            "max_response_bytes on the server together with the client's receive limit", limit="max_response_bytes")
