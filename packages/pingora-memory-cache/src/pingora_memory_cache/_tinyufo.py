"""TinyUfo: a weighted in-memory cache with S3-FIFO eviction and TinyLFU admission.

Also a `cachetools`-compatible mutable mapping (maxsize / currsize / getsizeof), registered as a
virtual subclass of `cachetools.Cache`. Not thread-safe: use it from one thread (or pass a lock to
`cachetools.cached`). Knows nothing about TTLs.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable, Iterator, MutableMapping
from typing import Any, Generic, Literal, NamedTuple, TypeVar, overload

import cachetools

from ._estimation import TinyLfu

__all__ = ["KV", "TinyUfo"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
T = TypeVar("T")

USES_CAP = 3  # an entry's use count never exceeds this: the main queue always drains quickly
_SMALL, _MAIN, _GONE = 0, 1, -1  # where an entry lives; _GONE marks a tombstone left in a queue
_MISSING: Any = object()


class KV(NamedTuple, Generic[K, V]):
    """An entry that left the cache (evicted, or a newcomer refused by admission)."""

    key: K
    value: V
    weight: int


class _Entry:
    """One cached value and its S3-FIFO bookkeeping."""

    __slots__ = ("key", "queue", "uses", "value", "weight")

    def __init__(self, key: Any, value: Any, weight: int) -> None:
        self.key = key
        self.value = value
        self.weight = weight
        self.uses = 0
        self.queue = _SMALL


def _check_positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return value


class TinyUfo(MutableMapping[K, V]):
    """A cache of at most `total_weight_limit` total weight.

    New keys enter a small FIFO queue (≈10% of the limit). Eviction from the small queue promotes
    entries read more than once to the main FIFO queue; the main queue gives each entry as many
    second chances as it has uses (capped at 3). When a put evicts exactly one entry, TinyLFU
    compares the newcomer's estimated frequency with the victim's and keeps the more popular one;
    a refused newcomer comes back in the evicted list. `estimated_size` (default: the weight
    limit) sizes the frequency sketch.
    """

    def __init__(
        self,
        total_weight_limit: int,
        estimated_size: int | None = None,
        *,
        getsizeof: Callable[[V], int] | None = None,
    ) -> None:
        self._limit = _check_positive_int("total_weight_limit", total_weight_limit)
        size = total_weight_limit if estimated_size is None else estimated_size
        self._estimated_size = _check_positive_int("estimated_size", size)
        self._small_limit = total_weight_limit // 10 + 1
        self._sketch = TinyLfu(size)
        self._map: dict[K, _Entry] = {}
        self._small: deque[_Entry] = deque()
        self._main: deque[_Entry] = deque()
        self._small_weight = 0
        self._main_weight = 0
        self._tombstones = 0
        if getsizeof is not None:
            if not callable(getsizeof):
                raise TypeError(f"getsizeof must be callable, got {getsizeof!r}")
            self._getsizeof: Callable[[V], int] | None = getsizeof
        else:
            self._getsizeof = None

    def __repr__(self) -> str:
        return (
            f"TinyUfo(maxsize={self._limit}, currsize={self.currsize}, len={len(self._map)}, "
            f"small_weight={self._small_weight}, main_weight={self._main_weight})"
        )

    # -- the cache API ------------------------------------------------------------------------

    @overload
    def get(self, key: K, /) -> V | None: ...
    @overload
    def get(self, key: K, /, default: V | T) -> V | T: ...

    def get(self, key: K, /, default: Any = None) -> Any:
        """Return the value cached under `key` (counting a use), else `default`."""
        entry = self._map.get(key)
        if entry is None:
            return default
        if entry.uses < USES_CAP:
            entry.uses += 1
        return entry.value

    def put(self, key: K, value: V, weight: int = 1) -> list[KV[K, V]]:
        """Cache `value` under `key` subject to admission; return what left the cache.

        A refused newcomer is returned among the evicted. `weight` must be in 1..maxsize.
        """
        return self._admit(key, value, self._check_weight(weight), True)

    def force_put(self, key: K, value: V, weight: int = 1) -> list[KV[K, V]]:
        """Like `put` but skip the admission check: `key` is cached (until evicted later)."""
        return self._admit(key, value, self._check_weight(weight), False)

    @overload
    def remove(self, key: K, /) -> V | None: ...
    @overload
    def remove(self, key: K, /, default: V | T) -> V | T: ...

    def remove(self, key: K, /, default: Any = None) -> Any:
        """Drop `key`; return its value, or `default` when it was not cached."""
        entry = self._map.pop(key, None)
        if entry is None:
            return default
        self._bury(entry)
        return entry.value

    def queue_of(self, key: K) -> Literal["small", "main"] | None:
        """Which S3-FIFO queue holds `key` ("small" or "main"), or None; does not count a use."""
        entry = self._map.get(key)
        if entry is None:
            return None
        return "main" if entry.queue == _MAIN else "small"

    # -- cachetools.Cache compatibility ------------------------------------------------------

    @property
    def maxsize(self) -> int:
        """The total weight limit."""
        return self._limit

    @property
    def currsize(self) -> int:
        """The total weight cached now."""
        return self._small_weight + self._main_weight

    @property
    def estimated_size(self) -> int:
        """The number of items the frequency sketch is sized for."""
        return self._estimated_size

    def getsizeof(self, value: V) -> int:
        """The weight `cache[key] = value` stores `value` with (1 unless `getsizeof` was given)."""
        if self._getsizeof is None:
            return 1
        return self._getsizeof(value)

    def __getitem__(self, key: K) -> V:
        entry = self._map.get(key)
        if entry is None:
            return self.__missing__(key)
        if entry.uses < USES_CAP:
            entry.uses += 1
        return entry.value  # type: ignore[no-any-return]

    def __missing__(self, key: K) -> V:
        raise KeyError(key)

    def __setitem__(self, key: K, value: V) -> None:
        weight = self.getsizeof(value)
        if isinstance(weight, int) and weight > self._limit:
            raise ValueError("value too large")
        self._admit(key, value, self._check_weight(weight), True)

    def __delitem__(self, key: K) -> None:
        entry = self._map.pop(key, None)
        if entry is None:
            raise KeyError(key)
        self._bury(entry)

    def __contains__(self, key: object) -> bool:
        return key in self._map

    def __iter__(self) -> Iterator[K]:
        return iter(self._map)

    def __len__(self) -> int:
        return len(self._map)

    @overload
    def pop(self, key: K, /) -> V: ...
    @overload
    def pop(self, key: K, /, default: V | T) -> V | T: ...

    def pop(self, key: K, /, default: Any = _MISSING) -> Any:
        """Remove `key` and return its value; `default` (or KeyError) when it is not cached."""
        entry = self._map.pop(key, None)
        if entry is None:
            if default is _MISSING:
                raise KeyError(key)
            return default
        self._bury(entry)
        return entry.value

    def popitem(self) -> tuple[K, V]:
        """Evict one entry as the eviction policy picks it; return `(key, value)`."""
        kv = self._evict_one()
        if kv is None:
            raise KeyError("TinyUfo is empty")
        return kv.key, kv.value

    def clear(self) -> None:
        """Drop every entry (the frequency sketch keeps its history)."""
        self._map.clear()
        self._small.clear()
        self._main.clear()
        self._small_weight = self._main_weight = self._tombstones = 0

    # -- S3-FIFO + TinyLFU ---------------------------------------------------------------------

    def _check_weight(self, weight: object) -> int:
        if type(weight) is int and 0 < weight <= self._limit:
            return weight
        if isinstance(weight, bool) or not isinstance(weight, int):
            raise TypeError(f"weight must be an int, got {weight!r}")
        raise ValueError(f"weight must be in 1..{self._limit} (the weight limit), got {weight}")

    def _admit(self, key: K, value: V, weight: int, admission: bool) -> list[KV[K, V]]:
        new_freq = self._sketch.incr(key)
        entry = self._map.get(key)
        if entry is not None:  # update in place: same queue, one more use
            delta = weight - entry.weight
            entry.value = value
            entry.weight = weight
            if entry.uses < USES_CAP:
                entry.uses += 1
            if entry.queue == _MAIN:
                self._main_weight += delta
            else:
                self._small_weight += delta
            # the updated entry itself may be chosen if it grew past the limit
            return self._evict_to_limit(0)

        evicted = self._evict_to_limit(weight)
        if admission and len(evicted) == 1:
            victim = evicted[0]
            if self._sketch.get(victim.key) > new_freq:
                # the victim is more popular: keep it, refuse the newcomer
                evicted[0] = KV(key, value, weight)
                key, value, weight = victim
        entry = _Entry(key, value, weight)
        self._map[key] = entry
        self._small_weight += weight
        self._small.append(entry)
        return evicted

    def _evict_to_limit(self, extra_weight: int) -> list[KV[K, V]]:
        limit = self._limit - extra_weight
        evicted: list[KV[K, V]] = []
        while self._small_weight + self._main_weight > limit:
            kv = self._evict_one()
            if kv is None:
                break
            evicted.append(kv)
        return evicted

    def _evict_one(self) -> KV[K, V] | None:
        if self._small_weight >= self._small_limit:
            kv = self._evict_from_small()
            if kv is not None:
                return kv
        kv = self._evict_from_main()
        if kv is None:  # main is empty: the small queue is all there is
            kv = self._evict_from_small()
        return kv

    def _evict_from_small(self) -> KV[K, V] | None:
        small = self._small
        while small:
            entry = small.popleft()
            if entry.queue == _GONE:
                self._tombstones -= 1
                continue
            self._small_weight -= entry.weight
            if entry.uses > 1:  # read again while in the small queue: promote
                entry.queue = _MAIN
                self._main.append(entry)
                self._main_weight += entry.weight
                continue
            return self._drop(entry)
        return None

    def _evict_from_main(self) -> KV[K, V] | None:
        main = self._main
        while main:
            entry = main.popleft()
            if entry.queue == _GONE:
                self._tombstones -= 1
                continue
            if entry.uses > 0:  # second chance, paid for with one use
                entry.uses -= 1
                main.append(entry)
                continue
            self._main_weight -= entry.weight
            return self._drop(entry)
        return None

    def _drop(self, entry: _Entry) -> KV[K, V]:
        del self._map[entry.key]
        entry.queue = _GONE
        return KV(entry.key, entry.value, entry.weight)

    def _bury(self, entry: _Entry) -> None:
        """Account for an entry just removed from the map; it stays queued as a tombstone."""
        if entry.queue == _MAIN:
            self._main_weight -= entry.weight
        else:
            self._small_weight -= entry.weight
        entry.queue = _GONE
        self._tombstones += 1
        if self._tombstones > 64 and self._tombstones > len(self._map):
            self._small = deque(e for e in self._small if e.queue != _GONE)
            self._main = deque(e for e in self._main if e.queue != _GONE)
            self._tombstones = 0


cachetools.Cache.register(TinyUfo)
