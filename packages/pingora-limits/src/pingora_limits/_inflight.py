"""Counts of work in progress per key: ``Inflight.incr`` adds and hands back a guard that
takes the count away again exactly once.

The guard gives its count back on ``release()``, at the end of a ``with`` block, or, as a
safety net, when it is garbage-collected unreleased (so a forgotten guard does not leave a key
looking busy forever). Release is a single atomic list pop, so two threads releasing the same
guard still give the count back once.
"""

from __future__ import annotations

from types import TracebackType

from ._checks import check_count, check_size
from ._estimator import Estimator

__all__ = ["Inflight", "InflightGuard"]


class InflightGuard:
    """One ``Inflight.incr`` that is still counted; ``release()`` undoes it once.

    Made by ``Inflight.incr``; use it as a context manager or call ``release()`` when the work
    is done. Releasing again does nothing.
    """

    __slots__ = ("_armed", "_estimator", "_key", "_value")

    def __init__(self, estimator: Estimator, key: str | bytes, value: int) -> None:
        self._estimator = estimator
        self._key = key
        self._value = value
        self._armed = [True]

    @property
    def key(self) -> str | bytes:
        """The key this guard counts."""
        return self._key

    @property
    def value(self) -> int:
        """The amount this guard added and gives back on release."""
        return self._value

    @property
    def released(self) -> bool:
        """Whether the count has been given back."""
        return not self._armed

    def get(self) -> int:
        """The current estimate for this guard's key (all guards of the key together)."""
        return self._estimator.get(self._key)

    def release(self) -> None:
        """Give the count back; later calls do nothing."""
        try:
            self._armed.pop()
        except IndexError:
            return
        self._estimator.decr(self._key, self._value)

    def __enter__(self) -> InflightGuard:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def __del__(self) -> None:
        # a guard may be collected before __init__ finished (bad arguments): nothing to undo then
        if getattr(self, "_armed", None):
            self.release()

    def __repr__(self) -> str:
        return f"InflightGuard(key={self._key!r}, value={self._value}, released={self.released})"


class Inflight:
    """Estimated counts of in-progress work per key, kept in a 4 × 8192 count-min sketch."""

    __slots__ = ("_estimator",)

    def __init__(self, *, hashes: int = 4, slots: int = 8192) -> None:
        self._estimator = Estimator(check_size("hashes", hashes), check_size("slots", slots))

    def incr(self, key: str | bytes, n: int = 1) -> tuple[InflightGuard, int]:
        """Add ``n`` for ``key``; return the guard that gives it back and the new estimate."""
        if n.__class__ is not int:
            n = check_count(n)
        count = self._estimator.incr(key, n)
        # the guard is made only after the increment succeeded, so a bad key leaves nothing
        return InflightGuard(self._estimator, key, n), count

    def get(self, key: str | bytes) -> int:
        """The key's current estimate."""
        return self._estimator.get(key)

    def __repr__(self) -> str:
        e = self._estimator
        return f"Inflight(hashes={e.hashes}, slots={e.slots})"
