"""Windowed event rates per key: two count-min sketches, one for the current window of
``interval`` seconds and one for the window before it.

A window lasts ``interval`` seconds from the call that opened it; the first call (``observe``,
``rate`` or ``rate_with``) after it expires opens the next one at that moment, so windows are
not aligned to a fixed grid. When two or more intervals have passed since the last window
opened, both windows are stale and read as empty. Time comes from an injectable clock (seconds,
``time.monotonic`` by default) so tests can step time without sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from ._checks import check_interval, check_size
from ._estimator import Estimator

__all__ = ["Rate", "RateComponents", "proportional_rate_estimate"]

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True, kw_only=True)
class RateComponents:
    """What ``Rate.rate_with`` knows about one key at one moment.

    ``current_interval_fraction`` is how far the current window has run, from 0 (just opened)
    towards 1; with a 10 s interval, 2 s into the window it is 0.2.
    """

    prev_samples: int
    curr_samples: int
    interval: float
    current_interval_fraction: float


def proportional_rate_estimate(components: RateComponents) -> float:
    """Events per second over the last ``interval``, sliding-window style.

    The previous window's count is weighted by the part of it that still falls inside the last
    ``interval`` (``1 - fraction``) and added to the current window's count.
    """
    weighted = (
        components.prev_samples * (1.0 - components.current_interval_fraction)
        + components.curr_samples
    )
    return weighted / components.interval


class Rate:
    """Counts events per key in windows of ``interval`` seconds and reports per-second rates.

    ``observe`` adds to the current window; ``rate`` reports the last completed window;
    ``rate_with`` hands both windows to a function of your choice.
    """

    __slots__ = ("_clock", "_current", "_interval", "_opened", "_previous")

    def __init__(
        self,
        interval: float,
        *,
        hashes: int = 4,
        slots: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._interval = check_interval(interval)
        hashes = check_size("hashes", hashes)
        slots = check_size("slots", slots)
        if not callable(clock):
            raise TypeError(f"clock must be callable, got {type(clock).__name__}")
        self._clock = clock
        self._current = Estimator(hashes, slots)
        self._previous = Estimator(hashes, slots)
        self._opened = float(clock())

    @property
    def interval(self) -> float:
        """The window length in seconds."""
        return self._interval

    def observe(self, key: str | bytes, n: int = 1) -> int:
        """Record ``n`` events for ``key``; return the key's count in the current window."""
        now = self._clock()
        if now - self._opened >= self._interval:
            self._roll(now)
        return self._current.incr(key, n)

    def rate(self, key: str | bytes) -> float:
        """Events per second for ``key`` in the last completed window (0 when it is stale)."""
        since = self._tick()
        if since >= 2 * self._interval:
            return 0.0
        return self._previous.get(key) / self._interval

    def rate_with(self, key: str | bytes, fn: Callable[[RateComponents], _T]) -> _T:
        """Return ``fn`` applied to both windows' counts for ``key``.

        ``proportional_rate_estimate`` is a ready sliding-window choice for ``fn``.
        """
        since = self._tick()
        interval = self._interval
        if since >= 2 * interval:
            prev, curr, fraction = 0, 0, 0.0
        elif since >= interval:
            # this call opened a new window: nothing in it yet, and none of it has elapsed
            prev, curr, fraction = self._previous.get(key), 0, 0.0
        else:
            prev, curr = self._previous.get(key), self._current.get(key)
            fraction = max(since, 0.0) / interval
        return fn(
            RateComponents(
                prev_samples=prev,
                curr_samples=curr,
                interval=interval,
                current_interval_fraction=fraction,
            )
        )

    def _tick(self) -> float:
        """Open a new window if the current one has expired; return the time since it opened."""
        now = self._clock()
        since = now - self._opened
        if since >= self._interval:
            self._roll(now)
        return since

    def _roll(self, now: float) -> None:
        since = now - self._opened
        self._opened = now
        stale = self._previous
        stale.reset()
        self._previous = self._current
        self._current = stale
        if since >= 2 * self._interval:
            # nothing was seen for a whole window: what the old current window holds is stale too
            self._previous.reset()

    def __repr__(self) -> str:
        elapsed = self._clock() - self._opened
        return (
            f"Rate(interval={self._interval!r}, hashes={self._current.hashes}, "
            f"slots={self._current.slots}, window_elapsed={elapsed:.3f})"
        )
