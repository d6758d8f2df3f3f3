"""`HttpSession`: one HTTP/1 request and its response on a downstream `Stream`.

Reads the head through the codec seam (`RequestParser`) under a total deadline, hands the body
out piece by piece (sending `100 Continue` first when asked), frames the response from its
header (Content-Length, chunked, or close-delimited), and at `finish()` gives the stream back for
the next request or None. A bad request is answered here (4xx, `Connection: close`) before
`read_request` raises. After a `101` to an upgrade request both directions carry raw bytes.
Every failure is an `Error` blamed on the downstream. No anyio on this path: plain awaits.
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Final

from pingora_core.errors import Error, ErrorSource, ErrorType
from pingora_core.protocols.http.date import get_cached_date
from pingora_core.protocols.http.v1.body import BodyWriter
from pingora_core.protocols.http.v1.codec import Event, RequestParser, body_less_head
from pingora_core.protocols.http.v1.events import BodyData, MessageEnd, ParseError, RequestHead
from pingora_core.protocols.http.v1.settings import H1ServerSettings
from pingora_core.protocols.l4._transport import TransportStream
from pingora_core.protocols.l4.stream import Stream
from pingora_http import HeaderMap, RequestHeader, ResponseHeader
from pingora_timeout import Elapsed, timeout

__all__ = ["HttpSession"]

_DOWN: Final = ErrorSource.DOWNSTREAM
_SERVED: Final = "h1_requests_served"  # StreamDigest.extra key: requests read on the stream
_IDLE: Final = "h1_keepalive_timeout"  # StreamDigest.extra key: set_keepalive's idle timeout
_DEFAULT_SETTINGS: Final = H1ServerSettings()
_NO_BODY_STATUS: Final = frozenset((204, 304))
_NO_BODY_METHODS: Final = frozenset(("HEAD", "CONNECT"))  # no body / a tunnel after a 2xx
_CONTINUE: Final = b"HTTP/1.1 100 Continue\r\n\r\n"
_KEEP_ALIVE: Final = b"keep-alive"
_CLOSE: Final = b"close"
_JOIN_LIMIT: Final = 16384  # parts up to this size are joined into one write
# The parser of every session whose body-less head was read before it started: nothing more
# is fed to it (such a session reads no body and its head was the whole of the bytes).
_HEAD_READ: Final = RequestParser("h11")  # named: the process-wide choice is not made here
_HEAD_READ.state = "done"
_new_session = _new_writer = object.__new__


def _error(etype: ErrorType, context: str) -> Error:
    return Error(etype, _DOWN, context=context)


class HttpSession:
    """The server side of one HTTP/1 request/response exchange on `stream`."""

    __slots__ = (
        "_continue_sent",
        "_events",
        "_finished",
        "_head",
        "_keepalive",
        "_parser",
        "_pending",
        "_preread",
        "_ready",
        "_response",
        "_settings",
        "_stream",
        "_trailers",
        "_upgraded",
        "_writer",
        "auto_continue",
        "body_bytes_read",
        "body_bytes_sent",
    )

    def __init__(self, stream: Stream, settings: H1ServerSettings | None = None) -> None:
        settings = _DEFAULT_SETTINGS if settings is None else settings
        self._start(stream, settings, RequestParser(settings.backend, settings.limits))

    def _start(self, stream: Stream, settings: H1ServerSettings, parser: RequestParser) -> None:
        self._stream = stream
        self._settings = settings
        self._parser = parser
        self._events: list[Event] = []
        self._head: RequestHead | None = None
        self._keepalive = False
        self._response: ResponseHeader | None = None
        self._writer: BodyWriter | None = None
        self._pending: bytes | None = None  # a response head held back to go with the body
        self._preread = b""  # the request's first bytes, when the caller read them already
        self._ready: RequestHead | None = None  # the head parsed from them, if it is all they are
        self._continue_sent = False
        # False: the first body read does not answer `Expect: 100-continue` by itself (a proxy
        # forwards its upstream's 100 through write_informational instead).
        self.auto_continue = True
        self._upgraded = False
        self._finished = False
        self._trailers: HeaderMap | None = None
        self.body_bytes_read = 0
        self.body_bytes_sent = 0

    @classmethod
    def _starting_with(
        cls, stream: Stream, data: bytes, settings: H1ServerSettings | None = None
    ) -> HttpSession:
        # A session whose request begins with `data`, read from `stream` already (by a
        # keep-alive loop). When `data` is a whole body-less head in the common shape, as
        # nearly every request is, it is parsed here with no parser of its own; else
        # read_request() parses it first.
        settings = _DEFAULT_SETTINGS if settings is None else settings
        head = body_less_head(data, settings.limits)
        if head is None:
            session = cls(stream, settings)
            session._preread = data
            return session
        self = _new_session(cls)
        self._start(stream, settings, _HEAD_READ)
        self._preread = data
        self._ready = head
        return self

    # -- reading the request ----------------------------------------------------------------

    async def read_request(self) -> RequestHeader | None:
        """Read the request head. None if the client closed (or stayed idle) before sending any.

        A bad head is answered with its 4xx status and `Connection: close`, then raises
        `Error(InvalidHTTPHeader)`; a head not complete within `header_timeout` gets 408 and
        raises `Error(ReadTimedout)`.
        """
        if self._ready is not None:  # parsed when the session started
            return self._take_ready()
        if self._head is not None or self._parser.state != "head":
            raise Error(ErrorType.InternalError, context="read_request() called twice")
        stream = self._stream
        settings = self._settings
        data = self._preread
        if data:
            self._preread = b""
        else:
            extra = stream.digest.extra
            served = extra.get(_SERVED, 0)
            idle = (
                extra.get(_IDLE, settings.keepalive_timeout) if served else settings.header_timeout
            )
            assert idle is None or isinstance(idle, (int, float))
            try:
                if idle is None:
                    data = await stream.read(settings.read_size)
                else:
                    data = await timeout(idle, stream.read(settings.read_size))
            except (Elapsed, Error):
                return None  # nothing was sent: not worth an answer
            if not data:
                return None
        events = self._parser.feed(data)
        if not events:
            events = await self._read_head_rest()
        first = events[0]
        if isinstance(first, ParseError):
            await self.respond_error(first.status)
            raise _error(ErrorType.InvalidHTTPHeader, f"{first.status}: {first.reason}")
        assert isinstance(first, RequestHead)
        return self._take_head(first, events[1:])

    def _take_ready(self) -> RequestHeader:
        # read_request() for a session whose head was parsed when it started (no await)
        head = self._ready
        assert head is not None
        self._ready = None
        self._preread = b""
        return self._take_head(head, [])

    def _take_head(self, head: RequestHead, events: list[Event]) -> RequestHeader:
        # the request head is read: count it on the stream and decide keep-alive
        self._head = head
        self._events = events
        extra = self._stream.digest.extra
        count = extra.get(_SERVED, 0) + 1  # type: ignore[operator]
        extra[_SERVED] = count
        limit = self._settings.keepalive_request_limit
        self._keepalive = (
            head.keep_alive and not head.must_close and (limit is None or count < limit)
        )
        return head.request

    async def _read_head_rest(self) -> list[Event]:
        header_timeout = self._settings.header_timeout
        try:
            if header_timeout is None:
                return await self._read_head_more()
            return await timeout(header_timeout, self._read_head_more())
        except Elapsed:
            await self.respond_error(408)
            raise _error(
                ErrorType.ReadTimedout, f"request head not complete within {header_timeout}s"
            ) from None

    async def _read_head_more(self) -> list[Event]:
        stream, parser, size = self._stream, self._parser, self._settings.read_size
        while True:
            data = await stream.read(size)
            if not data:
                parser.feed_eof()
                self._keepalive = False
                raise _error(ErrorType.ConnectionClosed, "client closed inside the request head")
            events = parser.feed(data)
            if events:
                return events

    @property
    def req_header(self) -> RequestHeader:
        """The request head (after `read_request`)."""
        head = self._head
        if head is None:
            raise Error(ErrorType.InternalError, context="the request head is not read yet")
        return head.request

    @property
    def request_head(self) -> RequestHead | None:
        """The parsed head with its framing facts, or None before `read_request`."""
        return self._head

    def is_upgrade_req(self) -> bool:
        """True for an HTTP/1.1 request carrying `Upgrade` (e.g. WebSocket)."""
        return self._head is not None and self._head.upgrade

    def is_body_done(self) -> bool:
        """True once the whole request body was handed out (or there is none)."""
        if self._parser.state not in ("done", "error"):
            return False
        events = self._events  # usually empty or just the MessageEnd
        return not events or not any(isinstance(event, BodyData) for event in events)

    async def read_request_body(self) -> bytes | None:
        """The next piece of the request body; None at its end.

        Sends `100 Continue` first if the client asked for it. Bad chunked framing is answered
        with 400 (when no response was sent yet) and raises `Error`. After a 101 this returns
        the raw bytes from the client (None at EOF).
        """
        if self._upgraded:
            return await self.read_raw() or None
        events = self._events
        if not events:
            if self._head is None:
                raise Error(ErrorType.InternalError, context="the request head is not read yet")
            if self._parser.state != "body":
                return None
            await self._fill_body()
        event = events.pop(0)
        if isinstance(event, BodyData):
            self.body_bytes_read += len(event.data)
            return event.data
        if isinstance(event, MessageEnd):
            self._trailers = event.trailers
            return None
        assert isinstance(event, ParseError)
        self._keepalive = False
        if self._response is None:
            await self.respond_error(event.status)
        error = self._parser.error or _error(ErrorType.H1Error, event.reason)
        error.esource = _DOWN
        raise error

    async def _fill_body(self) -> None:
        head = self._head
        if (
            head is not None
            and head.expect_continue
            and not self._continue_sent
            and self._response is None
            and self.auto_continue
        ):
            self._continue_sent = True
            self._stream.write(_CONTINUE)
            await self._drain()
        stream, parser, events = self._stream, self._parser, self._events
        read_timeout = self._settings.read_timeout
        while not events:
            try:
                if read_timeout is None:
                    data = await stream.read(self._settings.read_size)
                else:
                    data = await timeout(read_timeout, stream.read(self._settings.read_size))
            except Elapsed:
                self._keepalive = False
                raise _error(
                    ErrorType.ReadTimedout, f"reading the request body, timeout {read_timeout}s"
                ) from None
            except Error:
                self._keepalive = False
                raise
            events += parser.feed(data) if data else parser.feed_eof()

    @property
    def trailers(self) -> HeaderMap | None:
        """The request's trailer fields, once its chunked body was read to the end."""
        return self._trailers

    # -- writing the response ---------------------------------------------------------------

    @property
    def response_written(self) -> ResponseHeader | None:
        """The final response header, once written."""
        return self._response

    async def write_informational(self, resp: ResponseHeader) -> None:
        """Send a 1xx response (100, 103, ...; not 101) ahead of the final one."""
        status = resp.status
        if not 100 <= status < 200 or status == 101:
            raise ValueError(f"write_informational() takes a 1xx status but 101, got {status}")
        if self._response is not None:
            raise Error(ErrorType.InternalError, context="the final response was already written")
        head = self._head
        if head is not None and head.request.version == "HTTP/1.0":
            return  # RFC 9110 15.2: no 1xx to an HTTP/1.0 client
        if status == 100:
            if self._continue_sent:
                return
            self._continue_sent = True
        self._stream.write(resp.to_h1_wire())
        await self._drain()

    async def write_response_header(self, resp: ResponseHeader) -> None:
        """Send the response header (a 1xx goes through `write_informational`).

        The body framing follows the header: Transfer-Encoding chunked, else Content-Length,
        else chunked for HTTP/1.1 clients (the field is added) and close-delimited for HTTP/1.0.
        `Date` and `Connection` are set on `resp` unless the settings say otherwise.
        """
        status = resp.status
        if status < 200 and status != 101:
            await self.write_informational(resp)
            return
        wire = self._start_response(resp)
        writer = self._writer
        assert writer is not None
        if writer.mode == "length" and writer.length:
            self._pending = wire  # goes out with the first body bytes
            return
        if writer.mode == "length" or writer.mode == "none":
            writer.finished = True
        self._stream.write(wire)
        await self._drain()

    def _start_response(self, resp: ResponseHeader) -> bytes:
        # The final response header (not 1xx): choose the body framing, set Date and
        # Connection, and return the head's bytes (nothing is written here).
        if self._response is not None:
            raise Error(ErrorType.InternalError, context="the response header was already written")
        status = resp.status
        head = self._head
        request = None if head is None else head.request
        method = None if request is None else request.method
        headers = resp.headers
        if status == 101:
            if head is None or not head.upgrade:
                raise Error(ErrorType.InternalError, context="101 without an upgrade request")
            writer = BodyWriter.until_close()
            self._upgraded = True
            self._keepalive = False
        elif 200 <= status < 300 and method == "CONNECT":
            # RFC 9110 9.3.6: a 2xx to CONNECT turns the connection into a tunnel (raw bytes)
            writer = BodyWriter.until_close()
            self._upgraded = True
            self._keepalive = False
        elif status in _NO_BODY_STATUS or method == "HEAD":
            writer = BodyWriter.no_body()
        else:
            writer = self._choose_writer(resp, request)
        if self._settings.update_response_headers:
            # our own fields: valid by construction, so set without the checks insert() makes
            headers._put(b"date", b"Date", get_cached_date())
            if not self._upgraded:
                connection = _KEEP_ALIVE if self._keepalive else _CLOSE
                headers._put(b"connection", b"Connection", connection)
        self._response = resp
        self._writer = writer
        return resp.to_h1_wire()

    async def _respond(self, resp: ResponseHeader, body: bytes | bytearray) -> Stream | None:
        # write_response_header(resp), write_response_body(body, end=True) and finish() in one
        # step and one write: what `HttpServer` does with every whole response.
        status = resp.status
        if status < 200:
            await self.write_response_header(resp)
            await self.write_response_body(body, True)
            return await self.finish()
        stream = self._stream
        size = len(body)
        head = self._head
        headers = resp.headers
        keys = headers._keys  # lowercase names: plain list lookups
        if (
            b"content-length" in keys
            and status not in _NO_BODY_STATUS
            and head is not None
            and head.request.method not in _NO_BODY_METHODS
            and self._response is None
            and b"transfer-encoding" not in keys
            and headers._parts[4 * keys.index(b"content-length") + 2] == b"%d" % size
        ):
            # The usual: a body of exactly the Content-Length the header gives. Head and body
            # go in one write; _start_response and _choose_writer inlined.
            if self._settings.update_response_headers:
                headers._put(b"date", b"Date", get_cached_date())
                connection = _KEEP_ALIVE if self._keepalive else _CLOSE
                headers._put(b"connection", b"Connection", connection)
            self._response = resp
            self._writer = writer = _new_writer(BodyWriter)
            writer.mode = "length"
            writer.length = writer.bytes_written = size
            writer.finished = True
            self.body_bytes_sent += size
            if size <= _JOIN_LIMIT:
                stream.write(resp.to_h1_wire() + body)
            else:
                stream.writelines([resp.to_h1_wire(), body])
        else:
            self._respond_framed(resp, body)
        # A transport stream tells whether drain() would wait: skip the call when it would not.
        if stream.__class__ is not TransportStream or stream.write_paused:
            await self._drain()
        # _end() inlined: the stream back for the next request, or None
        self._finished = True
        parser = self._parser
        if not self._keepalive or self._upgraded or parser.state != "done":
            self._keepalive = False
            return None
        leftover = parser.take_leftover()
        if leftover:
            stream.unread(leftover)
        return stream

    def _respond_framed(self, resp: ResponseHeader, body: bytes | bytearray) -> None:
        # _respond's writes for any other response: the framing its header asks for
        wire = self._start_response(resp)
        writer = self._writer
        assert writer is not None
        stream = self._stream
        size = len(body)
        if writer.mode == "length" and writer.length == size:
            # The usual: the body is exactly Content-Length. Head and body in one write.
            writer.bytes_written = size
            writer.finished = True
            self.body_bytes_sent += size
            if size <= _JOIN_LIMIT:
                stream.write(wire + body)
            else:
                stream.writelines([wire, body])
        else:
            self._pending = wire
            parts = writer.frame(body)
            self.body_bytes_sent += writer.bytes_written
            if not writer.finished:
                try:
                    parts += writer.finish()
                except Error:
                    self._keepalive = False
                    self._flush(parts)
                    raise
            self._flush(parts)

    def _choose_writer(self, resp: ResponseHeader, request: RequestHeader | None) -> BodyWriter:
        headers = resp.headers
        keys = headers._keys  # lowercase names: plain list lookups, no name conversion
        te = headers.get_all(b"transfer-encoding") if b"transfer-encoding" in keys else None
        if te:
            headers.remove(b"content-length")
            last = b",".join(te).rsplit(b",", 1)[-1].strip(b" \t").lower()
            if last == b"chunked":
                return BodyWriter.chunked()
            self._keepalive = False
            return BodyWriter.until_close()
        if b"content-length" in keys:
            length = headers._parts[4 * keys.index(b"content-length") + 2]  # the first one
            if not length.isdigit() or not length.isascii():
                raise Error(
                    ErrorType.InvalidHTTPHeader,
                    ErrorSource.INTERNAL,
                    context=f"response Content-Length {length[:24]!r} is not a plain decimal",
                )
            return BodyWriter.content_length(int(length))
        if request is None or request.version == "HTTP/1.1":
            headers.insert(b"Transfer-Encoding", b"chunked")
            return BodyWriter.chunked()
        self._keepalive = False
        return BodyWriter.until_close()

    async def write_response_body(
        self, data: bytes | bytearray | memoryview, end: bool = False
    ) -> None:
        """Send body bytes (framed as the header decided); `end=True` also ends the body.

        Bytes beyond Content-Length, or for a response that has no body (HEAD, 204, 304), are
        dropped. After a 101 the bytes go out raw.
        """
        writer = self._writer
        if writer is None:
            raise Error(ErrorType.InternalError, context="write the response header first")
        before = writer.bytes_written
        parts = writer.frame(data)
        self.body_bytes_sent += writer.bytes_written - before
        if end and not writer.finished:
            try:
                parts += writer.finish()
            except Error:
                self._keepalive = False
                self._flush(parts)
                raise
        self._flush(parts)
        await self._drain()

    async def write_trailers(self, trailers: HeaderMap) -> None:
        """End a chunked body with trailer fields (other framings have no place for them)."""
        writer = self._writer
        if writer is None:
            raise Error(ErrorType.InternalError, context="write the response header first")
        self._flush(writer.finish(trailers))
        await self._drain()

    def _flush(self, parts: list[bytes | bytearray | memoryview]) -> None:
        pending = self._pending
        if pending is not None:
            self._pending = None
            if not parts:
                self._stream.write(pending)
                return
            parts.insert(0, pending)
        if len(parts) == 1:
            self._stream.write(parts[0])
        elif parts:
            # One write: a small join costs less than the extra send writelines may make.
            if sum(map(len, parts)) <= _JOIN_LIMIT:
                self._stream.write(b"".join(parts))
            else:
                self._stream.writelines(parts)

    async def _drain(self) -> None:
        write_timeout = self._settings.write_timeout
        try:
            if write_timeout is None:
                await self._stream.drain()
            else:
                await timeout(write_timeout, self._stream.drain())
        except Elapsed:
            self._keepalive = False
            raise _error(
                ErrorType.WriteTimedout, f"writing the response, timeout {write_timeout}s"
            ) from None
        except Error:
            self._keepalive = False
            raise

    async def respond_error(self, status: int) -> None:
        """Answer `status` with an empty body and `Connection: close`; never raises.

        Does nothing when a response header was already written.
        """
        if self._response is not None:
            return
        self._keepalive = False
        resp = ResponseHeader(status)
        resp.headers.append(b"Content-Length", b"0")
        resp.headers.append(b"Cache-Control", b"private, no-store")
        with contextlib.suppress(Error):
            await self.write_response_header(resp)

    # -- after an upgrade: raw bytes ----------------------------------------------------------

    async def read_raw(self) -> bytes:
        """After a 101: the next bytes from the client (b"" at EOF)."""
        if not self._upgraded:
            raise Error(ErrorType.InternalError, context="read_raw() before a 101 response")
        leftover = self._parser.take_leftover()
        if leftover:
            return leftover
        return await self._stream.read(self._settings.read_size)

    async def write_raw(self, data: bytes | bytearray | memoryview) -> None:
        """After a 101: send bytes to the client as they are."""
        if not self._upgraded:
            raise Error(ErrorType.InternalError, context="write_raw() before a 101 response")
        self._flush([data] if data else [])
        await self._drain()

    # -- the connection -----------------------------------------------------------------------

    @property
    def stream(self) -> Stream:
        """The underlying stream (after an upgrade, the raw connection)."""
        preread = self._preread
        if preread:
            # bytes the caller read ahead for read_request(): whoever reads the stream itself
            # instead gets them first, as if they had never been taken out
            self._preread = b""
            if self._ready is not None:  # parsed from them: read_request() parses again
                self._ready = None
                self._parser = RequestParser(self._settings.backend, self._settings.limits)
            self._stream.unread(preread)
        return self._stream

    @property
    def client_addr(self) -> str | None:
        """The client's address ("127.0.0.1:5000", "unix:...") from the stream digest."""
        return self._stream.digest.peer_addr

    @property
    def server_addr(self) -> str | None:
        """Our own address for this connection, from the stream digest."""
        return self._stream.digest.local_addr

    def set_read_timeout(self, seconds: float | None) -> None:
        """Limit each wait for request body bytes to `seconds` (None: no limit), this session."""
        self._settings = dataclasses.replace(self._settings, read_timeout=seconds)

    def set_write_timeout(self, seconds: float | None) -> None:
        """Limit each wait for a slow client to take the response to `seconds` (None: no
        limit), for this session only."""
        self._settings = dataclasses.replace(self._settings, write_timeout=seconds)

    def set_keepalive(self, seconds: float | None) -> None:
        """None: close the connection after this response. A number: allow reuse, and wait that
        long (0: without limit) for the next request. A client's `Connection: close` wins, and
        so does `keepalive_request_limit` once that many requests were read on the connection."""
        if seconds is None:
            self._keepalive = False
            return
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
            raise ValueError(f"keepalive must be None or a number >= 0, got {seconds!r}")
        head = self._head
        if head is not None and (not head.keep_alive or head.must_close):
            return
        extra = self._stream.digest.extra
        limit = self._settings.keepalive_request_limit
        if limit is not None and head is not None and extra.get(_SERVED, 0) >= limit:  # type: ignore[operator]
            return  # keepalive_request_limit requests served on this connection: it closes
        self._keepalive = True
        extra[_IDLE] = None if seconds == 0 else float(seconds)

    def will_keepalive(self) -> bool:
        """Whether the connection would be reused after this exchange, as things stand."""
        return self._keepalive and not self._upgraded

    def request_summary(self) -> str:
        """`"GET /path, Host: example.com"`, for logs."""
        head = self._head
        if head is None:
            return "- , Host: "
        request = head.request
        host = request.headers.get(b"host") or b""
        path = request.raw_path.decode("utf-8", "replace")
        return f"{request.method} {path}, Host: {host.decode('latin-1')}"

    async def finish(self) -> Stream | None:
        """End the exchange: complete the response framing and return the stream if it can
        carry another request (pipelined bytes are put back), else None (the caller closes it).
        """
        if self._finished:
            return self._stream if self._keepalive else None
        self._finished = True
        writer = self._writer
        if writer is None:
            self._keepalive = False
        elif not writer.finished:
            try:
                parts = writer.finish()
            except Error:
                parts = []
                self._keepalive = False
            self._flush(parts)
            try:
                await self._drain()
            except Error:
                return None
        return self._end()

    def _end(self) -> Stream | None:
        # finish() once the response is complete: the stream if it can carry another request
        self._finished = True
        if self._upgraded or self._parser.state != "done":
            self._keepalive = False
        if not self._keepalive:
            return None
        leftover = self._parser.take_leftover()
        if leftover:
            self._stream.unread(leftover)
        return self._stream

    def __repr__(self) -> str:
        status = None if self._response is None else self._response.status
        return (
            f"<HttpSession {self.request_summary()!r} keepalive={self._keepalive} "
            f"upgraded={self._upgraded} response={status} "
            f"read={self.body_bytes_read} sent={self.body_bytes_sent} finished={self._finished}>"
        )
