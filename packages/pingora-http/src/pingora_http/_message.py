"""`MessageHeader`: the header-field methods requests and responses share (Pingora's names).

Every method validates through `HeaderMap`; this class adds no state of its own but `headers`.
"""

from __future__ import annotations

from pingora_http._errors import InvalidHeaderError
from pingora_http._header_map import HeaderMap
from pingora_http._validate import name_pair, value_bytes

__all__ = ["MessageHeader", "check_size_hint"]


def check_size_hint(size_hint: int | None) -> None:
    """Refuse a size hint that is not None or a non-negative int.

    Python lists grow on their own, so the hint only exists for parity with Pingora's API.
    """
    if size_hint is not None and (
        not isinstance(size_hint, int) or isinstance(size_hint, bool) or size_hint < 0
    ):
        raise InvalidHeaderError(f"invalid size hint {size_hint!r}: expected None or an int >= 0")


class MessageHeader:
    """The head of an HTTP message: its ordered, case-remembering header fields."""

    __slots__ = ("headers",)

    headers: HeaderMap

    def append_header(self, name: str | bytes, value: str | bytes | int) -> bool:
        """Add a field without removing others; True if the name was already present."""
        # HeaderMap.append inlined: this is the hottest call when building a message.
        headers = self.headers
        cased, key, titled = name_pair(name)
        # printable ASCII text is valid as it is; everything else goes through the checks
        raw = (
            value.encode("ascii")
            if type(value) is str and value.isascii() and value.isprintable()
            else value_bytes(value)
        )
        keys = headers._keys
        existed = key in keys
        keys.append(key)
        headers._parts += (cased if headers.preserve_case else titled, b": ", raw, b"\r\n")
        return existed

    def append_raw(self, name: bytes, value: bytes) -> None:
        """Parser fast path: add bytes exactly as received (checked, not converted or copied)."""
        self.headers.append_raw(name, value)

    def insert_header(self, name: str | bytes, value: str | bytes | int) -> None:
        """Replace every field of this name (any case) with one; the new spelling is kept."""
        self.headers.insert(name, value)

    def remove_header(self, name: str | bytes) -> bytes | None:
        """Remove every field of this name; return the first value, or None."""
        return self.headers.remove(name)

    def get(self, name: str | bytes) -> bytes | None:
        """The first value of the field `name` (any case), or None."""
        return self.headers.get(name)

    def get_all(self, name: str | bytes) -> list[bytes]:
        """Every value of the field `name` (any case), in order."""
        return self.headers.get_all(name)

    def set_content_length(self, length: int) -> None:
        """Set `Content-Length` to `length`, replacing any present."""
        if not isinstance(length, int) or isinstance(length, bool) or length < 0:
            raise InvalidHeaderError(f"invalid content length {length!r}: expected an int >= 0")
        self.headers.insert(b"Content-Length", length)

    def has_case(self) -> bool:
        """True if the header names keep the case they were given (False after HTTP/2)."""
        return self.headers.preserve_case

    def to_h11_headers(self) -> list[tuple[bytes, bytes]]:
        """The fields as h11 takes them: `(name, value)` bytes in order, with the wire case."""
        return self.headers.wire_items()
