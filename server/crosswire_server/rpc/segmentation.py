"""SegmentationService: a SegmentRequest → segment() → a SegmentResponse.

Needs no model, so it answers while models are still loading.
"""

from __future__ import annotations

import asyncio

import grpc

from crosswire.convert import document_to_pb
from crosswire.v1 import segmentation_pb2 as pb
from crosswire.v1 import segmentation_pb2_grpc as pb_grpc

from crosswire_server.errors import InvalidInput
from crosswire_server.rpc.common import Runtime, handling
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
            document = await asyncio.to_thread(segment, request.text, request.language)
            record.add(sentences=len(document.sentences), language=document.language)
            return self._runtime.check_response(document_to_pb(document), "send less text (split it at paragraphs)")
