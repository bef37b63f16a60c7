"""The Prometheus endpoint, scraped over loopback from a real server on the tiny model."""

from __future__ import annotations

import asyncio
import socket
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from crosswire import Client, CrosswireError
from crosswire_server.app import CrosswireServer
from crosswire_server.config import ServerConfig
from support.server import ServerThread

SENTENCE = "Правительство объявило о новых мерах поддержки экономики."
OTHER = "Суд вынес приговор бывшему министру."


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def scrape(port: int) -> dict[tuple[str, tuple], float]:
    """Every sample of /metrics as {(name, sorted labels): value}."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


@pytest.fixture(scope="module")
def server(tiny_models_dir: Path):
    with ServerThread(tiny_models_dir, metrics_port=free_port(), max_decoding_length=16, max_texts=4) as handle:
        yield handle


def test_requests_batches_sentences_and_cache_are_counted(server: ServerThread) -> None:
    model = (("model", "tiny-ru-en"),)
    before = scrape(server.server.metrics_port)
    with Client(server.address, timeout=30) as client:
        client.translate([SENTENCE, OTHER, SENTENCE], source="ru", presegmented=True)
        client.translate([OTHER], source="ru", presegmented=True)
        with pytest.raises(CrosswireError):
            client.translate(["x"] * 5, source="ru")  # over max_texts
        client.segment(f"{SENTENCE} {OTHER}", "ru")
    after = scrape(server.server.metrics_port)

    def grew(name: str, labels: tuple = ()) -> float:
        return after.get((name, labels), 0.0) - before.get((name, labels), 0.0)

    ok = (("method", "Translate"), ("status", "OK"))
    bad = (("method", "Translate"), ("status", "INVALID_ARGUMENT"))
    assert grew("crosswire_requests_total", ok) == 2
    assert grew("crosswire_requests_total", bad) == 1
    assert grew("crosswire_request_duration_seconds_count", (("method", "Translate"),)) == 3
    assert grew("crosswire_requests_total", (("method", "Segment"), ("status", "OK"))) == 1
    assert grew("crosswire_request_duration_seconds_sum", (("method", "Translate"),)) > 0
    # Four sentences asked for, two distinct: two go to the model, two come from the cache.
    assert grew("crosswire_sentences_translated_total", model) == 2
    assert grew("crosswire_batch_sentences_sum", model) == 2
    assert grew("crosswire_batch_sentences_count", model) >= 1
    assert grew("crosswire_source_tokens_total", model) > 0
    assert grew("crosswire_target_tokens_total", model) > 0
    assert grew("crosswire_cache_hits_total") == 2
    assert grew("crosswire_cache_misses_total") == 2
    assert 0 < after[("crosswire_cache_hit_ratio", ())] <= 1
    assert after[("crosswire_cache_entries", ())] >= 2
    assert after[("crosswire_queue_depth", model)] == 0
    assert after[("crosswire_batches_running", model)] == 0


def test_metrics_are_off_by_default(tiny_models_dir: Path) -> None:
    with ServerThread(tiny_models_dir) as handle:
        assert handle.server.metrics_port == 0 and handle.server.runtime.metrics is None


def test_a_busy_metrics_port_is_named(tiny_models_dir: Path) -> None:
    async def start(port: int) -> None:
        server = CrosswireServer(ServerConfig.from_env({}, models_dir=tiny_models_dir, port=0, metrics_port=port))
        try:
            await server.start()
        finally:
            await server.stop(0)

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError, match=f"metrics_port={port}"):
            asyncio.run(start(port))
