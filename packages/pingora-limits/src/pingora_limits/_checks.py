"""Argument checks shared by the limits types: clear errors for bad sizes, counts and keys.

Only the slow paths live here; the hot paths test ``type(x) is int`` inline and call in
when that fails, so well-formed calls pay nothing extra.
"""

from __future__ import annotations

import math

__all__ = ["check_count", "check_interval", "check_size", "key_error"]


def check_size(name: str, value: object) -> int:
    """Return ``value`` as a positive ``int`` or raise a clear error naming the argument."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}")
    return int(value)


def check_count(value: object) -> int:
    """Return an event count as a plain ``int`` (signed), rejecting bools, floats and the rest."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"count must be an int, got {type(value).__name__}")
    return int(value)


def check_interval(value: object) -> float:
    """Return a window length in seconds as a positive, finite ``float``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"interval must be a number of seconds, got {type(value).__name__}")
    seconds = float(value)
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"interval must be a positive, finite number of seconds, got {value!r}")
    return seconds


def key_error(key: object) -> TypeError:
    """The error raised for a key that is neither ``str`` nor ``bytes``."""
    return TypeError(f"key must be str or bytes, got {type(key).__name__}")
