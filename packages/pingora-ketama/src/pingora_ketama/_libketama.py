"""`LibketamaContinuum`: a ring shared with memcached-style (libketama) clients, via uhashring.

uhashring's ketama-compatible `HashRing` lays out the points (MD5 of `"address-N"`, four points
per digest, 40 × node count × weight / total weight digests per node); this module copies them
into sorted lists and answers lookups itself: MD5 of the raw key bytes, the first four digest
bytes read little-endian, and the first point whose hash is greater than that, wrapping. That is
exactly uhashring's `get_node(key)` for a text key, also for bytes that are not UTF-8.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator
from hashlib import md5

from uhashring import HashRing

from pingora_ketama._bucket import Bucket
from pingora_ketama._continuum import Key, check_buckets, walk
from pingora_ketama._prefix_table import prefix_table

__all__ = ["LibketamaContinuum"]


def _key_hash(key: Key) -> int:
    return int.from_bytes(md5(key, usedforsecurity=False).digest()[:4], "little")


class LibketamaContinuum:
    """A libketama-style ring over `buckets` with the same API as `Continuum`.

    A bucket's node name on the ring is its address as given. Addresses must be unique.
    A bucket whose weight share rounds down to no points is never chosen (as in libketama).
    """

    __slots__ = ("_buckets", "_hashes", "_lookup", "_points", "_shift", "_table")

    def __init__(self, buckets: Iterable[Bucket]) -> None:
        self._buckets = check_buckets(buckets)
        nodes: dict[str, dict[str, int]] = {}
        for bucket in self._buckets:
            if bucket.address in nodes:
                raise ValueError(f"duplicate bucket address {bucket.address!r}")
            nodes[bucket.address] = {"weight": bucket.weight}
        ring = HashRing(nodes=nodes, hash_fn="ketama")
        points: list[tuple[int, str]] = ring.get_points()
        self._hashes = [h for h, _ in points]
        self._points = [name for _, name in points]
        self._lookup: list[str | None] = [
            *self._points,
            self._points[0] if self._points else None,
        ]
        self._shift, self._table = prefix_table(self._hashes, self._lookup)

    @property
    def buckets(self) -> tuple[Bucket, ...]:
        """The buckets the ring was built from, in the order given."""
        return self._buckets

    def __len__(self) -> int:
        """The number of points on the ring."""
        return len(self._hashes)

    def __repr__(self) -> str:
        return f"LibketamaContinuum(buckets={len(self._buckets)}, points={len(self._hashes)})"

    def node_idx(self, key: Key) -> int:
        """The index of the ring point `key` maps to (0 for an empty ring)."""
        i = bisect_right(self._hashes, _key_hash(key))
        return 0 if i == len(self._hashes) else i

    def node(self, key: Key) -> str | None:
        """The address of the bucket `key` maps to, or None if the ring is empty."""
        h = _key_hash(key)
        addr = self._table[h >> self._shift]
        if addr is None:
            return self._lookup[bisect_right(self._hashes, h)]
        return addr

    def node_iter(self, key: Key) -> Iterator[str]:
        """The addresses of the ring's points from `key`'s point on, wrapping, forever.

        The first item is `node(key)`. Yields nothing for an empty ring.
        """
        return walk(self._points, self.node_idx(key))

    def point_hash(self, idx: int) -> int:
        """The hash of the ring point at index `idx`."""
        return self._hashes[idx]
