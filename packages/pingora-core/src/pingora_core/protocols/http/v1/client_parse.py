"""Parsing an HTTP/1 response head (status line and fields) for the client session, with the
httptools backend (llhttp, when installed) or the h11 backend (always there).

Sans-IO: `find_head_end` locates the blank line that ends a head in a buffer, and
`parse_response_head` turns exactly that head into a `ResponseHeader` or raises `Error`
(InvalidHTTPHeader, blamed on the upstream). Both backends give the same answer for the same
bytes: bare LF line ends and duplicate Content-Length fields are refused by both; whitespace
before a field's colon and obs-fold continuation lines are repaired (RFC 9112 §5.1, §5.2: a
recipient of a response may repair them) and the head parsed again. Body framing is not decided
here.

Either backend first tries `_parse_simple`: one regex match vouches for the whole head when it
has the everyday shape (HTTP/1.x, printable ASCII, tokens for names, no trailing whitespace in
values, unambiguous framing fields), and the message is built from the pieces without any
backend, callback or per-field check. Any head outside that shape goes to the backend, which
has the last word; on the heads of that shape both backends give what `_parse_simple` gives.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final

from pingora_core.errors import Error, ErrorSource, ErrorType
from pingora_core.protocols.http.v1.codec import available_h1_backends, current_h1_backend
from pingora_http import HeaderMap, InvalidHeaderError, ResponseHeader

__all__ = [
    "BACKENDS",
    "check_backend",
    "default_backend",
    "find_head_end",
    "parse_response_head",
]

BACKENDS: Final = ("httptools", "h11")

_httptools: Any
try:
    import httptools as _httptools
except ImportError:  # pragma: no cover - depends on the installed extras
    _httptools = None

_FOLD: Final = re.compile(rb"\r\n[ \t]+")
_SPACE_COLON: Final = re.compile(rb"^([^:\r\n \t]+)[ \t]+:", re.MULTILINE)
_PAUSED: Final = "Pause on CONNECT/Upgrade"
_CONTENT_LENGTH: Final = re.compile(rb"\ncontent-length[ \t]*:", re.IGNORECASE)

# One field line of the everyday shape: a token, the colon, optional whitespace, the value (its
# bytes are checked in bulk afterwards). Anchored at line starts: a line that does not match
# whole is left out, and the count of matches against the count of LFs gives it away.
_SIMPLE_FIELD: Final = re.compile(
    rb"^([-!#$%&'*+.^_`|~0-9A-Za-z]+):[ \t]*([^\r\n]*)\r\n", re.MULTILINE
)
_ALL_BYTES: Final = bytes(range(256))
_PRINTABLE: Final = bytes(range(0x20, 0x7F))  # the reason phrase's bytes
_VALUE_OCTETS: Final = _PRINTABLE + b"\t"
_SIMPLE_VERSIONS: Final = {b"1": "HTTP/1.1", b"0": "HTTP/1.0"}
_FRAMING: Final = (b"content-length", b"transfer-encoding")
_new = object.__new__
# status -> its canonical reason phrase as bytes (b"" when it has none); filled on first use
_CANONICAL: dict[int, bytes] = {}


def default_backend() -> str:
    """The backend the codec seam selected (`select_h1_backend`, else the PINGORA_H1_BACKEND
    environment variable, else httptools when installed): client and server parse alike."""
    return current_h1_backend()


def check_backend(backend: str) -> str:
    """`backend` ("h11" or "httptools") if it is usable here, else a clear ValueError."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown HTTP/1 parser backend {backend!r}: expected one of {BACKENDS}")
    if backend not in available_h1_backends():
        raise ValueError(
            f"HTTP/1 parser backend {backend!r} is not installed: "
            "pip install 'pingora-core[speedups]'"
        )
    return backend


def find_head_end(buf: bytes | bytearray, start: int = 0) -> int:
    """The index just past the blank line ending the head in `buf`, or -1 if not there yet.

    A bare-LF blank line also ends a head (so the parser can refuse it rather than wait forever).
    """
    crlf = buf.find(b"\n\r\n", start)
    # a bare-LF end counts only before the CRLF one: never scan a body that came with the head
    lf = buf.find(b"\n\n", start) if crlf < 0 else buf.find(b"\n\n", start, crlf + 2)
    if crlf < 0:
        return -1 if lf < 0 else lf + 2
    if lf < 0:
        return crlf + 3
    return lf + 2


def _invalid(
    head: bytes, reason: object, etype: ErrorType = ErrorType.InvalidHTTPHeader
) -> Error:
    shown = head[:256].decode("latin-1").encode("unicode_escape").decode("ascii")
    return Error(
        etype,
        ErrorSource.UPSTREAM,
        context=f"invalid response head ({reason}): {shown}",
    )


class _Collector:
    """httptools callbacks: gather the reason phrase and the fields."""

    __slots__ = ("fields", "reason")

    def __init__(self) -> None:
        self.reason = b""
        self.fields: list[tuple[bytes, bytes]] = []

    def on_status(self, status: bytes) -> None:
        self.reason += status

    def on_header(self, name: bytes, value: bytes) -> None:
        self.fields.append((name, value))


def _parse_httptools(head: bytes) -> ResponseHeader:
    assert _httptools is not None
    collector = _Collector()
    parser = _httptools.HttpResponseParser(collector)
    try:
        parser.feed_data(head)
    except _httptools.HttpParserUpgrade:
        pass  # a 101: the head is complete, what follows is another protocol
    except _httptools.HttpParserError as exc:
        message = str(exc)
        if not message.startswith(_PAUSED):  # llhttp pauses after a 101 without Upgrade field
            both = "Content-Length" in message and "Transfer-Encoding" in message
            etype = ErrorType.H1Error if both else ErrorType.InvalidHTTPHeader
            raise _invalid(head, exc, etype) from exc
    resp = ResponseHeader(parser.get_status_code(), version="HTTP/" + parser.get_http_version())
    append = resp.headers.append_raw
    for name, value in collector.fields:
        append(name, value)
    if collector.reason:
        resp.set_reason_phrase(collector.reason)
    return resp


def _parse_simple(head: bytes) -> ResponseHeader | None:
    """The message for a head of the everyday shape (see the module docstring), else None.

    The shape: `HTTP/1.0` or `HTTP/1.1`, a status 100..999, a printable ASCII reason, CRLF line
    ends only, every field a token, a colon and a printable ASCII value (tabs inside) that does
    not end in whitespace, and at most one framing field (a decimal Content-Length, or
    `Transfer-Encoding: chunked` on HTTP/1.1)."""
    if head[:7] != b"HTTP/1." or head[8:9] != b" ":
        return None
    minor = head[7:8]
    code = head[9:12]
    if minor not in _SIMPLE_VERSIONS or not code.isdigit() or code[:1] == b"0":
        return None
    line_end = head.find(b"\r\n")
    if line_end == 12:
        reason = b""
    elif head[12:13] == b" ":
        reason = head[13:line_end]
        if reason.translate(_ALL_BYTES, _PRINTABLE):
            return None
    else:
        return None
    block = head[line_end + 2 : -2]
    if b" \r" in block or b"\t\r" in block:
        return None  # a value ending in whitespace (or empty after some): llhttp decides
    pairs = _SIMPLE_FIELD.findall(block)
    if len(pairs) != block.count(b"\n"):
        # Each match is one whole CRLF-ended line starting at a line start, so fewer matches
        # than LFs means a line that is not `token: value`, or a bare LF somewhere.
        return None
    values = [pair[1] for pair in pairs]
    if b"".join(values).translate(_ALL_BYTES, _VALUE_OCTETS):
        return None
    names = [pair[0] for pair in pairs]
    keys = [name.lower() for name in names]
    if b"content-length" in keys or b"transfer-encoding" in keys:
        lengths = keys.count(b"content-length")
        codings = keys.count(b"transfer-encoding")
        if lengths > 1 or codings > 1 or (lengths and codings):
            return None  # llhttp decides (and refuses) ambiguous framing
        value = values[keys.index(_FRAMING[0] if lengths else _FRAMING[1])]
        if lengths and not value.isdigit():
            return None
        if codings and (minor != b"1" or value.lower() != b"chunked"):
            return None
    status = int(code)
    resp: ResponseHeader = _new(ResponseHeader)
    resp._status = status
    resp._reason = None
    resp._version = _SIMPLE_VERSIONS[minor]
    resp.headers = HeaderMap._adopt(names, keys, values, True)
    if reason:
        canonical = _CANONICAL.get(status)
        if canonical is None:
            phrase = ResponseHeader(status).reason_phrase
            canonical = _CANONICAL[status] = b"" if phrase is None else phrase.encode("latin-1")
        if reason != canonical:
            resp.set_reason_phrase(reason)
    return resp


def _simple_first(parse: Callable[[bytes], ResponseHeader]) -> Callable[[bytes], ResponseHeader]:
    # `parse` behind the everyday-shape path
    def parse_head(head: bytes) -> ResponseHeader:
        resp = _parse_simple(head)
        return parse(head) if resp is None else resp

    return parse_head


def _parse_h11(head: bytes) -> ResponseHeader:
    import h11

    if head.count(b"\n") != head.count(b"\r\n"):
        raise _invalid(head, "bare LF line end")
    if len(_CONTENT_LENGTH.findall(head)) > 1:
        raise _invalid(head, "Content-Length given more than once")
    conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=len(head) + 1)
    # h11 parses a response only after a request: hand it one (its bytes are thrown away) that
    # allows an upgrade, so a 101 is a valid answer too.
    conn.send(h11.Request(method="GET", target="/", headers=_H11_REQUEST))
    conn.send(h11.EndOfMessage())
    conn.receive_data(head)
    try:
        event: Any = conn.next_event()
    except h11.RemoteProtocolError as exc:
        raise _invalid(head, exc) from exc
    if not isinstance(event, h11.Response | h11.InformationalResponse):
        raise _invalid(head, "incomplete")
    resp = ResponseHeader.from_h11(event)
    if not event.reason:
        resp.set_reason_phrase(None)  # as llhttp's reading: no reason, the canonical one goes out
    return resp


_H11_REQUEST: Final = [("Host", "upstream"), ("Connection", "upgrade"), ("Upgrade", "any")]
_PARSERS: Final = {"httptools": _simple_first(_parse_httptools), "h11": _simple_first(_parse_h11)}


def _repair(head: bytes) -> bytes:
    """Unfold obs-fold lines and drop whitespace before a field's colon."""
    status_end = head.find(b"\r\n")
    fields = head[status_end:]
    fields = _FOLD.sub(b" ", fields[:-2]) + b"\r\n"
    fields = _SPACE_COLON.sub(rb"\1:", fields)
    return head[:status_end] + fields


def parse_response_head(head: bytes, backend: str) -> ResponseHeader:
    """Parse one complete response head (ending with its blank line) with `backend`."""
    parse = _PARSERS[backend]
    try:
        try:
            return parse(head)
        except Error as exc:
            if exc.etype != ErrorType.InvalidHTTPHeader:
                raise
            repaired = _repair(head)
            if repaired == head:
                raise
            return parse(repaired)
    except InvalidHeaderError as exc:
        raise _invalid(head, exc) from exc
