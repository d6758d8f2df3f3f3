"""`Consistent`: ketama consistent hashing over the backends (Pingora's `KetamaHashing`).

Each IP backend is a `pingora_ketama.Bucket` of its weight (160 points per unit) on an
nginx-compatible `Continuum`; a key goes to the first point at or after its CRC-32, and the
fallbacks walk the ring on from there. Unix socket backends cannot be placed on the ring and
are never chosen by this algorithm, as in Pingora.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from pingora_ketama import Bucket, Continuum
from pingora_load_balancing._backend import Backend
from pingora_load_balancing._selection._base import BackendSelection

__all__ = ["Consistent"]


class Consistent(BackendSelection):
    """Keys stick to a backend; adding or removing one moves only about its share of keys."""

    __slots__ = ("_by_addr", "_ring")

    def __init__(self, backends: Iterable[Backend]) -> None:
        super().__init__(backends)
        placed = [b for b in self._backends if not b.is_unix]
        self._ring = Continuum(Bucket(b.canonical_addr, b.weight) for b in placed)
        # Equal addresses with different weights: the later (heavier) one answers, as in Pingora.
        self._by_addr = {b.canonical_addr: b for b in placed}

    @property
    def ring(self) -> Continuum:
        """The ketama ring the backends were placed on."""
        return self._ring

    def iter(self, key: bytes) -> Iterator[Backend]:
        return map(self._by_addr.__getitem__, self._ring.node_iter(key))
