"""The memory bound benchmarks/load.py checks is derived from the limits: each one moves it."""

from __future__ import annotations

import sys
from pathlib import Path

from crosswire_server.config import ServerConfig

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from load import BATCH_TOKEN_KIB, FILLING_CACHES_MIB, STREAM_BUFFER_MIB, memory_bound  # noqa: E402


def test_the_default_bound_is_the_limits_the_decoding_batches_and_the_filling_caches() -> None:
    config = ServerConfig(models_dir=".", inter_threads=2)
    bound, terms = memory_bound(0.0, config)
    assert bound == 288 + 32 + 32 + FILLING_CACHES_MIB + 64 * STREAM_BUFFER_MIB + 2 * 1024 * BATCH_TOKEN_KIB / 1024
    assert bound == 352 + 40 + 80 + 360 and len(terms) == 7


def test_every_limit_moves_the_bound() -> None:
    base = memory_bound(100.0, ServerConfig(models_dir=".", inter_threads=2))[0]
    assert memory_bound(200.0, ServerConfig(models_dir=".", inter_threads=2))[0] == base + 100
    for change, delta in [({"memory_budget_mb": 1288}, 1000), ({"cache_bytes": 32 * 1024 * 1024 + 2**20}, 1),
                          ({"embedding_cache_mb": 33}, 1), ({"max_open_streams": 65}, STREAM_BUFFER_MIB),
                          ({"inter_threads": 3}, 1024 * BATCH_TOKEN_KIB / 1024),
                          ({"batch_tokens": 2048}, 2 * 1024 * BATCH_TOKEN_KIB / 1024)]:
        config = ServerConfig(models_dir=".", **{"inter_threads": 2, **change})
        assert memory_bound(100.0, config)[0] == base + delta, change
