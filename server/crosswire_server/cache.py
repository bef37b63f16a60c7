"""A bounded LRU of finished translations, so a repeated sentence is translated once.

News repeats itself: wire copy, headlines, boilerplate, duplicated paragraphs.
Entries are keyed by model, decoding options and the sentence as the model sees
it (its sentencepiece pieces, i.e. after the model's own normalisation), so a hit
returns exactly what translating again would.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

Value = TypeVar("Value")


@dataclass(frozen=True)
class CacheStats:
    """Counters of a cache since it was made."""

    hits: int
    misses: int
    entries: int
    capacity: int
    bytes: int = 0  # estimated, as the cache's `sizeof` counts them

    @property
    def hit_ratio(self) -> float:
        """Hits over lookups; 0.0 before the first lookup."""
        lookups = self.hits + self.misses
        return self.hits / lookups if lookups else 0.0


class TranslationCache(Generic[Value]):
    """Least-recently-used map with at most `capacity` entries (0 turns it off) and, given `max_bytes`
    and a `sizeof(key, value)`, at most that many bytes: an entry's size varies a hundredfold
    (one hypothesis of a short sentence, or eight of a long one), so entries alone do not bound memory.

    Safe to read from another thread (the metrics endpoint scrapes `stats()`).
    """

    def __init__(self, capacity: int, max_bytes: int = 0,
                 sizeof: Callable[[Hashable, Value], int] | None = None) -> None:
        if capacity < 0:
            raise ValueError(f"cache_size must be >= 0 (0 turns the cache off), got {capacity}")
        if max_bytes < 0:
            raise ValueError(f"cache_bytes must be >= 0 (0 = no byte cap), got {max_bytes}")
        self.capacity = capacity
        self.max_bytes = max_bytes if sizeof is not None else 0
        self._sizeof = sizeof
        self._sizes: dict[Hashable, int] = {}
        self.bytes = 0
        self._entries: collections.OrderedDict[Hashable, Value] = collections.OrderedDict()
        self._lock = threading.Lock()
        self._hits = 0
        self._misses = 0

    @property
    def enabled(self) -> bool:
        return self.capacity > 0

    def get(self, key: Hashable) -> Value | None:
        """The cached value (now the most recent), or None; counts a hit or a miss."""
        if not self.enabled:
            return None
        with self._lock:
            value = self._entries.get(key)
            if value is None:
                self._misses += 1
                return None
            self._entries.move_to_end(key)
            self._hits += 1
            return value

    def put(self, key: Hashable, value: Value) -> None:
        """Store a value, dropping the least recently used entries while over either cap."""
        if not self.enabled:
            return
        size = self._sizeof(key, value) if self.max_bytes else 0
        if size > self.max_bytes > 0:
            return  # larger than the whole cache: keeping it would evict everything else
        with self._lock:
            self.bytes += size - self._sizes.get(key, 0)
            self._sizes[key] = size
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.capacity or (self.max_bytes and self.bytes > self.max_bytes):
                old, _ = self._entries.popitem(last=False)
                self.bytes -= self._sizes.pop(old)

    def count_hits(self, count: int) -> None:
        """Count lookups answered without asking the cache (repeats within one request)."""
        if self.enabled and count:
            with self._lock:
                self._hits += count

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(self._hits, self._misses, len(self._entries), self.capacity, self.bytes)

    def __len__(self) -> int:
        return len(self._entries)
