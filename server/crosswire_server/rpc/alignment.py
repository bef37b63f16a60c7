"""AlignmentService: protobuf requests → alignment jobs → protobuf responses.

When the runtime has a translation model for the language pair, the job gets
its translate function: the report's sentences are machine-translated for
the translation signal and the translation column of Compare. The sentence
encoder loads in a worker thread (the server starts it at start-up); requests
that come meanwhile wait for it without holding up the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import grpc

from crosswire.convert import alignment_to_pb, comparison_to_pb, mode_from_pb
from crosswire.types import DEFAULT_ROLES, AlignMode, LanguagePair
from crosswire.v1 import alignment_pb2 as pb
from crosswire.v1 import alignment_pb2_grpc as pb_grpc
from crosswire_server.alignment import Aligner, AlignmentLimits
from crosswire_server.alignment.jobs import AlignJob, TranslateFn, align_texts, compare_texts, in_batches
from crosswire_server.errors import InvalidInput, NotReady
from crosswire_server.rpc.common import Runtime, handling, roles_from_request
from crosswire_server.rpc.details import field_of
from crosswire_server.rpc.library import LibraryCalls, translator

# Compare's documents are report and articles on the wire; the core calls them source and targets.
_COMPARE_FIELDS = {"source": "report", "targets": "articles"}


def _compare_field(error: InvalidInput, given: int = 0, found: Sequence[str] = ()) -> InvalidInput:
    """The error with its field path as CompareRequest names it ("targets[2]" -> "articles[2]").

    A target past the request's `given` articles is the library's article found[k]: the error
    then names it and the field `library`.
    """
    path = field_of(error)
    head, bracket, rest = path.partition("[")
    index = rest.partition("]")[0]
    if head == "targets" and index.isdigit() and 0 <= int(index) - given < len(found):
        reason = str(error).removeprefix(path).lstrip(": ")
        name = found[int(index) - given]
        return InvalidInput(f"library article {name!r} (library_articles[{int(index) - given}]): {reason}",
                            field="library", limit=error.limit)
    error.field = _COMPARE_FIELDS.get(head, head) + bracket + rest
    return error


def _mode(value: int) -> AlignMode:
    """The request's mode (UNSPECIFIED = comparable); a number this server does not know is refused, naming mode."""
    if value not in pb.AlignMode.values():
        raise InvalidInput(f"mode={value} is not an AlignMode this server knows; "
                           "send ALIGN_MODE_PARALLEL or ALIGN_MODE_COMPARABLE")
    return mode_from_pb(value)


class AlignmentServicer(pb_grpc.AlignmentServiceServicer):
    """Serves Align and Compare over the shared runtime."""

    def __init__(self, runtime: Runtime, aligner: Aligner | None = None, library: LibraryCalls | None = None) -> None:
        self._runtime = runtime
        self._aligner = aligner
        self._library = library  # where Compare takes the articles of request.library from
        self._loading: asyncio.Future[Aligner] | None = None

    def _load(self) -> Aligner:
        """The aligner with the configured limits and its encoder's weights read (about a second; blocking)."""
        aligner = self._aligner or Aligner(limits=AlignmentLimits.from_config(self._runtime.config))
        aligner.embedder.limit_cache(self._runtime.config.embedding_cache_mb * 1024 * 1024)
        aligner.embedder.load()
        return aligner

    def start_loading(self) -> asyncio.Future[Aligner]:
        """Start loading the aligner in a worker thread, once; the future gives it."""
        if self._loading is None:
            self._loading = asyncio.ensure_future(asyncio.to_thread(self._load))
        return self._loading

    def stop_loading(self) -> None:
        """At shutdown: stop waiting for a load still going (its thread finishes on its own), so that no
        task is left pending when the event loop closes."""
        if self._loading is not None and not self._loading.done():
            self._loading.cancel()

    async def aligner(self) -> Aligner:
        """The loaded aligner, waiting for it off the event loop; NotReady (UNAVAILABLE) if it failed to load."""
        try:
            return await asyncio.shield(self.start_loading())  # a cancelled request leaves the loading going
        except Exception as exc:
            raise NotReady(f"the sentence encoder failed to load: {exc}") from exc

    def _translator(self, source: str, target: str) -> TranslateFn | None:
        """The engine's translate function when a model for the pair is loaded."""
        if not self._runtime.ready:
            return None
        engine = self._runtime.engine
        pair = LanguagePair(source or "ru", target or "en")
        if pair not in engine.pairs():
            return None
        return in_batches(engine.translate_sentences, self._runtime.config.max_texts)

    def _job(self, source: pb.InputDocument, targets: Sequence[pb.InputDocument],
             request: pb.AlignRequest | pb.CompareRequest, mode: int = 0) -> tuple[AlignJob, TranslateFn | None]:
        """The request as an AlignJob, and the translate function for its language pair (if any)."""
        job = AlignJob(
            source=source.text,
            targets=[t.text for t in targets],
            names=[t.name for t in targets],
            source_language=request.source_language,
            target_language=request.target_language,
            mode=_mode(mode),
            presegmented=request.presegmented,
            roles=frozenset(roles_from_request(request.roles)) or DEFAULT_ROLES,
        )
        return job, self._translator(request.source_language, request.target_language)

    async def Align(self, request: pb.AlignRequest, context: grpc.aio.ServicerContext) -> pb.AlignResponse:
        async with handling(context, "Align", self._runtime) as record:
            self._runtime.check_size(request)
            job, translate = self._job(request.source, request.targets, request, request.mode)
            record.add(targets=len(job.targets), translated=translate is not None)
            result = await align_texts(await self.aligner(), job, translate, self._runtime.budget)
            record.add(links=len(result.links))
            return self._runtime.check_response(alignment_to_pb(result, request.source.name),
                                                "send fewer or shorter documents")

    async def Compare(self, request: pb.CompareRequest, context: grpc.aio.ServicerContext) -> pb.CompareResponse:
        async with handling(context, "Compare", self._runtime) as record:
            self._runtime.check_size(request)
            found = []
            if request.HasField("library"):
                if self._library is None:
                    raise NotReady("this server has no article library")
                found = await self._library.run(self._library.select, request,
                                                translator(self._runtime, request.source_language or "ru",
                                                           request.target_language or "en"))
            articles = [*request.articles, *(pb.InputDocument(name=a.name, text=a.text) for a in found)]
            job, translate = self._job(request.report, articles, request)
            record.add(targets=len(job.targets), from_library=len(found), translated=translate is not None)
            try:
                result = await compare_texts(await self.aligner(), job, translate, self._runtime.budget)
            except InvalidInput as exc:
                raise _compare_field(exc, len(request.articles), [a.name for a in found])
            record.add(links=len(result.alignment.links))
            response = comparison_to_pb(result, request.report.name)
            response.library_articles.extend(found)
            return self._runtime.check_response(response, "send fewer or shorter articles")
