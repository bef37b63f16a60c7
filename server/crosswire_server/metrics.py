"""Prometheus metrics of a server: requests, latency, batches, queue depth, sentences, tokens, cache.

Counters that change per request or per batch are recorded where that happens
(once per request, once per batch: never per token); queue depth and cache
counters are read from the engine only when the endpoint is scraped.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import CollectorRegistry, Counter, Histogram, make_wsgi_app, start_http_server
from prometheus_client.exposition import ThreadingWSGIServer
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from crosswire_server.cache import CacheStats

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


class Observed(Protocol):
    """What the scrape-time collector reads from the translation engine."""

    def queue_depths(self) -> dict[str, tuple[int, int]]:
        """Per model: (sentences queued, batches being translated)."""

    def cache_stats(self) -> CacheStats: ...


class Metrics:
    """The server's collectors in a registry of their own, and the HTTP endpoint serving them."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.requests = Counter("crosswire_requests", "RPCs finished, by method and status code",
                                ["method", "status"], registry=r)
        self.request_seconds = Histogram("crosswire_request_duration_seconds", "time to answer an RPC",
                                         ["method"], buckets=_LATENCY_BUCKETS, registry=r)
        self.batch_sentences = Histogram("crosswire_batch_sentences", "sentences per batch sent to CTranslate2",
                                         ["model"], buckets=_BATCH_BUCKETS, registry=r)
        self.batch_seconds = Histogram("crosswire_batch_duration_seconds", "time CTranslate2 took for one batch",
                                       ["model"], buckets=_LATENCY_BUCKETS, registry=r)
        self.sentences = Counter("crosswire_sentences_translated", "sentences (or chunks of long ones) translated",
                                 ["model"], registry=r)
        self.source_tokens = Counter("crosswire_source_tokens", "source tokens translated", ["model"], registry=r)
        self.target_tokens = Counter("crosswire_target_tokens", "target tokens produced (best hypothesis)",
                                     ["model"], registry=r)
        self._http = None

    def observe_request(self, method: str, status: str, seconds: float) -> None:
        self.requests.labels(method, status).inc()
        self.request_seconds.labels(method).observe(seconds)

    def observe_batch(self, model: str, sentences: int, source_tokens: int, target_tokens: int,
                      seconds: float) -> None:
        self.batch_sentences.labels(model).observe(sentences)
        self.batch_seconds.labels(model).observe(seconds)
        self.sentences.labels(model).inc(sentences)
        self.source_tokens.labels(model).inc(source_tokens)
        self.target_tokens.labels(model).inc(target_tokens)

    def watch(self, engine: Observed) -> None:
        """Report the engine's queue depth and cache counters at each scrape."""
        self.registry.register(_EngineCollector(engine))

    def serve(self, host: str, port: int, authorize: Callable[[str | None], bool] | None = None) -> int:
        """Serve /metrics over HTTP in a background thread; returns the bound port.

        With `authorize`, a scrape is answered only when it says yes to the
        request's Authorization header (else 401), e.g. a bearer API key.
        """
        try:
            if authorize is None:
                self._http, _ = start_http_server(port, addr=host, registry=self.registry)
            else:
                app = _guarded(make_wsgi_app(self.registry), authorize)
                server = type("MetricsServer", (ThreadingWSGIServer,),
                              {"address_family": socket.getaddrinfo(host.strip("[]"), port)[0][0]})
                self._http = make_server(host.strip("[]"), port, app, server, handler_class=_QuietHandler)
                threading.Thread(target=self._http.serve_forever, daemon=True).start()
        except OSError as exc:
            raise OSError(exc.errno, f"metrics_port={port} on {host}: {exc.strerror}") from None
        return self._http.server_address[1]

    def close(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None


class _QuietHandler(WSGIRequestHandler):
    """No access log on stderr per scrape (the request log is the gRPC one)."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _guarded(app: Callable[..., Iterable[bytes]], authorize: Callable[[str | None], bool]) -> Callable[..., Any]:
    """A WSGI app answering 401 unless `authorize` accepts the Authorization header."""

    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if authorize(environ.get("HTTP_AUTHORIZATION")):
            return app(environ, start_response)
        start_response("401 Unauthorized", [("Content-Type", "text/plain; charset=utf-8"),
                                             ("WWW-Authenticate", 'Bearer realm="crosswire"')])
        return [b"metrics need an API key allowed the 'metrics' service: Authorization: Bearer <API key>\n"]

    return guarded


class _EngineCollector(Collector):
    """Gauges and counters read from the engine when scraped, so the hot path pays nothing."""

    def __init__(self, engine: Observed) -> None:
        self._engine = engine

    def collect(self) -> Iterator[Metric]:
        queued = GaugeMetricFamily("crosswire_queue_depth", "sentences waiting for a batch", labels=["model"])
        running = GaugeMetricFamily("crosswire_batches_running", "batches being translated now", labels=["model"])
        for model, (sentences, batches) in sorted(self._engine.queue_depths().items()):
            queued.add_metric([model], sentences)
            running.add_metric([model], batches)
        stats = self._engine.cache_stats()
        yield queued
        yield running
        yield CounterMetricFamily("crosswire_cache_hits", "sentences answered from the translation cache",
                                  value=stats.hits)
        yield CounterMetricFamily("crosswire_cache_misses", "sentences the cache did not hold", value=stats.misses)
        yield GaugeMetricFamily("crosswire_cache_entries", "translations held in the cache", value=stats.entries)
        yield GaugeMetricFamily("crosswire_cache_capacity", "most translations the cache holds (0 = off)",
                                value=stats.capacity)
        yield GaugeMetricFamily("crosswire_cache_hit_ratio", "cache hits over lookups since start",
                                value=stats.hit_ratio)
