"""Weighted selection (`Weighted`) and its three algorithms: `RoundRobin`, `Random`, `FNVHash`.

As in Pingora: the first pick indexes the weight-expanded list (each backend repeated `weight`
times, in backend order) with `next_index(key)`; every fallback feeds the previous index, as 8
little-endian bytes, back through `next_index` and picks uniformly from the plain list, so the
retries do not favour the heavy backends. Indexes are taken modulo the list length.
"""

from __future__ import annotations

import abc
import itertools
import random
from collections.abc import Iterable, Iterator

from pingora_load_balancing._backend import Backend
from pingora_load_balancing._hashing import MASK64, fnv1a64
from pingora_load_balancing._selection._base import BackendSelection

__all__ = ["FNVHash", "Random", "RoundRobin", "Weighted"]


class Weighted(BackendSelection):
    """Weighted selection driven by `next_index(key) -> int` (a 64-bit number); subclass it
    with your own `next_index` for another hash."""

    __slots__ = ("_weighted",)

    def __init__(self, backends: Iterable[Backend]) -> None:
        super().__init__(backends)
        self._weighted: tuple[Backend, ...] = tuple(
            b for b in self._backends for _ in range(b.weight)
        )

    @abc.abstractmethod
    def next_index(self, key: bytes) -> int:
        """A 64-bit index for `key` (the caller takes it modulo the list length)."""

    def iter(self, key: bytes) -> Iterator[Backend]:
        if not self._backends:
            return iter(())
        return self._walk(self.next_index(key))

    def _walk(self, index: int) -> Iterator[Backend]:
        weighted = self._weighted
        yield weighted[index % len(weighted)]
        backends = self._backends
        count = len(backends)
        step = self.next_index
        while True:
            index = step((index & MASK64).to_bytes(8, "little"))
            yield backends[index % count]


class RoundRobin(Weighted):
    """Each call takes the next slot of the weight-expanded list; the key is ignored."""

    __slots__ = ("_counter",)

    def __init__(self, backends: Iterable[Backend]) -> None:
        super().__init__(backends)
        self._counter = itertools.count()

    def next_index(self, key: bytes) -> int:
        return next(self._counter)


class Random(Weighted):
    """A random slot of the weight-expanded list; the key is ignored."""

    __slots__ = ()

    def next_index(self, key: bytes) -> int:
        return random.getrandbits(64)


class FNVHash(Weighted):
    """The slot of the weight-expanded list given by 64-bit FNV-1a of the key."""

    __slots__ = ()

    def next_index(self, key: bytes) -> int:
        if not isinstance(key, bytes | bytearray | memoryview):
            raise TypeError(f"the key must be bytes, not {type(key).__name__}")
        return fnv1a64(key)
