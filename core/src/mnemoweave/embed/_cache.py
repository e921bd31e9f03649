"""A bounded, thread-safe LRU cache of query vectors keyed by ``(model_id, text)``.

Agents often repeat a query (the same user message searched by several tools, or a retriever
called twice per turn); caching makes the repeat free. Entries are stored read-only and handed
out as copies, so no caller can alter what the next caller receives.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CacheInfo:
    """Counters of a :class:`QueryCache` (like ``functools.lru_cache``'s ``cache_info``)."""

    hits: int
    misses: int
    maxsize: int
    currsize: int


class QueryCache:
    """Least-recently-used map from ``(model_id, text)`` to a 1-d float32 vector."""

    def __init__(self, maxsize: int = 2048) -> None:
        if maxsize < 0:
            raise ValueError("maxsize must be >= 0")
        self._maxsize = maxsize
        self._data: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self._hits = 0
        self._misses = 0

    def get(self, model_id: str, text: str) -> np.ndarray | None:
        """A copy of the cached vector, or ``None`` (counted as a miss)."""
        key = (model_id, text)
        with self._lock:
            vector = self._data.get(key)
            if vector is None:
                self._misses += 1
                return None
            self._data.move_to_end(key)
            self._hits += 1
        return vector.copy()

    def put(self, model_id: str, text: str, vector: np.ndarray) -> None:
        """Store a private read-only copy of ``vector``, evicting the oldest entry when full."""
        if self._maxsize == 0:
            return
        stored = np.array(vector, dtype=np.float32, copy=True)
        stored.setflags(write=False)
        key = (model_id, text)
        with self._lock:
            self._data[key] = stored
            self._data.move_to_end(key)
            while len(self._data) > self._maxsize:
                self._data.popitem(last=False)

    def clear(self) -> None:
        """Drop every entry and reset the counters."""
        with self._lock:
            self._data.clear()
            self._hits = self._misses = 0

    def resize(self, maxsize: int) -> None:
        """Change the bound (0 disables caching), evicting the oldest entries if needed."""
        if maxsize < 0:
            raise ValueError("maxsize must be >= 0")
        with self._lock:
            self._maxsize = maxsize
            while len(self._data) > maxsize:
                self._data.popitem(last=False)

    def info(self) -> CacheInfo:
        with self._lock:
            return CacheInfo(self._hits, self._misses, self._maxsize, len(self._data))
