"""TinyLFU popularity estimation: a count-min sketch of 8-bit saturating counters, halved
periodically. TinyUfo consults it only when admitting a new key; nothing here touches the cache.
"""

from __future__ import annotations

import math
from collections.abc import Hashable

__all__ = ["TinyLfu", "optimal_parameters"]

_MASK64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15  # 2**64 / golden ratio: spreads consecutive hashes apart
_SATURATED = 255
_HALVE = bytes(i >> 1 for i in range(256))  # translate() table: every counter shifted right once
_WINDOW_FACTOR = 8  # age the sketch after this many increments per cached item


def optimal_parameters(items: int) -> tuple[int, int]:
    """Return `(width, depth)` of a count-min sketch sized for `items` distinct keys.

    width = ceil(e / ε) and depth = ceil(ln(δ) / ln(1/2)) with ε = δ = 1/items, at least 16
    counters per row and 2 rows.
    """
    if isinstance(items, bool) or not isinstance(items, int) or items < 1:
        raise ValueError(f"items must be a positive int, got {items!r}")
    error_range = 1.0 / items
    failure_probability = 1.0 / items
    width = max(math.ceil(math.e / error_range), 16)
    depth = max(math.ceil(math.log(failure_probability) / math.log(0.5)), 2)
    return width, depth


class TinyLfu:
    """Estimated access frequency of keys, aged by halving every `8 * cache_size` increments.

    Counters saturate at 255. Row `r` of the sketch indexes `h1 + r * h2` (double hashing of the
    key's `hash()`), so one `hash()` call serves every row.
    """

    __slots__ = ("_depth", "_offsets", "_table", "_width", "_window", "_window_limit")

    def __init__(self, cache_size: int) -> None:
        width, depth = optimal_parameters(cache_size)
        self._width = width
        self._depth = depth
        self._offsets = tuple(row * width for row in range(depth))
        self._table = bytearray(width * depth)
        self._window = 0
        self._window_limit = cache_size * _WINDOW_FACTOR

    def __repr__(self) -> str:
        return (
            f"TinyLfu(width={self._width}, depth={self._depth}, "
            f"window={self._window}/{self._window_limit})"
        )

    @property
    def width(self) -> int:
        """Counters per row."""
        return self._width

    @property
    def depth(self) -> int:
        """Number of rows (independent hash functions)."""
        return self._depth

    def get(self, key: Hashable) -> int:
        """The estimated frequency of `key` (the smallest of its counters)."""
        h = (hash(key) * _GOLDEN) & _MASK64
        h ^= h >> 29
        step = (h >> 32) | 1
        table = self._table
        width = self._width
        low = _SATURATED
        for offset in self._offsets:
            count = table[offset + h % width]
            if count < low:
                low = count
            h += step
        return low

    def incr(self, key: Hashable) -> int:
        """Count one more occurrence of `key`; return its new estimated frequency.

        The increment that completes a window first halves every counter.
        """
        window = self._window
        if window >= self._window_limit:
            self._window = 0
            self._table = self._table.translate(_HALVE)
        else:
            self._window = window + 1
        h = (hash(key) * _GOLDEN) & _MASK64
        h ^= h >> 29
        step = (h >> 32) | 1
        table = self._table
        width = self._width
        low = _SATURATED
        for offset in self._offsets:
            index = offset + h % width
            count = table[index]
            if count != _SATURATED:
                count += 1
                table[index] = count
            if count < low:
                low = count
            h += step
        return low

    def age(self) -> None:
        """Halve every counter now (what a full window does)."""
        self._table = self._table.translate(_HALVE)
