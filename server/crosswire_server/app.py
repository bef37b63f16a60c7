"""The gRPC server: services, health, reflection, model loading and graceful shutdown."""

from __future__ import annotations

import asyncio
import errno
import logging
import signal
import socket
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from crosswire.v1 import (
    alignment_pb2,
    alignment_pb2_grpc,
    library_pb2,
    library_pb2_grpc,
    segmentation_pb2,
    segmentation_pb2_grpc,
    translation_pb2,
    translation_pb2_grpc,
)

from crosswire_server.access import KeysFileError, access_from_config, exposure_problem
from crosswire_server.config import ServerConfig
from crosswire_server.errors import NotReady
from crosswire_server.exiting import EXIT_MARGIN_S, exit_within
from crosswire_server.blas import limit_blas_threads
from crosswire_server.memory import limit_malloc_arenas
from crosswire_server.metrics import Metrics
from crosswire_server.rpc.alignment import AlignmentServicer
from crosswire_server.rpc.auth import AccessInterceptor
from crosswire_server.rpc.budget import BudgetGuard
from crosswire_server.rpc.common import Runtime
from crosswire_server.rpc.malformed import DecodeGuard
from crosswire_server.rpc.library import LibraryServicer
from crosswire_server.rpc.reflection import enable_reflection
from crosswire_server.rpc.segmentation import SegmentationServicer
from crosswire_server.rpc.shutdown import ClosingHealthServicer
from crosswire_server.rpc.translation import TranslationServicer
from crosswire_server.segmentation import warm_up as warm_up_language_identifier
from crosswire_server.translation import TranslationEngine

log = logging.getLogger("crosswire.server")

TRANSLATION_SERVICE = translation_pb2.DESCRIPTOR.services_by_name["TranslationService"].full_name
SEGMENTATION_SERVICE = segmentation_pb2.DESCRIPTOR.services_by_name["SegmentationService"].full_name
ALIGNMENT_SERVICE = alignment_pb2.DESCRIPTOR.services_by_name["AlignmentService"].full_name
# Answers each undecodable frame of its stream itself; any other method refuses the call (rpc/malformed.py).
TRANSLATE_STREAM = f"/{TRANSLATION_SERVICE}/TranslateStream"
LIBRARY_SERVICE = library_pb2.DESCRIPTOR.services_by_name["LibraryService"].full_name
# Messages above this are refused by the transport itself (RESOURCE_EXHAUSTED); up to
# it, our own check answers INVALID_ARGUMENT naming max_message_bytes.
_TRANSPORT_SLACK = 4


class ServeError(RuntimeError):
    """The server cannot do what it was asked: its port is taken, or the models it was given do not load."""


def check_port_free(host: str, port: int) -> None:
    """Refuse a port that cannot be bound, naming it, before gRPC's C core logs its own bind error to stderr."""
    if port == 0:
        return
    try:
        addresses = socket.getaddrinfo(host.strip("[]") or None, port, type=socket.SOCK_STREAM,
                                       flags=socket.AI_PASSIVE)
    except socket.gaierror:
        return  # gRPC reports a host it cannot resolve
    for family, kind, protocol, _, address in addresses:
        try:
            with socket.socket(family, kind, protocol) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gRPC binds
                probe.bind(address)
        except OSError as exc:
            # Other errors (an address family this host lacks) are gRPC's to judge.
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                reason = "the port is in use by another program" if exc.errno == errno.EADDRINUSE else exc.strerror
                raise ServeError(f"cannot serve on {host}:{port}: {reason}") from None


class CrosswireServer:
    """An aio gRPC server that loads models in the background and serves once ready."""

    def __init__(self, config: ServerConfig, engine: TranslationEngine | None = None) -> None:
        self.config = config
        self.runtime = Runtime(config)
        self._preloaded = engine
        transport_limit = max(config.max_message_bytes * _TRANSPORT_SLACK, 64 * 1024 * 1024)
        try:
            self.access = access_from_config(config)
        except KeysFileError as exc:
            raise ServeError(str(exc)) from None
        self._server = grpc.aio.server(
            # Access first: a caller that may not call learns nothing else, not even how its bytes decode.
            interceptors=[AccessInterceptor(self.access, self.runtime),
                          DecodeGuard(self.runtime, per_item=(TRANSLATE_STREAM,)), BudgetGuard(self.runtime)],
            options=[
                ("grpc.max_receive_message_length", transport_limit),
                ("grpc.max_send_message_length", transport_limit),
                # A second server on a taken port must fail, not silently share its traffic.
                ("grpc.so_reuseport", 0),
                # Aged connections get GOAWAY (no grace limit: their calls, streams included, run to the end).
                *([("grpc.max_connection_age_ms", round(config.max_connection_age_s * 1000))]
                  if config.max_connection_age_s > 0 else []),
                # gRPC's fixed 64 KiB receive window per call: with BDP probing it grows to several MB on a fast
                # link, and a client that sends without its stream being read fills it (benchmarks/stream_memory.py:
                # 7.2 MiB a never-read stream with probing, 0.6-0.8 without). The price: a 4 MiB request from a
                # client 50 ms away takes about 3 s to arrive instead of a fraction of one.
                ("grpc.http2.bdp_probe", 0),
                # Each connection costs buffers before any call is counted: cap them (gRPC closes one more at once).
                *([("grpc.max_allowed_incoming_connections", config.max_connections)]
                  if config.max_connections > 0 else []),
            ]
        )
        self._health = ClosingHealthServicer(self.runtime.stopping)
        self._services = [TRANSLATION_SERVICE, SEGMENTATION_SERVICE, ALIGNMENT_SERVICE, LIBRARY_SERVICE]
        translation_pb2_grpc.add_TranslationServiceServicer_to_server(TranslationServicer(self.runtime), self._server)
        segmentation_pb2_grpc.add_SegmentationServiceServicer_to_server(SegmentationServicer(self.runtime), self._server)
        self._library = LibraryServicer(self.runtime)
        library_pb2_grpc.add_LibraryServiceServicer_to_server(self._library, self._server)
        self._alignment = AlignmentServicer(self.runtime, library=self._library.calls)
        alignment_pb2_grpc.add_AlignmentServiceServicer_to_server(self._alignment, self._server)
        health_pb2_grpc.add_HealthServicer_to_server(self._health, self._server)
        if config.reflection != "off":
            enable_reflection(self._services, (translation_pb2.DESCRIPTOR, segmentation_pb2.DESCRIPTOR,
                                               alignment_pb2.DESCRIPTOR, library_pb2.DESCRIPTOR), self._server)
        self.port = 0
        self.metrics_port = 0
        self.load_error: str | None = None
        self._loading: asyncio.Task | None = None
        self._encoder: asyncio.Task | None = None

    def reload_keys(self) -> bool:
        """Reread the API keys file now (SIGHUP); True when its keys took effect, False without one or when broken."""
        return self.access.keys.reload() if self.access.keys is not None else False

    async def _set_health(self, status: int, services: tuple[str, ...]) -> None:
        for service in services:
            await self._health.set(service, status)

    async def start(self) -> int:
        """Bind and start serving; returns the port.

        Segmentation needs no model and is SERVING at once; alignment once the
        sentence encoder is loaded; translation and the server as a whole ("")
        once a translation model is loaded. Both load off the event loop.
        """
        await self._set_health(health_pb2.HealthCheckResponse.NOT_SERVING, ("", TRANSLATION_SERVICE, ALIGNMENT_SERVICE))
        # The library opens on first use; a library that cannot be opened answers UNAVAILABLE saying why.
        await self._set_health(health_pb2.HealthCheckResponse.SERVING, (SEGMENTATION_SERVICE, LIBRARY_SERVICE))
        address = f"{self.config.host}:{self.config.port}"
        problem = exposure_problem(self.config.host, bool(self.config.api_keys), bool(self.config.tls_client_ca),
                                   self.config.insecure)
        if problem:
            raise ServeError(problem)
        check_port_free(self.config.host, self.config.port)
        if self.config.tls_cert and self.config.tls_key:
            client_ca = self.config.tls_client_ca
            credentials = grpc.ssl_server_credentials(
                [(Path(self.config.tls_key).read_bytes(), Path(self.config.tls_cert).read_bytes())],
                root_certificates=Path(client_ca).read_bytes() if client_ca else None,
                require_client_auth=bool(client_ca),
            )
            self.port = self._server.add_secure_port(address, credentials)
        else:
            self.port = self._server.add_insecure_port(address)
        if self.config.metrics_port:
            metrics = Metrics()
            scrape = self.access.allows_scrape if self.config.metrics_access == "keys" else None
            self.metrics_port = metrics.serve(self.config.host, self.config.metrics_port, scrape)
            self.runtime.metrics = metrics
            address = f"http://{self.config.host}:{self.metrics_port}/metrics"
            log.info("metrics", extra={"fields": {"address": address}})
        await self._server.start()
        log.info("listening", extra={"fields": {"address": f"{self.config.host}:{self.port}",
                                                "tls": bool(self.config.tls_cert)}})
        self._loading = asyncio.create_task(self._load())
        self._encoder = asyncio.create_task(self._load_encoder())
        return self.port

    async def _load_encoder(self) -> None:
        try:
            await self._alignment.aligner()
        except NotReady as exc:
            log.error(str(exc))
            return
        await asyncio.to_thread(warm_up_language_identifier)
        await self._set_health(health_pb2.HealthCheckResponse.SERVING, (ALIGNMENT_SERVICE,))

    async def _load(self) -> None:
        try:
            engine = self._preloaded or await asyncio.to_thread(TranslationEngine.load, self.config)
        except Exception as exc:
            device = self.config.device
            self.load_error = f"loading the models in {self.config.models_dir} failed (device={device}): {exc}"
            log.error(self.load_error)
            self.runtime.set_problem(self.load_error)
            return
        if not engine.models():
            problem = (f"no model installed in {self.config.models_dir}; "
                       "install one with `crosswire models fetch NAME` or `crosswire models import PATH`")
            log.warning(problem)
            self.runtime.set_problem(problem)
            return
        if self.runtime.metrics is not None:
            engine.observe(self.runtime.metrics)
        self.runtime.set_engine(engine)
        await self._set_health(health_pb2.HealthCheckResponse.SERVING, ("", TRANSLATION_SERVICE))
        log.info("serving", extra={"fields": {"models": [m.name for m in engine.models()]}})

    async def wait_until_ready(self) -> None:
        """Wait for model loading to finish (successfully or not: see load_error)."""
        if self._loading is not None:
            await self._loading
        if self._encoder is not None:
            await self._encoder

    async def stop(self, grace: float | None = None) -> None:
        """Go NOT_SERVING, end idle streams, let in-flight requests finish within the grace period, then stop."""
        await self._health.enter_graceful_shutdown()
        self.runtime.stopping.set()
        for task in (self._loading, self._encoder):
            if task is not None:
                task.cancel()
        self._alignment.stop_loading()
        await self._server.stop(self.config.grace_period_s if grace is None else grace)
        if self.runtime.ready:
            await self.runtime.engine.close()
        await asyncio.to_thread(self._library.calls.close)
        if self.runtime.metrics is not None:
            self.runtime.metrics.close()
        log.info("stopped")

    async def wait_for_termination(self) -> None:
        await self._server.wait_for_termination()


async def serve(config: ServerConfig) -> None:
    """Run a server until SIGTERM or SIGINT, then shut down gracefully.

    Raises ServeError when the port is taken or the models fail to load: a server
    that cannot serve what it was asked for exits rather than listening on.
    """
    limit_malloc_arenas(config.malloc_arenas)
    limit_blas_threads(config.blas_threads)
    server = CrosswireServer(config)
    await server.start()
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    loop.add_signal_handler(signal.SIGHUP, server.reload_keys)
    loaded = asyncio.create_task(server.wait_until_ready())
    stop_asked = asyncio.create_task(stopping.wait())
    await asyncio.wait([loaded, stop_asked], return_when=asyncio.FIRST_COMPLETED)
    if server.load_error is not None:
        stop_asked.cancel()
        await server.stop(grace=0)
        raise ServeError(server.load_error)
    await stop_asked
    log.info("shutting down", extra={"fields": {"grace_period_s": config.grace_period_s}})
    # Work of cancelled calls left in worker threads is not waited for beyond the grace period and a margin.
    exit_within(config.grace_period_s + EXIT_MARGIN_S)
    await server.stop()
