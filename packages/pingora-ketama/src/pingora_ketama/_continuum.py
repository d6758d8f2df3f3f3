"""`Continuum`: the consistent hash ring that picks the same server as nginx's `hash consistent`.

Building: for each bucket in order, 160 × weight points; point k hashes with CRC-32 the bucket's
`host NUL port` bytes followed by point k-1's hash as 4 little-endian bytes (0 for the first).
Points are sorted by hash, stably, and of equal hashes only the first is kept. Lookup: the first
point whose hash is ≥ CRC-32(key), wrapping to the start: one bisect over a sorted list of
ints, skipped for most keys by a prefix table that holds the same answers.
This module only builds and reads the ring; it does no I/O and keeps no health state.
"""

from __future__ import annotations

import zlib
from bisect import bisect_left
from collections.abc import Iterable

from pingora_ketama._bucket import Bucket
from pingora_ketama._ring import Key, Ring

__all__ = ["POINTS_PER_WEIGHT", "Continuum", "Key", "check_buckets"]

# Points on the ring per unit of bucket weight (nginx's constant).
POINTS_PER_WEIGHT = 160

_crc32 = zlib.crc32


def check_buckets(buckets: Iterable[Bucket]) -> tuple[Bucket, ...]:
    """`buckets` as a tuple, or a TypeError naming the first item that is not a `Bucket`."""
    given: object = buckets  # a str is an iterable too, of one-character strings
    if isinstance(given, str | bytes):
        raise TypeError("buckets must be an iterable of Bucket, not a string")
    items = tuple(buckets)
    for i, bucket in enumerate(items):
        if not isinstance(bucket, Bucket):
            raise TypeError(f"buckets[{i}] must be a Bucket, not {type(bucket).__name__}")
    return items


def _points(bucket: Bucket) -> list[int]:
    base = bucket._base_crc
    prev = 0
    hashes = []
    for _ in range(bucket.weight * POINTS_PER_WEIGHT):
        prev = _crc32(prev.to_bytes(4, "little"), base)
        hashes.append(prev)
    return hashes


class Continuum(Ring):
    """A ring of points built from `buckets`; `node(key)` is the address of the key's bucket."""

    __slots__ = ()

    def __init__(self, buckets: Iterable[Bucket]) -> None:
        self._buckets = check_buckets(buckets)
        hashes: list[int] = []
        owners: list[str] = []
        for bucket in self._buckets:
            points = _points(bucket)
            hashes.extend(points)
            owners.extend([bucket.address] * len(points))
        # sorted() is stable: of equal hashes the earliest generated point comes first.
        order = sorted(range(len(hashes)), key=hashes.__getitem__)
        ring_hashes: list[int] = []
        ring_points: list[str] = []
        last = -1
        for i in order:
            h = hashes[i]
            if h != last:
                ring_hashes.append(h)
                ring_points.append(owners[i])
                last = h
        self._set_points(ring_hashes, ring_points)

    def node_idx(self, key: Key) -> int:
        """The index of the ring point `key` maps to (0 for an empty ring)."""
        i = bisect_left(self._hashes, _crc32(key))
        return 0 if i == len(self._hashes) else i

    def node(self, key: Key) -> str | None:
        """The address of the bucket `key` maps to, or None if the ring is empty."""
        h = _crc32(key)
        addr = self._table[h >> self._shift]
        if addr is None:
            return self._lookup[bisect_left(self._hashes, h)]
        return addr
