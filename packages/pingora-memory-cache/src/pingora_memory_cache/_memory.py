"""MemoryCache: TinyUfo plus per-entry TTLs, answering with a CacheStatus.

Time comes from an injectable monotonic clock (seconds). Expired entries are not purged eagerly:
they answer EXPIRED (or stale) until TinyUfo evicts them or they are overwritten.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable, Iterable
from typing import Generic, TypeVar

from ._status import CacheStatus
from ._tinyufo import TinyUfo

__all__ = ["Clock", "MemoryCache", "check_ttl"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

Clock = Callable[[], float]

_HIT = CacheStatus.HIT
_MISS = CacheStatus.MISS
_EXPIRED = CacheStatus.EXPIRED


def check_ttl(ttl: object, name: str = "ttl") -> float | None:
    """Validate a TTL in seconds: None (never expires) or a number >= 0."""
    if ttl is None:
        return None
    if isinstance(ttl, bool) or not isinstance(ttl, int | float) or math.isnan(ttl) or ttl < 0:
        raise ValueError(f"{name} must be None or seconds >= 0, got {ttl!r}")
    return float(ttl)


class MemoryCache(Generic[K, V]):
    """An in-memory cache of `size` entries (TinyUfo eviction) whose entries may expire.

    `clock` returns monotonic seconds (default `time.monotonic`); tests pass a fake one.
    """

    def __init__(self, size: int, *, clock: Clock = time.monotonic) -> None:
        if not callable(clock):
            raise TypeError(f"clock must be a callable returning seconds, got {clock!r}")
        self._store: TinyUfo[K, tuple[V, float | None]] = TinyUfo(size, size)
        self._clock = clock

    def __repr__(self) -> str:
        return f"MemoryCache(size={self._store.maxsize}, len={len(self._store)})"

    def __len__(self) -> int:
        """Entries held, including expired ones not evicted yet."""
        return len(self._store)

    @property
    def size(self) -> int:
        """The maximum number of entries."""
        return self._store.maxsize

    @property
    def clock(self) -> Clock:
        """The clock TTLs are measured against."""
        return self._clock

    def get(self, key: K) -> tuple[V | None, CacheStatus]:
        """`(value, HIT)`, or `(None, MISS)`, or `(None, EXPIRED)` when its TTL has passed."""
        node = self._store.get(key)
        if node is None:
            return None, _MISS
        value, expire_at = node
        if expire_at is not None and expire_at <= self._clock():
            return None, _EXPIRED
        return value, _HIT

    def get_stale(self, key: K) -> tuple[V | None, CacheStatus]:
        """Like `get` but an expired value is returned too, as `CacheStatus.stale(seconds)`."""
        node = self._store.get(key)
        if node is None:
            return None, _MISS
        value, expire_at = node
        if expire_at is not None:
            now = self._clock()
            if expire_at <= now:
                return value, CacheStatus.stale(now - expire_at)
        return value, _HIT

    def put(self, key: K, value: V, ttl: float | None = None) -> None:
        """Cache `value` for `ttl` seconds (None: no expiry, 0: not stored) if admitted."""
        node = self._node(value, ttl)
        if node is not None:
            self._store.put(key, node)

    def force_put(self, key: K, value: V, ttl: float | None = None) -> None:
        """Like `put` but bypass TinyLFU admission, so the value is cached at once."""
        node = self._node(value, ttl)
        if node is not None:
            self._store.force_put(key, node)

    def remove(self, key: K) -> None:
        """Drop `key` if cached."""
        self._store.remove(key)

    def multi_get(self, keys: Iterable[K]) -> list[tuple[V | None, CacheStatus]]:
        """`get` for each key, in order."""
        get = self.get
        return [get(key) for key in keys]

    def multi_get_with_miss(
        self, keys: Iterable[K]
    ) -> tuple[list[tuple[V | None, CacheStatus]], list[K]]:
        """`multi_get` plus the keys that had no fresh value (missed or expired), in order."""
        results: list[tuple[V | None, CacheStatus]] = []
        missed: list[K] = []
        for key in keys:
            answer = self.get(key)
            if answer[1] is not _HIT:
                missed.append(key)
            results.append(answer)
        return results, missed

    def _node(self, value: V, ttl: float | None) -> tuple[V, float | None] | None:
        seconds = check_ttl(ttl)
        if seconds is None:
            return value, None
        if seconds == 0:
            return None
        return value, self._clock() + seconds
