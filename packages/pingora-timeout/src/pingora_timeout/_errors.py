"""The one exception this package raises on its own: `Elapsed`, and the check of a duration."""

from __future__ import annotations

from math import isnan
from numbers import Real

__all__ = ["Elapsed", "as_seconds"]


class Elapsed(TimeoutError):
    """A timeout, timeout scope or deadline ran out before the awaited work finished.

    It is a `TimeoutError`, so code that catches the built-in one catches this too.
    """


def as_seconds(seconds: object, what: str) -> float:
    """`seconds` as a float; TypeError unless it is a real number, ValueError if NaN or < 0."""
    if (type(seconds) is float or type(seconds) is int) and seconds >= 0:
        return float(seconds)  # the common case, without the abstract-class checks below
    if isinstance(seconds, bool) or not isinstance(seconds, Real):
        raise TypeError(f"{what} needs seconds as a real number, not {type(seconds).__name__}")
    value = float(seconds)
    if isnan(value) or value < 0:
        raise ValueError(f"{what} needs seconds >= 0, got {seconds!r}")
    return value
