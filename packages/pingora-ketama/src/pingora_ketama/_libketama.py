"""`LibketamaContinuum`: a ring shared with memcached-style (libketama) clients, via uhashring.

uhashring's ketama-compatible `HashRing` lays out the points (MD5 of `"address-N"`, four points
per digest, 40 × node count × weight / total weight digests per node); this module copies them
into sorted lists and answers lookups itself: MD5 of the raw key bytes, the first four digest
bytes read little-endian, and the first point whose hash is greater than that, wrapping. That is
exactly uhashring's `get_node(key)` for a text key, also for bytes that are not UTF-8.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from hashlib import md5

from uhashring import HashRing

from pingora_ketama._bucket import Bucket
from pingora_ketama._continuum import check_buckets
from pingora_ketama._ring import Key, Ring

__all__ = ["LibketamaContinuum"]


def _key_hash(key: Key) -> int:
    return int.from_bytes(md5(key, usedforsecurity=False).digest()[:4], "little")


class LibketamaContinuum(Ring):
    """A libketama-style ring over `buckets` with the same API as `Continuum`.

    A bucket's node name on the ring is its address as given. Addresses must be unique.
    A bucket whose weight share rounds down to no points is never chosen (as in libketama).
    """

    __slots__ = ()

    def __init__(self, buckets: Iterable[Bucket]) -> None:
        self._buckets = check_buckets(buckets)
        nodes: dict[str, dict[str, int]] = {}
        for bucket in self._buckets:
            if bucket.address in nodes:
                raise ValueError(f"duplicate bucket address {bucket.address!r}")
            nodes[bucket.address] = {"weight": bucket.weight}
        ring = HashRing(nodes=nodes, hash_fn="ketama")
        points: list[tuple[int, str]] = ring.get_points()
        self._set_points([h for h, _ in points], [name for _, name in points])

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
