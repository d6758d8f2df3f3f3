"""`HeaderMap`: the ordered, case-insensitive multi-map behind every request and response header.

Layout, chosen by measurement: `_keys` holds each field's lowercase name, and `_parts` holds the
field's HTTP/1 line pre-split as four bytes objects `[name, b": ", value, b"\\r\\n"]` per field,
in wire order. Serialising is then one `b"".join(_parts)` (no per-field work), and lookups scan
`_keys` with `list.index` / `in`, which runs in C and beats a dict for the dozen or two fields a
message carries. Field i's name is `_parts[4*i]` and its value `_parts[4*i + 2]`.

A map built without case information (`preserve_case=False`, e.g. from HTTP/2) keeps lowercase
names; on HTTP/1 it writes the common ones in title case (`TITLE_CASE`), the rest lowercase.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Final

from pingora_http._validate import (
    TITLE_CASE,
    check_raw_name,
    check_raw_value,
    lookup_key,
    name_pair,
    value_bytes,
)

__all__ = ["HeaderMap"]

_SEP: Final = b": "
_CRLF: Final = b"\r\n"


class HeaderMap:
    """Ordered header fields; names match case-insensitively and keep the case they were given.

    Names and values are stored as bytes. Methods accept `str` (encoded as latin-1) or `bytes`
    for names and values (and `int` for values); getters return `bytes`.
    """

    __slots__ = ("_keys", "_parts", "preserve_case")

    preserve_case: bool

    def __init__(
        self,
        items: Iterable[tuple[str | bytes, str | bytes | int]] = (),
        *,
        preserve_case: bool = True,
    ) -> None:
        self.preserve_case = preserve_case
        self._keys: list[bytes] = []
        self._parts: list[bytes] = []
        for name, value in items:
            self.append(name, value)

    # -- mutation ---------------------------------------------------------------------------

    def append(self, name: str | bytes, value: str | bytes | int) -> bool:
        """Add a field after the others; return True if the name was already present."""
        cased, key, titled = name_pair(name)
        raw = value_bytes(value)
        keys = self._keys
        existed = key in keys
        keys.append(key)
        self._parts += (cased if self.preserve_case else titled, _SEP, raw, _CRLF)
        return existed

    def append_raw(self, name: bytes, value: bytes) -> None:
        """Fast path for parsers: append bytes exactly as received (still checked, never copied)."""
        check_raw_name(name)
        check_raw_value(value)
        key = name.lower()
        self._keys.append(key)
        self._parts += (
            name if self.preserve_case else TITLE_CASE.get(key, key),
            _SEP,
            value,
            _CRLF,
        )

    def insert(self, name: str | bytes, value: str | bytes | int) -> None:
        """Replace every field called `name` by one, at the first one's place (or at the end).

        The new spelling of the name is the one remembered.
        """
        cased, key, titled = name_pair(name)
        raw = value_bytes(value)
        keys = self._keys
        if not self.preserve_case:
            cased = titled
        try:
            first = keys.index(key)
        except ValueError:
            keys.append(key)
            self._parts += (cased, _SEP, raw, _CRLF)
            return
        parts = self._parts
        parts[4 * first] = cased
        parts[4 * first + 2] = raw
        if key in keys[first + 1 :]:
            self._drop(key, first + 1)

    def _put(self, key: bytes, name: bytes, value: bytes) -> None:
        # `insert` for fields the caller made itself (servers' Date, Connection, ...): `name`
        # is a valid token spelled as it should go out, `key` its lowercase form, `value`
        # valid field bytes. Nothing is re-checked; the field is usually new, so that is fast.
        keys = self._keys
        if key in keys:
            self.insert(name, value)
            return
        keys.append(key)
        if not self.preserve_case:
            name = TITLE_CASE.get(key, key)
        self._parts += (name, _SEP, value, _CRLF)

    def remove(self, name: str | bytes) -> bytes | None:
        """Remove every field called `name`; return the first one's value, or None if absent."""
        key = lookup_key(name)
        try:
            first = self._keys.index(key)
        except ValueError:
            return None
        value = self._parts[4 * first + 2]
        self._drop(key, first)
        return value

    def _drop(self, key: bytes, start: int) -> None:
        # Remove the fields named `key` from index `start` on (back to front keeps indexes valid).
        keys, parts = self._keys, self._parts
        for i in range(len(keys) - 1, start - 1, -1):
            if keys[i] == key:
                del keys[i]
                del parts[4 * i : 4 * i + 4]

    def clear(self) -> None:
        """Remove every field."""
        self._keys = []
        self._parts = []

    # -- reading ----------------------------------------------------------------------------

    def get(self, name: str | bytes) -> bytes | None:
        """The first value of `name`, or None."""
        key = lookup_key(name)
        try:
            return self._parts[4 * self._keys.index(key) + 2]
        except ValueError:
            return None

    def get_all(self, name: str | bytes) -> list[bytes]:
        """Every value of `name`, in order (empty if absent)."""
        key = lookup_key(name)
        keys = self._keys
        if key not in keys:
            return []
        parts = self._parts
        return [parts[4 * i + 2] for i, k in enumerate(keys) if k == key]

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, (str, bytes)):
            return False
        return lookup_key(name) in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[tuple[bytes, bytes]]:
        return iter(self.items())

    def items(self) -> list[tuple[bytes, bytes]]:
        """`(name, value)` pairs in order; names in their case, or lowercase without case."""
        parts = self._parts
        names = parts[0::4] if self.preserve_case else self._keys
        return list(zip(names, parts[2::4], strict=True))

    def keys(self) -> list[bytes]:
        """The lowercase name of every field, in order (repeats included)."""
        return list(self._keys)

    def values(self) -> list[bytes]:
        """Every value, in order."""
        return self._parts[2::4]

    def wire_items(self) -> list[tuple[bytes, bytes]]:
        """`(name, value)` pairs as HTTP/1 writes them (common names titled when without case)."""
        parts = self._parts
        return list(zip(parts[0::4], parts[2::4], strict=True))

    def to_h1_wire(self) -> bytes:
        """The fields as HTTP/1 header lines, each ending in CRLF (no blank line after)."""
        return b"".join(self._parts)

    def copy(self) -> HeaderMap:
        """An independent copy (the bytes themselves are immutable and shared)."""
        new = HeaderMap.__new__(HeaderMap)
        new.preserve_case = self.preserve_case
        new._keys = self._keys.copy()
        new._parts = self._parts.copy()
        return new

    @classmethod
    def _empty(cls, preserve_case: bool) -> HeaderMap:
        # What every new message starts with, without __init__'s argument handling.
        new = cls.__new__(cls)
        new.preserve_case = preserve_case
        new._keys = []
        new._parts = []
        return new

    @classmethod
    def _adopt(
        cls, names: list[bytes], keys: list[bytes], values: list[bytes], preserve_case: bool
    ) -> HeaderMap:
        # Build from already-validated lists (parsers' fast path); `keys` is taken over.
        new = cls.__new__(cls)
        new.preserve_case = preserve_case
        new._keys = keys
        if not preserve_case:
            title = TITLE_CASE.get
            names = [title(k, k) for k in keys]
        parts: list[bytes] = [b"", _SEP, b"", _CRLF] * len(keys)
        parts[0::4] = names
        parts[2::4] = values
        new._parts = parts
        return new

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, HeaderMap):
            return NotImplemented
        return self._parts == other._parts and self.preserve_case == other.preserve_case

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        case = "" if self.preserve_case else ", preserve_case=False"
        return f"HeaderMap({self.items()!r}{case})"
