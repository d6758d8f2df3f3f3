"""Parsing an HTTP/1 response head (status line and fields) for the client session, with the
httptools backend (llhttp, when installed) or the h11 backend (always there).

Sans-IO: `find_head_end` locates the blank line that ends a head in a buffer, and
`parse_response_head` turns exactly that head into a `ResponseHeader` or raises `Error`
(InvalidHTTPHeader, blamed on the upstream). Both backends give the same answer for the same
bytes: bare LF line ends and duplicate Content-Length fields are refused by both; whitespace
before a field's colon and obs-fold continuation lines are repaired (RFC 9112 §5.1, §5.2: a
recipient of a response may repair them) and the head parsed again. Body framing is not decided
here.
"""

from __future__ import annotations

import re
from typing import Any, Final

from pingora_core.errors import Error, ErrorSource, ErrorType
from pingora_core.protocols.http.v1.codec import available_h1_backends, current_h1_backend
from pingora_http import InvalidHeaderError, ResponseHeader

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
    lf = buf.find(b"\n\n", start)
    if crlf < 0:
        return -1 if lf < 0 else lf + 2
    if lf < 0 or crlf < lf:
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
    return ResponseHeader.from_h11(event)


_H11_REQUEST: Final = [("Host", "upstream"), ("Connection", "upgrade"), ("Upgrade", "any")]
_PARSERS: Final = {"httptools": _parse_httptools, "h11": _parse_h11}


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
