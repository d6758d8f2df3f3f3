"""Shared pieces of the conversions to and from the header lists of h11 and h2.

h11 events are read through their public attributes (`headers.raw_items()` keeps the case),
described here as Protocols so this package never imports h11 or h2. The HTTP/2 side splits off
pseudo-headers, checks their order, and leaves out the fields HTTP/2 forbids.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final, Protocol

from pingora_http._errors import InvalidHeaderError
from pingora_http._header_map import HeaderMap
from pingora_http._validate import check_raw_name, check_raw_value

__all__ = [
    "H2HeaderList",
    "H11Headers",
    "H11RequestEvent",
    "H11ResponseEvent",
    "h2_fields",
    "h11_lists",
    "split_h2",
]

# RFC 9113 §8.2.2: connection-specific fields must not appear in HTTP/2 ("te" unless "trailers").
_CONNECTION_SPECIFIC: Final = frozenset(
    (b"connection", b"keep-alive", b"proxy-connection", b"transfer-encoding", b"upgrade")
)
_IDENTITY: Final = bytes(range(256))
_FIELD_OCTETS: Final = b"\t" + bytes(range(0x20, 0x7F)) + bytes(range(0x80, 0x100))

H2HeaderList = Sequence[tuple[str | bytes, str | bytes]]


class H11Headers(Protocol):
    """What we read of `h11._headers.Headers`."""

    def raw_items(self) -> list[tuple[bytes, bytes]]: ...


class H11RequestEvent(Protocol):
    """What we read of an `h11.Request` event."""

    @property
    def method(self) -> bytes: ...
    @property
    def target(self) -> bytes: ...
    @property
    def http_version(self) -> bytes: ...
    @property
    def headers(self) -> H11Headers: ...


class H11ResponseEvent(Protocol):
    """What we read of an `h11.Response` or `h11.InformationalResponse` event."""

    @property
    def status_code(self) -> int: ...
    @property
    def reason(self) -> bytes: ...
    @property
    def http_version(self) -> bytes: ...
    @property
    def headers(self) -> H11Headers: ...


def h11_lists(headers: H11Headers) -> HeaderMap:
    """A case-preserving HeaderMap holding h11's fields as received (bytes are not copied)."""
    raw = headers.raw_items()
    if not raw:
        return HeaderMap._adopt([], [], [], True)
    names = [n for n, _ in raw]
    values = [v for _, v in raw]
    # h11 has checked names are tokens; its value grammar lets a few control bytes through,
    # which we refuse (one pass over all values at once).
    if b"".join(values).translate(_IDENTITY, _FIELD_OCTETS):
        for value in values:
            check_raw_value(value)
    return HeaderMap._adopt(names, list(map(bytes.lower, names)), values, True)


def _b(item: str | bytes) -> bytes:
    if isinstance(item, bytes):
        return item
    if isinstance(item, str):
        return item.encode("latin-1")
    raise TypeError(f"HTTP/2 header names and values must be str or bytes, not {type(item)}")


def split_h2(
    headers: Iterable[tuple[str | bytes, str | bytes]], allowed: frozenset[bytes]
) -> tuple[dict[bytes, bytes], HeaderMap]:
    """Split an HTTP/2 header list into its pseudo-headers and a no-case HeaderMap.

    Pseudo-headers must come first, be among `allowed`, and appear once. Several `cookie`
    fields are joined with "; " (RFC 9113 §8.2.3) so the result is valid on HTTP/1 too.
    """
    pseudo: dict[bytes, bytes] = {}
    keys: list[bytes] = []
    values: list[bytes] = []
    for name, value in headers:
        key = _b(name).lower()
        raw = _b(value)
        if key[:1] == b":":
            if keys:
                raise InvalidHeaderError(f"pseudo-header {key!r} after a regular header")
            if key not in allowed:
                raise InvalidHeaderError(f"unexpected pseudo-header {key!r}")
            if key in pseudo:
                raise InvalidHeaderError(f"duplicate pseudo-header {key!r}")
            check_raw_value(raw)
            pseudo[key] = raw
            continue
        check_raw_name(key)
        check_raw_value(raw)
        keys.append(key)
        values.append(raw)
    if keys.count(b"cookie") > 1:
        first = keys.index(b"cookie")
        crumbs = [v for k, v in zip(keys, values, strict=True) if k == b"cookie"]
        kept = [i for i, k in enumerate(keys) if k != b"cookie" or i == first]
        values[first] = b"; ".join(crumbs)
        keys = [keys[i] for i in kept]
        values = [values[i] for i in kept]
    return pseudo, HeaderMap._adopt([], keys, values, False)


def h2_fields(headers: HeaderMap) -> list[tuple[bytes, bytes]]:
    """Regular fields for HTTP/2: lowercase, without connection-specific fields or Host."""
    out = []
    for key, value in zip(headers._keys, headers._parts[2::4], strict=True):
        if key in _CONNECTION_SPECIFIC or key == b"host":
            continue
        if key == b"te" and value.strip().lower() != b"trailers":
            continue
        out.append((key, value))
    return out
