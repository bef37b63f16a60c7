"""Where a command's work runs: on a server (--server) or in this process (server side installed).

Both implement `Backend`, whose methods take the same keyword arguments as
`crosswire.Client`, and turn failures into one-line CLI errors. The local one
builds the very request message the client would send and hands its fields to
the core as the gRPC layer does, so defaults and checks are the same both ways.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, Unpack

import grpc

from crosswire.cli import CLIError, require_server_side
from crosswire.cli.arguments import add_credential_arguments, client_credentials, positive_float, server_address
from crosswire.client import (
    AlignSettings,
    Client,
    CompareSettings,
    CrosswireError,
    TranslateSettings,
    target,
    translate_request,
)
from crosswire.convert import align_request, compare_request, mode_from_pb, role_from_pb
from crosswire.credentials import API_KEY_ENV
from crosswire.types import DEFAULT_ROLES, Alignment, AlignMode, Comparison, Document, Translation
from crosswire.v1.alignment_pb2 import AlignRequest, CompareRequest, InputDocument

if TYPE_CHECKING:
    from crosswire_server.config import ServerConfig
    from crosswire_server.translation import TranslationEngine

#: Server settings that matter to in-process work (the rest are the server's own).
ENGINE_FLAGS = ("models_dir", "device", "compute_type", "inter_threads", "intra_threads")
#: Longest wait for the health check that finds an unreachable server before the real call.
HEALTH_TIMEOUT_S = 10.0
T = TypeVar("T")


class Backend(Protocol):
    """What the commands need; keyword arguments and results as in `crosswire.Client`."""

    def translate(self, texts: Sequence[str], **settings: Unpack[TranslateSettings]) -> list[Translation]: ...

    def segment(self, text: str, language: str | None = None) -> Document: ...

    def align(self, source: str, targets: Sequence[str], **settings: Unpack[AlignSettings]) -> Alignment: ...

    def compare(self, report: str, articles: Sequence[str], **settings: Unpack[CompareSettings]) -> Comparison: ...

    def close(self) -> None: ...


def add_backend_arguments(parser: argparse.ArgumentParser, engine: bool = True) -> None:
    """--server and friends, plus (with `engine`, when the server side is installed) the in-process engine flags."""
    engine_note = ", where the flags after --tls-ca (models folder, device, threads) apply" if engine else ""
    group = parser.add_argument_group(
        "where to run", f"On the server given with --server; otherwise in this process{engine_note}.")
    group.add_argument("--server", metavar="HOST[:PORT]", type=server_address,
                       help="use this Crosswire server (port 50051 if left out) instead of running in-process; "
                            "HOST:PORT,HOST:PORT,... or dns:///NAME:PORT spreads calls over several replicas")
    group.add_argument("--timeout", type=positive_float, default=300.0, metavar="SECONDS",
                       help="deadline per call to the server (default: 300)")
    group.add_argument("--tls", action="store_true", help="connect to the server over TLS")
    group.add_argument("--tls-ca", metavar="PEM", type=Path,
                       help="with --tls: trust the server certificates this CA (or self-signed certificate) signed")
    add_credential_arguments(group)
    if not engine:
        return
    try:
        from crosswire_server.config import ServerConfig
    except ImportError:
        return
    ServerConfig.add_arguments(group, only=ENGINE_FLAGS)


def connect(args: argparse.Namespace) -> Backend:
    """The backend the arguments ask for: --server HOST:PORT, else in-process."""
    if args.server:
        return RemoteBackend(args.server, args.timeout, args.tls or bool(args.tls_ca) or bool(args.tls_client_cert),
                             _read_ca(args.tls_ca), **client_credentials(args))
    require_server_side()
    from crosswire_server.config import ServerConfig

    try:
        config = ServerConfig.from_env(**{name: getattr(args, name, None) for name in ENGINE_FLAGS})
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    return LocalBackend(config)


def _read_ca(path: Path | None) -> bytes | None:
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CLIError(f"cannot read --tls-ca {path}: {exc.strerror or exc}") from None


def remote_failure(address: str, timeout: float, error: CrosswireError) -> str:
    """A failed call as one line a person can act on, without gRPC's transport internals."""
    if error.code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return f"no answer from the server at {address} within {timeout:g} s (raise --timeout)"
    if error.code == grpc.StatusCode.UNIMPLEMENTED:
        return f"the server at {address} does not offer this call: is it a Crosswire server?"
    if error.code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND):
        return error.details  # names the field or limit, word for word as in-process
    if error.code == grpc.StatusCode.UNAUTHENTICATED:
        return (f"the server at {address} refused the call: {error.details}; "
                f"give a key with {API_KEY_ENV} or --api-key-file")
    if error.code == grpc.StatusCode.PERMISSION_DENIED:
        return f"the server at {address} refused: {error.details}"
    if error.code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        return f"the server at {address} is busy, try again later: {error.details}"
    if error.code == grpc.StatusCode.UNAVAILABLE:
        reason = _transport_reason(error.details)
        if reason:
            return f"cannot reach a Crosswire server at {address}: {reason}"
        return f"the server at {address} is not ready: {error.details}"
    return f"{error.code.name}: {error.details}"


def _transport_reason(details: str) -> str | None:
    """Why gRPC could not connect, in words, or None when the server itself answered UNAVAILABLE."""
    lowered = details.lower()
    if "connection refused" in lowered:
        return "connection refused (is `crosswire serve` running there?)"
    if "resolving" in lowered or "dns" in lowered or "name not found" in lowered:
        return "unknown host"
    if "certificate_verify_failed" in lowered:
        return "its TLS certificate is not trusted (name the CA that signed it with --tls-ca PEM)"
    if "handshake" in lowered:
        return "the TLS handshake failed (leave out --tls for a plaintext server)"
    if lowered.startswith(("failed to connect", "socket closed", "connection reset", "connections to all backends")):
        return "the connection failed (add --tls if the server uses TLS)"
    return None


class RemoteBackend:
    """Runs calls on a Crosswire server through the blocking client."""

    def __init__(self, address: str, timeout: float, tls: bool, root_certificates: bytes | None = None,
                 **credentials: Any) -> None:
        self.address, self.timeout = target(address), timeout
        #: Client keyword arguments, for a command that opens its own (e.g. an AsyncClient for bulk work).
        self.client_settings: dict[str, Any] = dict(timeout=timeout, tls=tls, root_certificates=root_certificates,
                                                    **credentials)
        client = functools.partial(Client, address, **self.client_settings)
        # One attempt: retries with backoff would turn "connection refused" into a deadline exceeded.
        with client(retries=0) as probe:
            self._call(probe.health, timeout=min(timeout, HEALTH_TIMEOUT_S))
        self._client = client()

    def _call(self, method: Callable[..., T], *positional: Any, **settings: Any) -> T:
        try:
            return method(*positional, **settings)
        except CrosswireError as exc:
            raise CLIError(remote_failure(self.address, settings.get("timeout") or self.timeout, exc)) from None

    def translate(self, texts: Sequence[str], **settings: Unpack[TranslateSettings]) -> list[Translation]:
        return self._call(self._client.translate, list(texts), **settings)

    def segment(self, text: str, language: str | None = None) -> Document:
        return self._call(self._client.segment, text, language)

    def align(self, source: str, targets: Sequence[str], **settings: Unpack[AlignSettings]) -> Alignment:
        return self._call(self._client.align, source, list(targets), **settings)

    def compare(self, report: str, articles: Sequence[str], **settings: Unpack[CompareSettings]) -> Comparison:
        return self._call(self._client.compare, report, list(articles), **settings)

    def library(self, method: str, *positional: Any, **settings: Any) -> Any:
        """One of the client's library calls (add_articles, search, ...; a listing is read whole), failures as one line."""

        def call(*args: Any, **kwargs: Any) -> Any:
            result = getattr(self._client, method)(*args, **kwargs)
            return list(result) if isinstance(result, Iterator) else result

        return self._call(call, *positional, **settings)

    def close(self) -> None:
        self._client.close()


@contextlib.contextmanager
def core_errors() -> Iterator[None]:
    """Turn the core's expected failures into one-line CLI errors."""
    from crosswire_server.errors import CrosswireError as CoreError

    try:
        yield
    except CoreError as exc:
        raise CLIError(str(exc)) from None


class LocalBackend:
    """Runs calls in this process with the server's core; translation models load on first use."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self._loop = asyncio.new_event_loop()
        self._engine: TranslationEngine | None = None
        self._aligner: Any = None

    @property
    def engine(self) -> TranslationEngine:
        if self._engine is None:
            from crosswire_server.translation import TranslationEngine

            if not self._installed_pairs():
                raise CLIError(f"no model installed in {self.config.models_dir}; "
                               "install one with `crosswire models fetch NAME` or `crosswire models import PATH`")
            with core_errors():
                try:
                    self._engine = TranslationEngine.load(self.config)
                except (ValueError, RuntimeError, OSError) as exc:  # e.g. an unknown device, CUDA without a GPU, a damaged file
                    raise CLIError(f"cannot load the models in {self.config.models_dir} "
                                   f"(device {self.config.device}): {exc}") from None
        return self._engine

    def _installed_pairs(self) -> set[tuple[str, str]]:
        """Language pairs of the installed models, read from their manifests (no model is loaded)."""
        from crosswire_models.store import installed_models

        return {pair for model in installed_models(self.config.models_dir) for pair in model.pairs}

    def _run(self, coroutine: Awaitable[T]) -> T:
        with core_errors():
            return self._loop.run_until_complete(coroutine)

    def run(self, coroutine: Awaitable[T]) -> T:
        """Run a coroutine (e.g. several translate_async calls at once) on this backend's loop."""
        return self._run(coroutine)

    def translate(self, texts: Sequence[str], **settings: Unpack[TranslateSettings]) -> list[Translation]:
        return self._run(self.translate_async(texts, **settings))

    async def translate_async(self, texts: Sequence[str], **settings: Unpack[TranslateSettings]) -> list[Translation]:
        """translate() as a coroutine for `run`; the core's errors come out as they are (a CLIError with no model)."""
        request = translate_request(texts, **settings)
        engine = self.engine
        options = engine.decode_options(request.options.beam_size, request.options.num_hypotheses,
                                        request.options.return_scores, request.options.max_decoding_length)
        return await engine.translate(
            list(request.texts), source=request.source_language, target=request.target_language,
            model=request.model, options=options, presegmented=request.presegmented,
            roles=[role_from_pb(r) for r in request.roles] or None, translate_duplicates=request.translate_duplicates,
        )

    def segment(self, text: str, language: str | None = None) -> Document:
        from crosswire_server.segmentation import segment

        with core_errors():
            return segment(text, language or "")

    def align(self, source: str, targets: Sequence[str], **settings: Unpack[AlignSettings]) -> Alignment:
        from crosswire_server.alignment.jobs import align_texts

        request = align_request(source, targets, **settings)
        return self._alignment(align_texts, request.source, request.targets, request, mode_from_pb(request.mode))

    def compare(self, report: str, articles: Sequence[str], **settings: Unpack[CompareSettings]) -> Comparison:
        from crosswire_server.alignment.jobs import compare_texts

        request = compare_request(report, articles, **settings)
        return self._alignment(compare_texts, request.report, request.articles, request, AlignMode.COMPARABLE)

    def _alignment(self, work: Callable[..., Awaitable[T]], source: InputDocument, targets: Sequence[InputDocument],
                   request: AlignRequest | CompareRequest, mode: AlignMode) -> T:
        """Run an alignment job as the server would, translating the source when a model for the pair is installed."""
        from crosswire_server.alignment import Aligner, AlignmentLimits, jobs

        job = jobs.AlignJob(source.text, [t.text for t in targets], [t.name for t in targets],
                            request.source_language, request.target_language, mode, request.presegmented,
                            frozenset(role_from_pb(r) for r in request.roles) or DEFAULT_ROLES)
        translate = None
        if (request.source_language or "ru", request.target_language or "en") in self._installed_pairs():
            translate = jobs.in_batches(self.engine.translate_sentences, self.config.max_texts)
        if self._aligner is None:
            self._aligner = Aligner(limits=AlignmentLimits.from_config(self.config))
        return self._run(work(self._aligner, job, translate))

    def close(self) -> None:
        if self._engine is not None:
            self._loop.run_until_complete(self._engine.close())
        self._loop.close()
