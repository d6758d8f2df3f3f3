"""`LeastConnections`: the backend with the fewest requests in flight per unit of weight.

The proxy reports load with `on_start(backend)` / `on_done(backend)` (or
`LoadBalancer.track(backend)`, which pairs them). The counts live in a table shared by every
rebuild of the selection, so a change in the set of backends does not forget requests that are
still running. Ties go to the backend that sorts first; the fallbacks are the others in order
of load. The key is ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Self

from pingora_load_balancing._backend import Backend
from pingora_load_balancing._selection._base import BackendSelection

__all__ = ["LeastConnections"]


class LeastConnections(BackendSelection):
    """Picks the backend with the lowest in-flight count divided by its weight."""

    __slots__ = ("_counts", "_index", "_loads")

    def __init__(
        self, backends: Iterable[Backend], counts: dict[int, int] | None = None
    ) -> None:
        super().__init__(backends)
        self._counts: dict[int, int] = {} if counts is None else counts
        self._index = {b.hash_key(): i for i, b in enumerate(self._backends)}
        # load per backend, in backend order: in-flight / weight, kept current by on_start/done
        self._loads = [self._counts.get(b.hash_key(), 0) / b.weight for b in self._backends]

    @classmethod
    def build(
        cls, backends: Sequence[Backend], previous: BackendSelection | None = None
    ) -> Self:
        counts = previous._counts if isinstance(previous, LeastConnections) else None
        return cls(backends, counts)

    def inflight(self, backend: Backend) -> int:
        """Requests to `backend` started and not yet done."""
        return self._counts.get(backend.hash_key(), 0)

    def _set(self, key: int, count: int) -> None:
        if count > 0:
            self._counts[key] = count
        else:
            self._counts.pop(key, None)
            count = 0
        i = self._index.get(key)
        if i is not None:
            self._loads[i] = count / self._backends[i].weight

    def on_start(self, backend: Backend) -> None:
        key = backend.hash_key()
        self._set(key, self._counts.get(key, 0) + 1)

    def on_done(self, backend: Backend) -> None:
        key = backend.hash_key()
        self._set(key, self._counts.get(key, 0) - 1)

    def iter(self, key: bytes) -> Iterator[Backend]:
        if not self._backends:
            return iter(())
        loads = self._loads
        return self._walk(loads.index(min(loads)))

    def _walk(self, first: int) -> Iterator[Backend]:
        backends = self._backends
        yield backends[first]
        # the fallbacks, by the loads as they are when the first choice was refused
        rest = sorted((load, i) for i, load in enumerate(self._loads) if i != first)
        for _, i in rest:
            yield backends[i]

    def __repr__(self) -> str:
        inflight = sum(self._counts.get(k, 0) for k in self._index)
        return f"LeastConnections(backends={len(self._backends)}, inflight={inflight})"
