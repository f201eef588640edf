"""A least-recently-used cache bounded by entry count and by an estimate of the bytes it holds.

Holds decoded images and engine sessions in a worker process. Sizes are the caller's estimate in
bytes (e.g. `ndarray.nbytes` of the image plus cached features); an entry larger than the whole
budget is still kept alone (the newest entry is never evicted), so one huge image does not thrash.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Callable, Generic, Hashable, TypeVar

V = TypeVar("V")


class LRUCache(Generic[V]):
    """Thread-safe LRU map `key -> value` with `max_entries` and `max_bytes` bounds."""

    def __init__(self, max_entries: int, max_bytes: int,
                 on_evict: Callable[[Hashable, V], None] | None = None) -> None:
        if max_entries < 1 or max_bytes < 1:
            raise ValueError("max_entries and max_bytes must be positive")
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._on_evict = on_evict
        self._items: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> V | None:
        """The value for `key` (marking it most recently used), or None."""
        with self._lock:
            item = self._items.get(key)
            if item is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return item[0]

    def put(self, key: Hashable, value: V, nbytes: int) -> None:
        """Insert or replace `key`; evict least recently used entries until within both bounds."""
        if nbytes < 0:
            raise ValueError("nbytes must be >= 0")
        evicted: list[tuple[Hashable, V]] = []
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._items[key] = (value, nbytes)
            self._bytes += nbytes
            while len(self._items) > 1 and (len(self._items) > self.max_entries or self._bytes > self.max_bytes):
                k, (v, n) = self._items.popitem(last=False)
                self._bytes -= n
                evicted.append((k, v))
        if self._on_evict is not None:
            for k, v in evicted:
                self._on_evict(k, v)

    def resize(self, key: Hashable, nbytes: int) -> None:
        """Update the byte estimate of an existing entry (e.g. after features were cached)."""
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return
        self.put(key, item[0], nbytes)

    def pop(self, key: Hashable) -> V | None:
        """Remove `key` and return its value (None when absent)."""
        with self._lock:
            item = self._items.pop(key, None)
            if item is None:
                return None
            self._bytes -= item[1]
            return item[0]

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._items

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    @property
    def nbytes(self) -> int:
        """Sum of the byte estimates of the entries held."""
        with self._lock:
            return self._bytes

    def keys(self) -> list[Hashable]:
        """Keys from least to most recently used."""
        with self._lock:
            return list(self._items.keys())
