"""The count-min sketch behind every limits type: signed counters, one row per hash.

How a key finds its counters: the key is hashed once with Python's ``hash`` over
``(seed, key)``, where the seed is drawn at random per estimator (one seed for ``str`` keys,
another for ``bytes`` keys, so ``"a"`` and ``b"a"`` are different keys). The 64-bit result is
read as a number in base ``slots`` and row ``i`` uses its ``i``-th digit. Rows therefore use
disjoint parts of the hash and are independent; a separate ``hash((seed_i, key))`` per row would
be faster to write down but its rows are strongly correlated (two keys that meet in one row
usually meet in the others), which defeats the point of several rows. When ``slots ** hashes``
needs more than 64 bits the hash is extended by re-hashing it with the seed.

Python's string hash is randomised per process (``PYTHONHASHSEED``), so counter positions differ
between processes; that is fine for an in-memory sketch and keeps colliding keys unpredictable to
clients. This module does no locking: it is exact with respect to one thread or one event loop
(no call awaits), while updates racing from several threads may occasionally be lost.
"""

from __future__ import annotations

import secrets

from ._checks import check_count, check_size, key_error

__all__ = ["Estimator"]

_MASK64 = (1 << 64) - 1


class Estimator:
    """A count-min sketch of ``hashes`` rows by ``slots`` signed counters.

    ``incr`` returns the smallest of the key's counters after adding; ``get`` reads that
    estimate without changing it. Counters are signed: while no key's total is below zero the
    estimate never undercounts, but a key driven negative can pull down the estimates of keys
    that share one of its counters.
    """

    __slots__ = ("_bytes_seed", "_extra_words", "_first", "_hashes", "_rest", "_slots",
                 "_str_seed")

    def __init__(self, hashes: int, slots: int) -> None:
        self._hashes = check_size("hashes", hashes)
        self._slots = check_size("slots", slots)
        rows = [[0] * self._slots for _ in range(self._hashes)]
        self._first = rows[0]
        self._rest = tuple(rows[1:])
        self._str_seed = secrets.randbits(64)
        self._bytes_seed = secrets.randbits(64)
        bits = (self._slots**self._hashes - 1).bit_length()
        self._extra_words = max(0, (bits + 63) // 64 - 1)

    @property
    def hashes(self) -> int:
        """The number of rows (hash functions)."""
        return self._hashes

    @property
    def slots(self) -> int:
        """The number of counters in each row."""
        return self._slots

    def incr(self, key: str | bytes, n: int = 1) -> int:
        """Add ``n`` to the key's counters and return the new estimate (their minimum)."""
        if n.__class__ is not int:
            n = check_count(n)
        cls = key.__class__
        if cls is str:
            h = hash((self._str_seed, key)) & _MASK64
        elif cls is bytes:
            h = hash((self._bytes_seed, key)) & _MASK64
        else:
            h = self._other_word(key)
        if self._extra_words:
            h = self._widen(h)
        m = self._slots
        row = self._first
        i = h % m
        h //= m
        low = row[i] + n
        row[i] = low
        for row in self._rest:
            i = h % m
            h //= m
            value = row[i] + n
            row[i] = value
            if value < low:
                low = value
        return low

    def decr(self, key: str | bytes, n: int = 1) -> None:
        """Subtract ``n`` from the key's counters."""
        if n.__class__ is not int:
            n = check_count(n)
        h = self._word(key)
        m = self._slots
        row = self._first
        row[h % m] -= n
        for row in self._rest:
            h //= m
            row[h % m] -= n

    def get(self, key: str | bytes) -> int:
        """Return the key's estimate (the minimum of its counters) without changing it."""
        h = self._word(key)
        m = self._slots
        low = self._first[h % m]
        for row in self._rest:
            h //= m
            value = row[h % m]
            if value < low:
                low = value
        return low

    def reset(self) -> None:
        """Set every counter back to zero."""
        zeros = [0] * self._slots
        self._first[:] = zeros
        for row in self._rest:
            row[:] = zeros

    def _word(self, key: str | bytes) -> int:
        cls = key.__class__
        if cls is str:
            h = hash((self._str_seed, key)) & _MASK64
        elif cls is bytes:
            h = hash((self._bytes_seed, key)) & _MASK64
        else:
            h = self._other_word(key)
        if self._extra_words:
            h = self._widen(h)
        return h

    def _other_word(self, key: object) -> int:
        # subclasses of str and bytes count as their plain value; anything else is an error
        if isinstance(key, str):
            return hash((self._str_seed, str(key))) & _MASK64
        if isinstance(key, bytes):
            return hash((self._bytes_seed, bytes(key))) & _MASK64
        raise key_error(key)

    def _widen(self, h: int) -> int:
        wide = h
        for word in range(1, self._extra_words + 1):
            h = hash((h, self._str_seed, word)) & _MASK64
            wide |= h << (64 * word)
        return wide

    def __repr__(self) -> str:
        nonzero = sum(1 for v in self._first if v)
        nonzero += sum(1 for row in self._rest for v in row if v)
        return f"Estimator(hashes={self._hashes}, slots={self._slots}, nonzero_counters={nonzero})"
