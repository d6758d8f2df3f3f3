"""The HTTP/1 codec seam: a sans-IO request parser over two interchangeable head backends.

`RequestParser.feed(bytes)` returns events (`RequestHead`, `BodyData`, `MessageEnd`,
`ParseError`). The head is parsed by a backend, h11 (pure Python, always there) or httptools
(llhttp, the `speedups` extra), chosen by `select_h1_backend("auto"|"h11"|"httptools")` or the
`PINGORA_H1_BACKEND` environment variable ("auto" prefers httptools when installed). Our rules
(`rules.py`) run around either backend, and when httptools refuses a head the h11 reference
decides the answer, so both backends give the same verdict. A head in the common shape
(`rules.simple_head`, a regex that accepts nothing either backend or our rules refuse) is read
without a backend: its fields are only split (`rules.simple_fields`).
The body is framed by our own `BodyReader` (a body-less request needs none). One parser reads
one request; bytes after it stay in `leftover`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Final

from pingora_core.errors import Error
from pingora_core.protocols.http.v1.body import BodyReader
from pingora_core.protocols.http.v1.codec_h11 import parse_head_h11
from pingora_core.protocols.http.v1.events import (
    BodyData,
    H1Limits,
    MessageEnd,
    ParseError,
    RequestHead,
)
from pingora_core.protocols.http.v1.rules import (
    BackendReject,
    HeadError,
    ParsedHead,
    build_head,
    build_simple_head,
    check_head,
    head_too_large,
    naive_split,
    simple_fields,
    simple_head,
)

__all__ = [
    "ENV_VAR",
    "Event",
    "RequestParser",
    "available_h1_backends",
    "body_less_head",
    "current_h1_backend",
    "resolve_h1_backend",
    "select_h1_backend",
]

ENV_VAR: Final = "PINGORA_H1_BACKEND"
Event = RequestHead | BodyData | MessageEnd | ParseError
HeadParser = Callable[[bytes], ParsedHead]
_DEFAULT_LIMITS: Final = H1Limits()
_HEAD, _BODY, _DONE, _FAILED = "head", "body", "done", "error"
_END: Final = MessageEnd()  # frozen: one instance serves every body-less request
_selected: str | None = None


def _httptools_parser() -> HeadParser | None:
    try:
        from pingora_core.protocols.http.v1.codec_httptools import parse_head_httptools
    except ImportError:
        return None
    return parse_head_httptools


# Each backend's head parser (None: not installed).
_PARSERS: Final[dict[str, HeadParser | None]] = {
    "h11": parse_head_h11,
    "httptools": _httptools_parser(),
}


def available_h1_backends() -> tuple[str, ...]:
    """The backends that can be used here ("h11" always, "httptools" when installed)."""
    return tuple(name for name, parser in _PARSERS.items() if parser is not None)


def _resolve(name: str) -> str:
    if not isinstance(name, str):
        raise TypeError(f"HTTP/1 backend must be a str, got {type(name).__name__}")
    choice = name.strip().lower()
    if choice == "auto":
        return "httptools" if _PARSERS["httptools"] is not None else "h11"
    if choice not in _PARSERS:
        raise ValueError(f"unknown HTTP/1 backend {name!r}: expected auto, h11 or httptools")
    if _PARSERS[choice] is None:
        raise ValueError(
            f"HTTP/1 backend {choice!r} is not installed: pip install 'pingora-core[speedups]'"
        )
    return choice


def resolve_h1_backend(name: str) -> str:
    """The backend `name` ("auto", "h11", "httptools", any case) stands for; ValueError when it
    is unknown or not installed, TypeError when it is not a str. Selects nothing."""
    return _resolve(name)


def select_h1_backend(name: str) -> str:
    """Choose the backend for parsers built from now on ("auto", "h11" or "httptools").

    Returns the backend chosen; raises ValueError for an unknown or missing one.
    """
    global _selected
    _selected = _resolve(name)
    return _selected


def current_h1_backend() -> str:
    """The backend in use: the selected one, else `PINGORA_H1_BACKEND`, else "auto"'s choice."""
    global _selected
    if _selected is None:
        _selected = _resolve(os.environ.get(ENV_VAR) or "auto")
    return _selected


def _decide(parse: HeadParser, head: bytes, limits: H1Limits) -> RequestHead:
    # `head` ends with the blank line. Raises HeadError with the status to answer.
    line = simple_head(head, limits)
    if line is not None:
        # The common shape: one regex stands for check_head, the backend's syntax check and
        # the name/value checks; the fields are only split.
        names, values = simple_fields(head)
        return build_simple_head(line[0], line[1], line[2], names, values, len(head), limits)
    check_head(head[:-4], limits)
    try:
        parsed = parse(head)
    except BackendReject as exc:
        if parse is not parse_head_h11:
            return _decide(parse_head_h11, head, limits)  # the reference decides
        # Our rules name the status when they object too; else the syntax error is a 400.
        build_head(naive_split(head[:-4]), len(head), limits)
        raise HeadError(400, str(exc)) from None
    return build_head(parsed, len(head), limits)


def body_less_head(data: bytes, limits: H1Limits) -> RequestHead | None:
    """The head when `data` is exactly one body-less request head in the common shape (what
    nearly every request is), else None: the parser then decides, and on the heads accepted
    here it gives the same verdict whatever its backend."""
    if data[-4:] != b"\r\n\r\n":
        return None
    line = simple_head(data, limits)
    if line is None:
        return None
    names, values = simple_fields(data)
    try:
        head = build_simple_head(line[0], line[1], line[2], names, values, len(data), limits)
    except HeadError:
        return None
    return head if head.body == "empty" else None


class RequestParser:
    """Read one HTTP/1 request from bytes fed in; see the module docstring."""

    __slots__ = (
        "_buf",
        "_leftover",
        "_limits",
        "_parse",
        "_reader",
        "_scanned",
        "backend",
        "error",
        "head",
        "state",
    )

    def __init__(self, backend: str | None = None, limits: H1Limits | None = None) -> None:
        if backend is None:
            name = _selected or current_h1_backend()
        elif _PARSERS.get(backend) is not None:  # an exact, installed name: nothing to resolve
            name = backend
        else:
            name = _resolve(backend)
        self.backend = name
        parse = _PARSERS[name]
        assert parse is not None  # _resolve refuses missing backends
        self._parse = parse
        self._limits = _DEFAULT_LIMITS if limits is None else limits
        self._buf = b""
        self._leftover = b""  # after a body-less request (that has no reader)
        self._scanned = 0
        self._reader: BodyReader | None = None
        self.head: RequestHead | None = None
        self.error: Error | None = None  # why the body failed, when it did
        self.state = _HEAD

    @property
    def reader(self) -> BodyReader | None:
        """The body reader, once the head is read."""
        if self._reader is None and self.head is not None:
            # a body-less request runs without one; make it on demand
            reader = self._reader = BodyReader.empty()
            reader.leftover, self._leftover = self._leftover, b""
        return self._reader

    @property
    def leftover(self) -> bytes:
        """Bytes received after the end of this request (the next pipelined one)."""
        if self._reader is not None:
            return self._reader.leftover
        return self._leftover

    def take_leftover(self) -> bytes:
        """`leftover`, emptied."""
        reader = self._reader
        if reader is None:
            data = self._leftover
            self._leftover = b""
            return data
        data = reader.leftover
        reader.leftover = b""
        return data

    def feed(self, data: bytes) -> list[Event]:
        """Parse `data`; return the events it completes (maybe none)."""
        state = self.state
        if state == _BODY:
            return self._feed_body(data)
        if state == _HEAD:
            return self._feed_head(data)
        if state == _DONE and data:
            reader = self._reader
            if reader is None:
                self._leftover += data
            else:
                reader.leftover += data
        return []

    def feed_eof(self) -> list[Event]:
        """The peer closed its side. Returns a `ParseError` if a request was left unfinished."""
        if self.state == _HEAD:
            if self._buf:
                self.state = _FAILED
                return [ParseError(status=400, reason="connection closed inside the request head")]
            return []
        if self.state == _BODY:
            reader = self._reader
            assert reader is not None
            try:
                reader.feed_eof()
            except Error as exc:
                self.error = exc
                self.state = _FAILED
                return [ParseError(status=400, reason=str(exc))]
            self.state = _DONE
            return [MessageEnd(trailers=reader.trailers)]
        return []

    def _feed_head(self, data: bytes) -> list[Event]:
        if self._buf:
            buf = self._buf + data
            start = self._scanned - 3 if self._scanned > 3 else 0
        else:
            buf = data  # the usual: the whole head in one piece
            start = 0
        if buf[:1] == b"\r" and buf[:2] == b"\r\n":
            # RFC 9112 2.2: empty lines before the request line are ignored
            while buf[:2] == b"\r\n":
                buf = buf[2:]
            self._scanned = start = 0
        end = buf.find(b"\r\n\r\n", start)
        limits = self._limits
        if end < 0:
            error = head_too_large(buf, limits)
            if error is not None:
                self.state = _FAILED
                return [ParseError(status=error.status, reason=error.reason)]
            self._buf = buf
            self._scanned = len(buf)
            return []
        self._buf = b""
        end += 4
        try:
            head = _decide(self._parse, buf[:end], limits)
        except HeadError as exc:
            self.state = _FAILED
            return [ParseError(status=exc.status, reason=exc.reason)]
        self.head = head
        body = head.body
        if body == "empty":
            if end < len(buf):
                self._leftover = buf[end:]  # the next pipelined request
            self.state = _DONE
            return [head, _END]
        if body == "length":
            assert head.content_length is not None
            reader = BodyReader.content_length(head.content_length)
        else:
            reader = BodyReader.chunked(
                max_chunk_head=limits.max_chunk_head, max_trailer_size=limits.max_trailer_size
            )
        self._reader = reader
        rest = buf[end:]
        if reader.done:
            reader.leftover = rest
            self.state = _DONE
            return [head, MessageEnd()]
        self.state = _BODY
        events: list[Event] = [head]
        if rest:
            events += self._feed_body(rest)
        return events

    def _feed_body(self, data: bytes) -> list[Event]:
        reader = self._reader
        assert reader is not None
        try:
            pieces = reader.feed(data)
        except Error as exc:
            self.error = exc
            self.state = _FAILED
            return [ParseError(status=400, reason=str(exc))]
        events: list[Event] = [BodyData(data=piece) for piece in pieces]
        if reader.error is not None:
            self.error = reader.error
            self.state = _FAILED
            events.append(ParseError(status=400, reason=str(reader.error)))
        elif reader.done:
            self.state = _DONE
            events.append(MessageEnd(trailers=reader.trailers))
        return events

    def __repr__(self) -> str:
        return (
            f"<RequestParser backend={self.backend} state={self.state} "
            f"buffered={len(self._buf)} reader={self._reader!r}>"
        )
