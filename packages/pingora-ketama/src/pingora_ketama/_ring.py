"""What both ring flavours share: sorted point hashes with their owners' addresses, the prefix
table over them, and the read-only accessors and failover walk built on `node_idx`.

Each flavour (`Continuum`, `LibketamaContinuum`) lays out its own points and hashes keys its own
way; `node` and `node_idx` stay in the flavour so the hot lookup has no indirection.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TypeAlias

from pingora_ketama._bucket import Bucket
from pingora_ketama._prefix_table import prefix_table

__all__ = ["Key", "Ring", "walk"]

# What rings hash: any bytes-like key (a str must be encoded first).
Key: TypeAlias = bytes | bytearray | memoryview


def walk(points: list[str], start: int) -> Iterator[str]:
    """Every item of `points` from index `start` on, wrapping around, forever (nothing if empty)."""
    n = len(points)
    while n:
        for i in range(start, n):
            yield points[i]
        start = 0


class Ring:
    """Sorted ring points and the lookup tables over them; subclasses add `node`/`node_idx`."""

    __slots__ = ("_buckets", "_hashes", "_lookup", "_points", "_shift", "_table")

    _buckets: tuple[Bucket, ...]
    _hashes: list[int]
    _points: list[str]
    _lookup: list[str | None]
    _shift: int
    _table: list[str | None]

    def _set_points(self, hashes: list[int], points: list[str]) -> None:
        """Install the sorted point `hashes` and their owners' addresses `points`."""
        self._hashes = hashes
        self._points = points
        # One extra slot repeats the first point, so a key past the last point wraps to it
        # without a branch; for an empty ring the only slot is None.
        self._lookup = [*points, points[0] if points else None]
        self._shift, self._table = prefix_table(hashes, self._lookup)

    def node_idx(self, key: Key) -> int:
        """The index of the ring point `key` maps to (0 for an empty ring)."""
        raise TypeError(f"{type(self).__name__} must define node_idx")

    @property
    def buckets(self) -> tuple[Bucket, ...]:
        """The buckets the ring was built from, in the order given."""
        return self._buckets

    def __len__(self) -> int:
        """The number of points on the ring."""
        return len(self._hashes)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(buckets={len(self._buckets)}, points={len(self._hashes)})"

    def node_iter(self, key: Key) -> Iterator[str]:
        """The addresses of the ring's points from `key`'s point on, wrapping, forever.

        The first item is `node(key)`; the next ones are the failover order. Addresses repeat
        (a bucket has many points). Yields nothing for an empty ring.
        """
        return walk(self._points, self.node_idx(key))

    def point_hash(self, idx: int) -> int:
        """The hash of the ring point at index `idx`."""
        return self._hashes[idx]
