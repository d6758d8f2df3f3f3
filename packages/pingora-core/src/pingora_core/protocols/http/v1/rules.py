"""Our HTTP/1 request rules, applied on top of whichever parser backend read the head.

A backend's leniency is never trusted: `check_head` runs on the raw head before any backend
(size limits, bare CR/LF, obs-fold, request-line shape), `build_head` runs on what the backend
extracted (version, names, values, Host, Content-Length, Transfer-Encoding, Connection) and
decides the body framing. `naive_split` is the plain reading of a head that passed
`check_head`; it lets the rules speak even when a backend refused the head, so both backends
answer with the same status. Every refusal is a `HeadError` carrying the status to answer.
"""

from __future__ import annotations

from typing import Final

from pingora_core.protocols.http.v1.events import H1Limits, RequestHead
from pingora_http import InvalidHeaderError, RequestHeader, raw_target_authority

__all__ = [
    "BackendReject",
    "HeadError",
    "ParsedHead",
    "build_head",
    "check_head",
    "head_too_large",
    "naive_split",
]

_DIGITS: Final = b"0123456789"
_TCHAR: Final = b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_IDENTITY: Final = bytes(range(256))
_MAX_LENGTH_DIGITS: Final = 18
_VERSIONS: Final = {b"1.1": "HTTP/1.1", b"1.0": "HTTP/1.0"}

# (method, target, version digits such as b"1.1", field names, field values)
ParsedHead = tuple[bytes, bytes, bytes, list[bytes], list[bytes]]


class BackendReject(Exception):
    """A parser backend refused the head; the rules then decide which status to answer."""


class HeadError(Exception):
    """A request the rules refuse: answer `status`, then close."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status}: {reason}")
        self.status = status
        self.reason = reason


def head_too_large(buf: bytes, limits: H1Limits) -> HeadError | None:
    """For a head still without its end: the error if it already outgrew a limit, else None."""
    line_end = buf.find(b"\r\n")
    line_len = len(buf) if line_end < 0 else line_end
    if line_len > limits.max_request_line:
        return HeadError(414, f"request line longer than {limits.max_request_line} bytes")
    if len(buf) > limits.max_head_size:
        return HeadError(431, f"request head larger than {limits.max_head_size} bytes")
    if buf.count(b"\r\n") > limits.max_headers + 1:
        return HeadError(431, f"more than {limits.max_headers} header fields")
    return None


def check_head(head: bytes, limits: H1Limits) -> None:
    """Rules on the raw head (request line and fields, without the final blank line's CRLFs).

    Raises `HeadError` for a head too large (414/431), too many fields (431), a bare CR or LF,
    obs-fold, or a request line that is not three parts separated by single spaces (400).
    """
    line_end = head.find(b"\r\n")
    request_line = head if line_end < 0 else head[:line_end]
    if len(request_line) > limits.max_request_line:
        raise HeadError(414, f"request line longer than {limits.max_request_line} bytes")
    if len(head) + 4 > limits.max_head_size:
        raise HeadError(431, f"request head larger than {limits.max_head_size} bytes")
    crlf = head.count(b"\r\n")
    if crlf > limits.max_headers:
        raise HeadError(431, f"more than {limits.max_headers} header fields")
    if head.count(b"\r") != crlf or head.count(b"\n") != crlf:
        raise HeadError(400, "bare CR or LF in the request head")
    if b"\r\n " in head or b"\r\n\t" in head:
        raise HeadError(400, "obsolete line folding in the request head")
    if request_line.count(b" ") != 2:
        raise HeadError(400, "request line is not 'method SP target SP version'")


def naive_split(head: bytes) -> ParsedHead:
    """Split a head that passed `check_head` into its parts, checking only the shape."""
    lines = head.split(b"\r\n")
    method, target, version = lines[0].split(b" ")
    if len(version) != 8 or version[:5] != b"HTTP/" or version[6:7] != b".":
        raise HeadError(400, f"invalid HTTP version {version[:16]!r}")
    digits = version[5:]
    if not (digits[:1].isdigit() and digits[2:].isdigit()):
        raise HeadError(400, f"invalid HTTP version {version[:16]!r}")
    names: list[bytes] = []
    values: list[bytes] = []
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon:
            raise HeadError(400, f"header line without a colon: {line[:32]!r}")
        names.append(name)
        values.append(value.strip(b" \t"))
    return method, target, digits, names, values


def _tokens(values: list[bytes]) -> list[bytes]:
    return [t.strip(b" \t").lower() for v in values for t in v.split(b",")]


class _Fields:
    """A parsed head in the shape `RequestHeader.from_h11` reads (its public fast path)."""

    __slots__ = ("_items", "http_version", "method", "target")

    def __init__(
        self, method: bytes, target: bytes, version: bytes, items: list[tuple[bytes, bytes]]
    ) -> None:
        self.method = method
        self.target = target
        self.http_version = version
        self._items = items

    @property
    def headers(self) -> _Fields:
        return self

    def raw_items(self) -> list[tuple[bytes, bytes]]:
        return self._items


def _check_target(method: bytes, target: bytes) -> None:
    # RFC 9112 3.2: origin-form, absolute-form, authority-form (CONNECT), asterisk (OPTIONS).
    if method == b"CONNECT":
        if b"/" in target or b"@" in target or b":" not in target:
            raise HeadError(400, "CONNECT needs an authority-form target (host:port)")
    elif target[:1] == b"/":
        return
    elif target == b"*":
        if method != b"OPTIONS":
            raise HeadError(400, "the asterisk target is for OPTIONS only")
    elif raw_target_authority(target).kind != "absolute":
        raise HeadError(400, f"invalid request target {target[:32]!r}")


def build_head(parsed: ParsedHead, head_size: int, limits: H1Limits) -> RequestHead:
    """Apply the rules to a parsed head; return the `RequestHead` or raise `HeadError`."""
    method, target, digits, names, values = parsed
    version = _VERSIONS.get(digits)
    if version is None:
        raise HeadError(505, f"HTTP version {digits[:8]!r} is not supported")
    if len(names) > limits.max_headers:
        raise HeadError(431, f"more than {limits.max_headers} header fields")
    _check_target(method, target)
    # Names in one pass (tokens, none empty); values are checked by `from_h11`, in one pass too.
    if b"".join(names).translate(_IDENTITY, _TCHAR) or b"" in names:
        raise HeadError(400, "invalid header name: must be a non-empty token")
    stripped = [v.rstrip(b" \t") for v in values]
    fields = _Fields(method, target, digits, list(zip(names, stripped, strict=True)))
    try:
        request = RequestHeader.from_h11(fields)
    except InvalidHeaderError as exc:
        raise HeadError(400, str(exc)) from None
    headers = request.headers
    keys = headers.keys()
    http11 = version == "HTTP/1.1"

    hosts = keys.count(b"host")
    if hosts > 1 or (http11 and hosts != 1):
        raise HeadError(400, "HTTP/1.1 request needs exactly one Host field")

    body = "empty"
    length: int | None = None
    must_close = False
    lengths = keys.count(b"content-length")
    if lengths:
        if lengths > 1:
            raise HeadError(400, "more than one Content-Length field")
        raw = headers.get(b"content-length") or b""
        if not raw or len(raw) > _MAX_LENGTH_DIGITS or raw.translate(_IDENTITY, _DIGITS):
            raise HeadError(400, f"Content-Length {raw[:24]!r} is not a plain decimal")
        length = int(raw)
        body = "length"
    if b"transfer-encoding" in keys:
        if not http11:
            raise HeadError(400, "Transfer-Encoding in an HTTP/1.0 request")
        codings = _tokens(headers.get_all(b"transfer-encoding"))
        if codings[-1] != b"chunked" or b"chunked" in codings[:-1]:
            raise HeadError(400, "Transfer-Encoding must end with chunked, applied once")
        if len(codings) > 1:
            raise HeadError(501, f"transfer coding {codings[0][:24]!r} is not implemented")
        if lengths:
            # RFC 9112 6.3: Transfer-Encoding wins; Content-Length goes; no reuse after this.
            headers.remove(b"content-length")
            length = None
            must_close = True
        body = "chunked"

    if b"connection" not in keys:
        connection: list[bytes] = []
    elif keys.count(b"connection") == 1 and b"," not in (
        value := headers.get(b"connection") or b""
    ):
        connection = [value.strip(b" \t").lower()]
    else:
        connection = _tokens(headers.get_all(b"connection"))
    keep_alive = b"close" not in connection and (http11 or b"keep-alive" in connection)
    upgrade = http11 and b"upgrade" in keys
    expect = (
        http11
        and b"expect" in keys
        and (headers.get(b"expect") or b"").lower() == (b"100-continue")
    )
    return RequestHead(
        request=request,
        body=body,
        content_length=length,
        keep_alive=keep_alive,
        must_close=must_close,
        upgrade=upgrade,
        expect_continue=expect,
        head_size=head_size,
    )
