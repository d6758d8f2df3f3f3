"""`BackendSelection`, the interface of selection algorithms, and `UniqueIterator`.

A selection is built from the sorted backends each time the set changes; `iter(key)` yields
backends in the order to try them (the first is the first choice; repeats allowed, the caller
skips them). `on_start` / `on_done` let an algorithm that watches load (least connections)
count requests; `SelectionLease` pairs the two calls. No health logic here.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Iterator, Sequence
from types import TracebackType
from typing import Self

from pingora_load_balancing._backend import Backend

__all__ = ["BackendSelection", "SelectionLease", "UniqueIterator", "check_max_iterations"]


def check_max_iterations(max_iterations: object) -> int:
    if isinstance(max_iterations, bool) or not isinstance(max_iterations, int):
        raise TypeError(f"max_iterations must be an int, not {type(max_iterations).__name__}")
    if max_iterations < 0:
        raise ValueError(f"max_iterations must be >= 0, got {max_iterations}")
    return max_iterations


class BackendSelection(abc.ABC):
    """An algorithm for choosing backends, built over one snapshot of them.

    Subclasses implement `iter(key)`. `build(backends, previous)` makes the selection for a
    new set of backends; `previous` is the selection it replaces (or None) so that state
    worth keeping (in-flight counts) can be carried over.
    """

    __slots__ = ("_backends",)

    def __init__(self, backends: Iterable[Backend]) -> None:
        items = tuple(backends)
        for i, b in enumerate(items):
            if not isinstance(b, Backend):
                raise TypeError(f"backends[{i}] must be a Backend, not {type(b).__name__}")
        self._backends: tuple[Backend, ...] = tuple(sorted(items))

    @classmethod
    def build(
        cls, backends: Sequence[Backend], previous: BackendSelection | None = None
    ) -> Self:
        """The selection over `backends`, replacing `previous`."""
        return cls(backends)

    @property
    def backends(self) -> tuple[Backend, ...]:
        """The backends this selection was built over, sorted."""
        return self._backends

    @abc.abstractmethod
    def iter(self, key: bytes) -> Iterator[Backend]:
        """Backends in the order to try them for `key` (may repeat, may never end)."""

    def on_start(self, backend: Backend) -> None:
        """A request to `backend` started (used by load-aware algorithms; a no-op here)."""
        return

    def on_done(self, backend: Backend) -> None:
        """A request to `backend` finished (a no-op here)."""
        return

    def track(self, backend: Backend) -> SelectionLease:
        """Count a request to `backend` until the returned lease is released."""
        return SelectionLease(self, backend)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(backends={len(self._backends)})"


class SelectionLease:
    """One request counted against a backend: `on_start` when made, `on_done` on `release()`
    (once) or at the end of a `with` block. Made by `LoadBalancer.track` (which reports the end
    to the selection current at that time, so a rebuild in between loses nothing) or
    `BackendSelection.track`."""

    __slots__ = ("_backend", "_done_on")

    def __init__(
        self,
        selection: BackendSelection,
        backend: Backend,
        done_on: Callable[[], BackendSelection] | None = None,
    ) -> None:
        if not isinstance(backend, Backend):
            raise TypeError(f"backend must be a Backend, not {type(backend).__name__}")
        selection.on_start(backend)
        self._done_on: Callable[[], BackendSelection] | None = (
            (lambda: selection) if done_on is None else done_on
        )
        self._backend = backend

    @property
    def backend(self) -> Backend:
        return self._backend

    @property
    def released(self) -> bool:
        return self._done_on is None

    def release(self) -> None:
        """End the request; later calls do nothing."""
        done_on, self._done_on = self._done_on, None
        if done_on is not None:
            done_on().on_done(self._backend)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"SelectionLease(backend={self._backend!r}, released={self.released})"


class UniqueIterator:
    """Wraps a backend iterator: yields each backend once, and stops once `max_iterations`
    items have been pulled from it (repeats count too)."""

    __slots__ = ("_iter", "_max", "_seen", "_steps")

    def __init__(self, backends: Iterable[Backend], max_iterations: int) -> None:
        self._iter = iter(backends)
        self._max = check_max_iterations(max_iterations)
        self._seen: set[int] = set()
        self._steps = 0

    def get_next(self) -> Backend | None:
        """The next backend not seen before, or None when exhausted or over the limit."""
        for item in self._iter:
            if self._steps >= self._max:
                return None
            self._steps += 1
            key = item.hash_key()
            if key not in self._seen:
                self._seen.add(key)
                return item
        return None

    def __iter__(self) -> Iterator[Backend]:
        return self

    def __next__(self) -> Backend:
        item = self.get_next()
        if item is None:
            raise StopIteration
        return item

    def __repr__(self) -> str:
        return f"UniqueIterator(steps={self._steps}, max_iterations={self._max})"
