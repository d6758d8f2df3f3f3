"""Checks and conversions for everything that can reach the wire: names, values, methods, versions.

Every public mutator funnels its input through these functions, so nothing invalid is ever
stored. Strings become bytes here (latin-1 for header names and values, as HTTP/1 does).
Validated header names are remembered in a bounded table so that the common names cost one
dict lookup per request. Nothing here keeps per-request state.
"""

from __future__ import annotations

from typing import Final

from pingora_http._errors import InvalidHeaderError

__all__ = [
    "FIELD_OCTETS",
    "IDENTITY",
    "TCHAR",
    "TITLE_CASE",
    "VERSIONS",
    "check_raw_name",
    "check_raw_value",
    "lookup_key",
    "method_pair",
    "name_pair",
    "value_bytes",
    "version_str",
]

# RFC 9110 §5.6.2: tchar.
TCHAR: Final = b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
# RFC 9110 §5.5: field-value octets are HTAB, SP, VCHAR and obs-text; every other control
# byte (CR, LF and NUL among them) and DEL is refused.
FIELD_OCTETS: Final = b"\t" + bytes(range(0x20, 0x7F)) + bytes(range(0x80, 0x100))
# `data.translate(IDENTITY, ALLOWED)` is empty exactly when `data` holds only ALLOWED bytes.
IDENTITY: Final = bytes(range(256))
_TCHAR: Final = TCHAR
_FIELD_OCTETS: Final = FIELD_OCTETS
_IDENTITY: Final = IDENTITY

# Names written in title case by maps without case information; the rest go out lowercase.
TITLE_CASE: Final[dict[bytes, bytes]] = {
    name.lower(): name
    for name in (
        b"Accept",
        b"Accept-Encoding",
        b"Accept-Language",
        b"Accept-Ranges",
        b"Age",
        b"Authorization",
        b"Cache-Control",
        b"Connection",
        b"Content-Encoding",
        b"Content-Length",
        b"Content-Range",
        b"Content-Type",
        b"Cookie",
        b"Date",
        b"ETag",
        b"Expires",
        b"Host",
        b"Keep-Alive",
        b"Last-Modified",
        b"Location",
        b"Server",
        b"Set-Cookie",
        b"Transfer-Encoding",
        b"Upgrade",
        b"User-Agent",
        b"Vary",
        b"Via",
    )
}

# name as given (str or bytes) -> (name as bytes in its own case, lowercase, HTTP/1 spelling
# for maps without case information)
_NAME_CACHE: dict[str | bytes, tuple[bytes, bytes, bytes]] = {}
_NAME_CACHE_MAX: Final = 2048
_METHOD_CACHE: dict[str | bytes, tuple[str, bytes]] = {}

VERSIONS: Final[dict[str | bytes, str]] = {
    "HTTP/1.0": "HTTP/1.0",
    "HTTP/1.1": "HTTP/1.1",
    "HTTP/2": "HTTP/2",
    "HTTP/2.0": "HTTP/2",
    b"HTTP/1.0": "HTTP/1.0",
    b"HTTP/1.1": "HTTP/1.1",
    b"HTTP/2": "HTTP/2",
    b"HTTP/2.0": "HTTP/2",
    # the bare forms h11 and httptools report
    "1.0": "HTTP/1.0",
    "1.1": "HTTP/1.1",
    "2": "HTTP/2",
    "2.0": "HTTP/2",
    b"1.0": "HTTP/1.0",
    b"1.1": "HTTP/1.1",
    b"2": "HTTP/2",
    b"2.0": "HTTP/2",
}


def _is_token(raw: bytes) -> bool:
    return bool(raw) and not raw.translate(_IDENTITY, _TCHAR)


def name_pair(name: str | bytes) -> tuple[bytes, bytes, bytes]:
    """Return `(name, lowercase name, name for maps without case)`, or raise if not a token."""
    pair = _NAME_CACHE.get(name)
    if pair is not None:
        return pair
    if isinstance(name, str):
        try:
            raw = name.encode("latin-1")
        except UnicodeEncodeError:
            raise InvalidHeaderError(f"invalid header name {name!r}: not latin-1") from None
    elif isinstance(name, bytes):
        raw = name
    else:
        raise TypeError(f"header name must be str or bytes, not {type(name).__name__}")
    if not _is_token(raw):
        raise InvalidHeaderError(f"invalid header name {name!r}: must be a non-empty token")
    key = raw.lower()
    pair = (raw, key, TITLE_CASE.get(key, key))
    if len(raw) <= 64 and len(_NAME_CACHE) < _NAME_CACHE_MAX:  # bounded: names may be hostile
        _NAME_CACHE[name] = pair
    return pair


def lookup_key(name: str | bytes) -> bytes:
    """The lowercase bytes to look `name` up with (not validated: a bad name finds nothing)."""
    pair = _NAME_CACHE.get(name)
    if pair is not None:
        return pair[1]
    if isinstance(name, str):
        return name.lower().encode("latin-1", "replace")
    if isinstance(name, bytes):
        return name.lower()
    raise TypeError(f"header name must be str or bytes, not {type(name).__name__}")


def value_bytes(value: str | bytes | int) -> bytes:
    """Return `value` as bytes, or raise if it holds a byte a field value must not contain."""
    if isinstance(value, str):
        if value.isprintable():  # no control characters at all: only latin-1 can still fail
            try:
                return value.encode("latin-1")
            except UnicodeEncodeError:
                pass
        try:
            raw = value.encode("latin-1")
        except UnicodeEncodeError:
            raise InvalidHeaderError(f"invalid header value {value!r}: not latin-1") from None
    elif isinstance(value, bytes):
        raw = value
    elif isinstance(value, int) and not isinstance(value, bool):
        return b"%d" % value
    else:
        raise TypeError(f"header value must be str, bytes or int, not {type(value).__name__}")
    if raw.translate(_IDENTITY, _FIELD_OCTETS):
        raise InvalidHeaderError(
            f"invalid header value {value!r}: control characters (CR, LF, NUL, ...) are not allowed"
        )
    return raw


def check_raw_name(name: bytes) -> None:
    """Raise unless `name` (bytes from a parser) is a token."""
    if name not in _NAME_CACHE and not _is_token(name):
        raise InvalidHeaderError(f"invalid header name {name!r}: must be a non-empty token")


def check_raw_value(value: bytes) -> None:
    """Raise unless `value` (bytes from a parser) holds only field-value octets."""
    if value.translate(_IDENTITY, _FIELD_OCTETS):
        raise InvalidHeaderError(
            f"invalid header value {value!r}: control characters (CR, LF, NUL, ...) are not allowed"
        )


def method_pair(method: str | bytes) -> tuple[str, bytes]:
    """Return `(method, method as bytes)`, or raise if `method` is not a token."""
    pair = _METHOD_CACHE.get(method)
    if pair is not None:
        return pair
    if isinstance(method, str):
        raw = method.encode("latin-1", "replace")
        text = method
    elif isinstance(method, bytes):
        raw = method
        text = method.decode("latin-1")
    else:
        raise TypeError(f"method must be str or bytes, not {type(method).__name__}")
    if not _is_token(raw) or (isinstance(method, str) and not method.isascii()):
        raise InvalidHeaderError(f"invalid method {method!r}: must be a non-empty token")
    pair = (text, raw)
    if len(raw) <= 32 and len(_METHOD_CACHE) < 256:
        _METHOD_CACHE[method] = pair
    return pair


def version_str(version: str | bytes) -> str:
    """Return the canonical spelling ("HTTP/1.0", "HTTP/1.1" or "HTTP/2") of `version`."""
    try:
        return VERSIONS[version]
    except (KeyError, TypeError):
        raise InvalidHeaderError(
            f"invalid HTTP version {version!r}: expected HTTP/1.0, HTTP/1.1 or HTTP/2"
        ) from None
