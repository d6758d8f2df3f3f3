"""Our HTTP/1 request rules, applied on top of whichever parser backend read the head.

A backend's leniency is never trusted: `check_head` runs on the raw head before any backend
(size limits, bare CR/LF, obs-fold, request-line shape), `build_head` runs on what the backend
extracted (version, names, values, Host, Content-Length, Transfer-Encoding, Connection) and
decides the body framing. `naive_split` is the plain reading of a head that passed
`check_head`; it lets the rules speak even when a backend refused the head, so both backends
answer with the same status. Every refusal is a `HeadError` carrying the status to answer.

Fast path: `simple_head` matches the common head whole with one regex that implies every check
of `check_head` and every name/value check of `build_head`; such a head only needs its fields
from the backend and goes through `build_simple_head`, which must answer exactly as
`build_head` would (the tests compare the two on generated heads).
"""

from __future__ import annotations

import re
from typing import Final

from pingora_core.protocols.http.v1.events import H1Limits, RequestHead
from pingora_http import InvalidHeaderError, RequestHeader, raw_target_authority

__all__ = [
    "BackendReject",
    "HeadError",
    "HeadFields",
    "ParsedHead",
    "build_head",
    "build_simple_head",
    "check_head",
    "head_too_large",
    "naive_split",
    "simple_head",
]

_DIGITS: Final = b"0123456789"
_TCHAR: Final = b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_IDENTITY: Final = bytes(range(256))
_MAX_LENGTH_DIGITS: Final = 18
_VERSIONS: Final = {b"1.1": "HTTP/1.1", b"1.0": "HTTP/1.0"}
# Fields that change the framing or the connection; a request without any is the plain case.
_FRAMING: Final = frozenset(
    (b"content-length", b"transfer-encoding", b"connection", b"upgrade", b"expect")
)
_TOKEN: Final = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
# The common head, whole: token method, origin-form target of printable ASCII (no "#"),
# HTTP/1.0 or 1.1, then token names and field-octet values (no trailing SP/HTAB), CRLF only.
# A line starting with SP/HTAB (obs-fold), a bare CR or LF, or a bad byte cannot match.
_SIMPLE_HEAD: Final = re.compile(
    rb"(?!CONNECT )("  # CONNECT's target must be authority-form
    + _TOKEN
    + rb") (/[\x21\x22\x24-\x7e]*) HTTP/(1\.[01])\r\n(?:"
    + _TOKEN
    + rb":[\t\x20-\x7e\x80-\xff]*(?<![ \t])\r\n)*\r\n"
).fullmatch

# (method, target, version digits such as b"1.1", field names, field values)
ParsedHead = tuple[bytes, bytes, bytes, list[bytes], list[bytes]]
# (field names, field values) of a head that passed `simple_head`
HeadFields = tuple[list[bytes], list[bytes]]


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


def simple_head(head: bytes, limits: H1Limits) -> tuple[bytes, bytes, bytes] | None:
    """`(method, target, version digits)` if `head` (ending with the blank line) is in the
    common shape that passes every rule of `check_head` and every name and value check of
    `build_head`, else None. The shape: not CONNECT, an origin-form printable ASCII target,
    HTTP/1.0 or 1.1, token names, field-octet values without trailing whitespace, CRLF line
    ends, within the size limits. One regex over the raw bytes."""
    size = len(head)
    if size > limits.max_head_size or (
        size > limits.max_request_line and head.find(b"\r\n") > limits.max_request_line
    ):
        return None
    match = _SIMPLE_HEAD(head)
    return None if match is None else match.groups()  # type: ignore[return-value]


def simple_fields(head: bytes) -> HeadFields:
    """The fields of a head that passed `simple_head`: its regex vouched for every line (a
    token, a colon, a value without trailing whitespace), so they are only split."""
    names: list[bytes] = []
    values: list[bytes] = []
    for line in head[:-4].split(b"\r\n")[1:]:  # after the request line
        name, _, value = line.partition(b":")
        names.append(name)
        values.append(value.lstrip(b" \t"))
    return names, values


def build_simple_head(
    method: bytes,
    target: bytes,
    digits: bytes,
    names: list[bytes],
    values: list[bytes],
    head_size: int,
    limits: H1Limits,
) -> RequestHead:
    """`build_head` for a head that passed `simple_head` (its checks are not made again)."""
    if len(names) > limits.max_headers:
        raise HeadError(431, f"more than {limits.max_headers} header fields")
    keys = list(map(bytes.lower, names))
    http11 = digits == b"1.1"
    version = "HTTP/1.1" if http11 else "HTTP/1.0"
    request = RequestHeader._from_h1_checked(method, target, version, names, keys, values)
    hosts = keys.count(b"host")
    if hosts > 1 or (http11 and hosts != 1):
        raise HeadError(400, "HTTP/1.1 request needs exactly one Host field")
    if not _FRAMING.isdisjoint(keys):
        return _framing(request, keys, http11, head_size)
    # Nearly every request: no body, no connection options. _request_head inlined.
    head: RequestHead = _new_head(RequestHead)
    _set_request(head, request)
    _set_body(head, "empty")
    _set_length(head, None)
    _set_keep_alive(head, http11)
    _set_must_close(head, False)
    _set_upgrade(head, False)
    _set_expect(head, False)
    _set_head_size(head, head_size)
    return head


_new_head = object.__new__
# The slots of the frozen RequestHead, set directly: its generated __init__ costs about three
# times as much, and every request makes one.
(
    _set_request,
    _set_body,
    _set_length,
    _set_keep_alive,
    _set_must_close,
    _set_upgrade,
    _set_expect,
    _set_head_size,
) = (
    getattr(RequestHead, name).__set__
    for name in (
        "request",
        "body",
        "content_length",
        "keep_alive",
        "must_close",
        "upgrade",
        "expect_continue",
        "head_size",
    )
)


def _request_head(
    request: RequestHeader,
    body: str,
    length: int | None,
    keep_alive: bool,
    must_close: bool,
    upgrade: bool,
    expect: bool,
    head_size: int,
) -> RequestHead:
    head: RequestHead = _new_head(RequestHead)
    _set_request(head, request)
    _set_body(head, body)
    _set_length(head, length)
    _set_keep_alive(head, keep_alive)
    _set_must_close(head, must_close)
    _set_upgrade(head, upgrade)
    _set_expect(head, expect)
    _set_head_size(head, head_size)
    return head


def build_head(parsed: ParsedHead, head_size: int, limits: H1Limits) -> RequestHead:
    """Apply the rules to a parsed head; return the `RequestHead` or raise `HeadError`."""
    method, target, digits, names, values = parsed
    version = _VERSIONS.get(digits)
    if version is None:
        raise HeadError(505, f"HTTP version {digits[:8]!r} is not supported")
    if len(names) > limits.max_headers:
        raise HeadError(431, f"more than {limits.max_headers} header fields")
    _check_target(method, target)
    # Names in one pass (tokens, none empty); values are checked in one pass too.
    if b"".join(names).translate(_IDENTITY, _TCHAR) or b"" in names:
        raise HeadError(400, "invalid header name: must be a non-empty token")
    stripped = [v.rstrip(b" \t") for v in values]
    try:
        request = RequestHeader._from_h1(method, target, digits, names, stripped)
    except InvalidHeaderError as exc:
        raise HeadError(400, str(exc)) from None
    keys = request.headers.keys()
    http11 = version == "HTTP/1.1"
    hosts = keys.count(b"host")
    if hosts > 1 or (http11 and hosts != 1):
        raise HeadError(400, "HTTP/1.1 request needs exactly one Host field")
    if _FRAMING.isdisjoint(keys):
        return _request_head(request, "empty", None, http11, False, False, False, head_size)
    return _framing(request, keys, http11, head_size)


def _framing(
    request: RequestHeader, keys: list[bytes], http11: bool, head_size: int
) -> RequestHead:
    # The rules on Content-Length, Transfer-Encoding, Connection, Upgrade and Expect.
    headers = request.headers
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
    return _request_head(request, body, length, keep_alive, must_close, upgrade, expect, head_size)
