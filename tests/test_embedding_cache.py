"""The sentence-vector cache is bounded in bytes (--embedding-cache-mb), not only in entries."""

from __future__ import annotations

import gc
import tracemalloc
from types import SimpleNamespace

import numpy as np

from crosswire_server.alignment import Aligner
from crosswire_server.alignment.embeddings import DIMENSION, ENTRY_BYTES, Embedder
from crosswire_server.config import ServerConfig
from crosswire_server.rpc.alignment import AlignmentServicer


class _RandomModel:
    """Stands in for the encoder's weights: a fresh (n, 512) matrix per call, as the real one returns."""

    def __init__(self) -> None:
        self.rng = np.random.default_rng(0)

    def encode(self, texts: list[str]) -> np.ndarray:
        vectors = self.rng.standard_normal((len(texts), DIMENSION)).astype(np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _embedder(cache_bytes: int) -> Embedder:
    embedder = Embedder(cache_bytes=cache_bytes)
    embedder._model = _RandomModel()
    embedder._loaded = True
    return embedder


def test_the_cache_holds_at_most_its_bytes_measured() -> None:
    cap = 2 * 1024 * 1024
    embedder = _embedder(cap)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for start in range(0, 6000, 500):  # 6,000 sentences, about 13.7 MB of vectors without a cap
            embedder.encode([f"sentence {n}" for n in range(start, start + 500)])
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert embedder.encoded == 6000
    assert len(embedder._cache) == cap // ENTRY_BYTES
    assert embedder.cache_bytes <= cap
    assert held <= cap * 1.1, f"the cache holds {held} bytes for a cap of {cap}"
    assert held >= cap * 0.7, "ENTRY_BYTES overstates what an entry takes"


def test_recent_sentences_stay_and_zero_keeps_none() -> None:
    embedder = _embedder(100 * ENTRY_BYTES)
    embedder.encode([f"old {n}" for n in range(100)] + [f"new {n}" for n in range(100)])
    embedder.encode([f"new {n}" for n in range(100)])
    assert embedder.encoded == 200  # the newest 100 came from the cache
    none = _embedder(0)
    none.encode(["a.", "b."])
    none.encode(["a.", "b."])
    assert none.encoded == 4 and none.cache_bytes == 0


def test_the_server_sets_its_embedders_cap_from_the_setting() -> None:
    embedder = _embedder(64 * 1024 * 1024)
    embedder.encode([f"sentence {n}" for n in range(1000)])
    config = ServerConfig(models_dir=".", embedding_cache_mb=1)
    servicer = AlignmentServicer(SimpleNamespace(config=config), aligner=Aligner(embedder=embedder, dictionary=False))
    servicer._load()
    assert len(embedder._cache) == (1024 * 1024) // ENTRY_BYTES
    embedder.encode([f"more {n}" for n in range(1000)])
    assert embedder.cache_bytes <= 1024 * 1024
