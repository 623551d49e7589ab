"""A small thread-safe cache with a size cap and an age limit, for discovery results."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class LruCache(Generic[V]):
    """Keep at most `max_size` entries, each for `ttl_s`; evict the least recently used."""

    def __init__(
        self, max_size: int, ttl_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if max_size < 1:
            raise ValueError("max_size must be at least 1")
        self.max_size, self.ttl_s, self.clock = max_size, ttl_s, clock
        self._items: OrderedDict[Hashable, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        """Return a fresh value, or None (an expired one is dropped)."""
        with self._lock:
            hit = self._items.get(key)
            if hit is None:
                return None
            if self.clock() - hit[0] >= self.ttl_s:
                del self._items[key]
                return None
            self._items.move_to_end(key)
            return hit[1]

    def put(self, key: Hashable, value: V) -> None:
        """Store a value; past the cap, drop expired entries first, then the oldest used."""
        now = self.clock()
        with self._lock:
            self._items[key] = (now, value)
            self._items.move_to_end(key)
            if len(self._items) > self.max_size:
                for stale in [k for k, (at, _) in self._items.items() if now - at >= self.ttl_s]:
                    del self._items[stale]
            while len(self._items) > self.max_size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)
