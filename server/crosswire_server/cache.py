"""A bounded LRU of finished translations, so a repeated sentence is translated once.

News repeats itself: wire copy, headlines, boilerplate, duplicated paragraphs.
Entries are keyed by model, decoding options and the sentence as the model sees
it (its sentencepiece pieces, i.e. after the model's own normalisation), so a hit
returns exactly what translating again would.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Hashable
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

    @property
    def hit_ratio(self) -> float:
        """Hits over lookups; 0.0 before the first lookup."""
        lookups = self.hits + self.misses
        return self.hits / lookups if lookups else 0.0


class TranslationCache(Generic[Value]):
    """Least-recently-used map with at most `capacity` entries (0 turns it off).

    Safe to read from another thread (the metrics endpoint scrapes `stats()`).
    """

    def __init__(self, capacity: int) -> None:
        if capacity < 0:
            raise ValueError(f"cache_size must be >= 0 (0 turns the cache off), got {capacity}")
        self.capacity = capacity
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
        """Store a value, dropping the least recently used entry when full."""
        if not self.enabled:
            return
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            if len(self._entries) > self.capacity:
                self._entries.popitem(last=False)

    def count_hits(self, count: int) -> None:
        """Count lookups answered without asking the cache (repeats within one request)."""
        if self.enabled and count:
            with self._lock:
                self._hits += count

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(self._hits, self._misses, len(self._entries), self.capacity)

    def __len__(self) -> int:
        return len(self._entries)
