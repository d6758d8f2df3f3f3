"""The rules the HTTP/1 client session applies on top of the head parser: how a response body is
framed (RFC 9112 §6.3), what the `Connection` and `Keep-Alive` fields say, and when a request is
an upgrade. Pure functions over headers; no I/O, no session state.
"""

from __future__ import annotations

from typing import Final

from pingora_core.errors import Error, ErrorSource, ErrorType
from pingora_core.protocols.http.v1.body import BodyReader
from pingora_http import RequestHeader, ResponseHeader

__all__ = [
    "connection_tokens",
    "content_length",
    "is_upgrade_request",
    "keepalive_values",
    "response_body_mode",
]

_DIGITS: Final = frozenset(b"0123456789")
_MAX_LENGTH_DIGITS: Final = 19  # below 2**63


def connection_tokens(values: list[bytes]) -> frozenset[bytes]:
    """The lowercase tokens of all `Connection` fields ("Upgrade, close" -> {upgrade, close})."""
    if not values:
        return frozenset()
    tokens = set()
    for value in values:
        for token in value.split(b","):
            token = token.strip(b" \t").lower()
            if token:
                tokens.add(token)
    return frozenset(tokens)


def content_length(values: list[bytes], esource: ErrorSource) -> int | None:
    """The Content-Length the fields agree on, None when absent; an `Error` (InvalidHTTPHeader)
    when one is not a plain decimal or two differ."""
    if not values:
        return None
    found: int | None = None
    for value in values:
        for item in value.split(b","):
            item = item.strip(b" \t")
            if not item or len(item) > _MAX_LENGTH_DIGITS or not _DIGITS.issuperset(item):
                raise Error(ErrorType.InvalidHTTPHeader, esource,
                            context=f"invalid Content-Length {value[:64]!r}")
            length = int(item)
            if found is not None and found != length:
                raise Error(ErrorType.InvalidHTTPHeader, esource,
                            context=f"differing Content-Length values: {found} and {length}")
            found = length
    return found


def is_upgrade_request(req: RequestHeader) -> bool:
    """An HTTP/1.1 request carrying an `Upgrade` field (WebSocket and the like)."""
    return req.version == "HTTP/1.1" and req.get(b"upgrade") is not None


def keepalive_values(value: bytes | None) -> tuple[int | None, int | None]:
    """(timeout, max) from a `Keep-Alive: timeout=5, max=1000` field; None where absent or bad."""
    if not value:
        return None, None
    timeout: int | None = None
    most: int | None = None
    for param in value.split(b","):
        key, eq, number = param.partition(b"=")
        if not eq:
            continue
        key = key.strip(b" \t").lower()
        number = number.strip(b" \t")
        if not number.isdigit():
            continue
        if key == b"timeout":
            timeout = int(number)
        elif key == b"max":
            most = int(number)
    return timeout, most


def response_body_mode(request: RequestHeader, resp: ResponseHeader) -> BodyReader:
    """The reader for a final response's body: none for HEAD, 1xx, 204 and 304; chunked when the
    last transfer coding is chunked, until close for any other transfer coding; else by
    Content-Length, else until close. Content-Length with Transfer-Encoding is an `Error`
    (H1Error, blamed on the upstream): we do not guess which one frames the body."""
    status = resp.status
    if request.method == "HEAD" or status < 200 or status in (204, 304):
        return BodyReader.empty()
    headers = resp.headers
    keys = headers._keys
    if b"transfer-encoding" not in keys:
        if b"content-length" not in keys:
            return BodyReader.until_close()
        if keys.count(b"content-length") == 1:
            # the usual: one plain decimal Content-Length
            value = headers._parts[4 * keys.index(b"content-length") + 2]
            if len(value) <= _MAX_LENGTH_DIGITS and value.isdigit():
                return BodyReader.content_length(int(value))
    te = resp.get_all(b"transfer-encoding")
    lengths = resp.get_all(b"content-length")
    if te:
        if lengths:
            raise Error(ErrorType.H1Error, ErrorSource.UPSTREAM,
                        context="response has both Content-Length and Transfer-Encoding")
        codings = [c.strip(b" \t").lower() for v in te for c in v.split(b",") if c.strip(b" \t")]
        if codings and codings[-1] == b"chunked":
            if codings.count(b"chunked") > 1:
                raise Error(ErrorType.H1Error, ErrorSource.UPSTREAM,
                            context="response applies chunked transfer coding twice")
            return BodyReader.chunked()
        return BodyReader.until_close()
    length = content_length(lengths, ErrorSource.UPSTREAM)
    if length is not None:
        return BodyReader.content_length(length)
    return BodyReader.until_close()
