"""The memory bound benchmarks/load.py checks is derived from the limits: each one moves it, the defaults stay small."""

from __future__ import annotations

import sys
from pathlib import Path

from crosswire_server.config import ServerConfig

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from load import STREAM_BUFFER_MIB, memory_bound  # noqa: E402


def test_the_limits_share_of_the_default_bound_is_one_gib() -> None:
    bound, terms = memory_bound(0.0, ServerConfig(models_dir="."))
    assert bound == 768 + 64 + 64 + 128 * STREAM_BUFFER_MIB == 1024
    assert len(terms) == 5
    # With the models idle under 512 MiB, the whole server stays under 1.5 GiB.
    assert memory_bound(500.0, ServerConfig(models_dir="."))[0] < 1536


def test_every_limit_moves_the_bound() -> None:
    base = memory_bound(100.0, ServerConfig(models_dir="."))[0]
    assert memory_bound(200.0, ServerConfig(models_dir="."))[0] == base + 100
    for change, delta in [({"memory_budget_mb": 1768}, 1000), ({"cache_bytes": 64 * 1024 * 1024 + 2**20}, 1),
                          ({"embedding_cache_mb": 65}, 1), ({"max_open_streams": 129}, STREAM_BUFFER_MIB)]:
        assert memory_bound(100.0, ServerConfig(models_dir=".", **change))[0] == base + delta, change
