"""`HttpSession`: the HTTP/1 client side of one upstream connection (Pingora's v1 client).

Writes a request head and body (Content-Length or chunked, via `body.BodyWriter`), reads the
response head (1xx surfaced, or skipped on request; 103 always surfaced) and body (Content-Length,
chunked or until close, via `body.BodyReader`), and decides whether the connection may be reused
(`respect_keepalive`, `reuse`). Response framing that is ambiguous (Content-Length with
Transfer-Encoding, differing Content-Lengths) is an `Error` blamed on the upstream, not a guess.
After a 101 the connection carries raw bytes (`into_stream`).

Every failure is an `Error` with source UPSTREAM; read errors on the response head are marked
retryable only on a reused connection (RetryType.REUSED_ONLY), as Pingora does.
"""

from __future__ import annotations

from typing import Final

from pingora_core.errors import Error, ErrorSource, ErrorType, RetryType
from pingora_core.protocols.http.v1.body import BodyReader, BodyWriter
from pingora_core.protocols.http.v1.client_parse import (
    check_backend,
    default_backend,
    find_head_end,
    parse_response_head,
)
from pingora_core.protocols.http.v1.client_rules import (
    connection_tokens,
    content_length,
    is_upgrade_request,
    keepalive_values,
    response_body_mode,
)
from pingora_core.protocols.l4._transport import TransportStream
from pingora_core.protocols.l4.stream import Stream, StreamDigest
from pingora_http import HeaderMap, RequestHeader, ResponseHeader
from pingora_timeout import timeout

__all__ = ["MAX_HEADERS", "MAX_HEAD_SIZE", "HttpSession"]

MAX_HEAD_SIZE: Final = 1048575
MAX_HEADERS: Final = 256
_READ: Final = 262144
_UP: Final = ErrorSource.UPSTREAM


def _up(etype: ErrorType, context: str) -> Error:
    return Error(etype, _UP, context=context)


class HttpSession:
    """An HTTP/1.x exchange with an upstream over `stream`, one request after another.

    `read_timeout` / `write_timeout` (seconds or None) limit each read / write. `reused` says
    whether the connection came from the pool. `backend` picks the head parser ("httptools" or
    "h11"; None: the default, see `client_parse.default_backend`).
    """

    __slots__ = (
        "_backend", "_body", "_error", "_keepalive", "_keepalive_timeout", "_pre", "_request",
        "_response", "_stream", "_upgraded", "_writer", "body_bytes_received",
        "body_bytes_sent", "read_timeout", "reused", "write_timeout",
    )

    def __init__(self, stream: Stream, *, backend: str | None = None, reused: bool = False) -> None:
        if stream.__class__ is not TransportStream and not isinstance(stream, Stream):
            raise TypeError(f"stream must be a Stream, got {type(stream).__name__}")
        self._stream: Stream | None = stream
        self._backend = default_backend() if backend is None else check_backend(backend)
        self.read_timeout: float | None = None
        self.write_timeout: float | None = None
        self.reused = reused
        self._request: RequestHeader | None = None
        self._response: ResponseHeader | None = None
        self._writer: BodyWriter | None = None
        self._body: BodyReader | None = None
        self._pre = b""  # bytes read past the last head, not yet handed to the body reader
        self._keepalive = False
        self._keepalive_timeout: int | None = None
        self._upgraded = False
        self._error = False
        self.body_bytes_sent = 0
        self.body_bytes_received = 0

    # -- state ----------------------------------------------------------------------------------

    @property
    def stream(self) -> Stream:
        """The connection underneath (raises once it was handed over by `into_stream`)."""
        if self._stream is None:
            raise Error(ErrorType.InternalError, ErrorSource.INTERNAL,
                        context="the stream was already taken from this session")
        return self._stream

    @property
    def digest(self) -> StreamDigest:
        """The connection's digest (addresses, established time, TLS)."""
        return self.stream.digest

    @property
    def backend(self) -> str:
        """The response head parser in use."""
        return self._backend

    @property
    def request_header(self) -> RequestHeader | None:
        """The request head written, if any."""
        return self._request

    @property
    def resp_header(self) -> ResponseHeader | None:
        """The last response head read (maybe a 1xx), if any."""
        return self._response

    @property
    def upgraded(self) -> bool:
        """True once a 101 answered an upgrade request: the connection now carries raw bytes."""
        return self._upgraded

    @property
    def will_keepalive(self) -> bool:
        """Whether the response allows reusing the connection (see `respect_keepalive`)."""
        return self._keepalive

    @property
    def keepalive_timeout(self) -> int | None:
        """The `timeout=` the server gave in its Keep-Alive field, if any (seconds)."""
        return self._keepalive_timeout

    # -- request --------------------------------------------------------------------------------

    async def write_request_header(self, req: RequestHeader) -> int:
        """Send the request head; returns its size in bytes. Chooses the request body framing:
        chunked if Transfer-Encoding says so, else Content-Length, else none (an upgrade request
        sends raw bytes after the head)."""
        if not isinstance(req, RequestHeader):
            raise TypeError(f"req must be a RequestHeader, got {type(req).__name__}")
        if self._request is not None:
            raise Error(ErrorType.InternalError, ErrorSource.INTERNAL,
                        context="write_request_header called twice on one session")
        stream = self.stream
        self._writer = self._request_writer(req)
        wire = req.to_h1_wire()
        self._request = req
        try:
            stream.write(wire)
            await self._drain("while writing request headers")
        except Error:
            self._error = True
            raise
        return len(wire)

    @staticmethod
    def _request_writer(req: RequestHeader) -> BodyWriter:
        keys = req.headers._keys
        if (
            b"upgrade" not in keys
            and b"transfer-encoding" not in keys
            and b"content-length" not in keys
        ):
            return BodyWriter.no_body()  # the usual GET: no field to look at
        if is_upgrade_request(req):
            return BodyWriter.until_close()
        te = req.get_all(b"transfer-encoding")
        if te and te[-1].rsplit(b",", 1)[-1].strip().lower() == b"chunked":
            return BodyWriter.chunked()
        length = content_length(req.get_all(b"content-length"), ErrorSource.INTERNAL)
        if length is not None:
            return BodyWriter.content_length(length)
        return BodyWriter.no_body()

    async def write_body(self, data: bytes | bytearray | memoryview) -> int | None:
        """Send a piece of the request body; returns the bytes written, or None when the body is
        already complete (Content-Length reached or finished). Writing past Content-Length, or a
        body on a request that announced none, is an `Error`."""
        writer = self._require_writer()
        if writer.complete:
            return None
        if writer.mode == "none" and len(data):
            raise Error(ErrorType.H1Error, ErrorSource.INTERNAL,
                        context="request body data on a request without Content-Length or "
                        "Transfer-Encoding")
        if writer.mode == "length" and len(data) > writer.length - writer.bytes_written:
            raise Error(ErrorType.H1Error, ErrorSource.INTERNAL,
                        context=f"request body longer than its Content-Length {writer.length}")
        parts = writer.frame(data)
        if parts:
            try:
                self.stream.writelines(parts)
                await self._drain("while writing request body")
            except Error:
                self._error = True
                raise
        self.body_bytes_sent += len(data)
        return len(data)

    async def finish_body(self) -> None:
        """End the request body (the last chunk for chunked; an `Error` if fewer bytes than
        Content-Length were written)."""
        writer = self._require_writer()
        try:
            parts = writer.finish()
        except Error as exc:
            self._error = True
            exc.esource = ErrorSource.INTERNAL
            raise
        if parts:
            try:
                self.stream.writelines(parts)
                await self._drain("while finishing request body")
            except Error:
                self._error = True
                raise

    def _require_writer(self) -> BodyWriter:
        if self._writer is None:
            raise Error(ErrorType.InternalError, ErrorSource.INTERNAL,
                        context="the request head must be written before its body")
        return self._writer

    async def _drain(self, what: str) -> None:
        stream = self.stream
        t = self.write_timeout
        try:
            if t is None:
                await stream.drain()
            else:
                await timeout(t, stream.drain())
        except TimeoutError as exc:
            raise Error(ErrorType.WriteTimedout, _UP, context=f"{what} (timeout {t}s)",
                        cause=exc) from exc
        except Error as exc:
            if exc.esource is ErrorSource.UNSET:
                exc.esource = _UP
            raise

    # -- response -------------------------------------------------------------------------------

    async def _read(self, what: str) -> bytes:
        stream = self.stream
        t = self.read_timeout
        try:
            if t is None:
                return await stream.read(_READ)
            return await timeout(t, stream.read(_READ))
        except TimeoutError as exc:
            self._error = True
            raise Error(ErrorType.ReadTimedout, _UP, context=f"{what} (timeout {t}s)",
                        cause=exc) from exc
        except Error:
            self._error = True
            raise

    async def read_response_header(self, *, skip_informational: bool = False) -> ResponseHeader:
        """Read the next response head. A 1xx head is returned like any other (call again for
        the final one) unless `skip_informational`, which skips them all but 101 and 103."""
        if self._request is None:
            raise Error(ErrorType.InternalError, ErrorSource.INTERNAL,
                        context="read_response_header before write_request_header")
        if self._response is not None and (self._response.status >= 200 or self._upgraded):
            raise Error(ErrorType.InternalError, ErrorSource.INTERNAL,
                        context="the final response head was already read")
        while True:
            resp = await self._read_one_head()
            status = resp.status
            if status >= 200 or status == 101:
                self._final_head(resp)
                return resp
            if not skip_informational or status == 103:
                return resp

    async def _read_one_head(self) -> ResponseHeader:
        buf = self._pre
        self._pre = b""
        end = find_head_end(buf) if buf else -1
        while end < 0:
            if len(buf) > MAX_HEAD_SIZE:
                self._error = True
                raise _up(ErrorType.InvalidHTTPHeader,
                          f"response header larger than {MAX_HEAD_SIZE} bytes")
            try:
                data = await self._read("while reading response headers")
            except Error as exc:
                if exc.etype in (ErrorType.ReadError, ErrorType.ConnectionClosed):
                    exc.retry = RetryType.REUSED_ONLY
                raise
            if not data:
                self._error = True
                error = _up(ErrorType.ConnectionClosed,
                            f"while reading response headers, bytes already read: {len(buf)}")
                error.retry = RetryType.REUSED_ONLY
                raise error
            start = max(len(buf) - 2, 0)
            buf = buf + data if buf else data
            end = find_head_end(buf, start)
        head = buf[:end]
        self._pre = buf[end:]
        try:
            resp = parse_response_head(bytes(head), self._backend)
            if len(resp.headers) > MAX_HEADERS:
                raise _up(ErrorType.InvalidHTTPHeader,
                          f"response has more than {MAX_HEADERS} header fields")
        except Error:
            self._error = True
            raise
        self._response = resp
        return resp

    def _final_head(self, resp: ResponseHeader) -> None:
        request = self._request
        assert request is not None
        try:
            if resp.status == 101:
                if not is_upgrade_request(request):
                    raise _up(ErrorType.H1Error, "101 Switching Protocols to a request that "
                              "did not ask to upgrade")
                self._upgraded = True
                self._body = BodyReader.until_close()
            else:
                self._body = response_body_mode(request, resp)
        except Error:
            self._error = True
            raise
        self.respect_keepalive()
        if self._pre:
            pre, self._pre = self._pre, b""
            self._pending_body(pre)

    def _pending_body(self, data: bytes) -> None:
        # bytes that came with the head: decoded now, handed out by the next read_response_body
        body = self._body
        assert body is not None
        try:
            pieces = body.feed(data)
        except Error as exc:
            self._error = True
            exc.esource = _UP
            raise
        self._pre = b"".join(pieces) if len(pieces) != 1 else pieces[0]

    @property
    def trailers(self) -> HeaderMap | None:
        """The trailer fields of a chunked response body, once it was read to its end."""
        body = self._body
        return None if body is None else body.trailers

    def is_body_done(self) -> bool:
        """True when the response body is fully read (or there is none)."""
        body = self._body
        return body is not None and body.done and not self._pre

    async def read_response_body(self) -> bytes | None:
        """The next piece of the response body, or None once it is complete."""
        body = self._body
        if body is None:
            raise Error(ErrorType.InternalError, ErrorSource.INTERNAL,
                        context="read_response_body before the final response head")
        if self._pre:
            data, self._pre = self._pre, b""
            self.body_bytes_received += len(data)
            return data
        while not body.done:
            data = await self._read("while reading response body")
            try:
                if not data:
                    body.feed_eof()
                    return None
                pieces = body.feed(data)
            except Error as exc:
                self._error = True
                exc.esource = _UP
                raise
            if pieces:
                out = pieces[0] if len(pieces) == 1 else b"".join(pieces)
                self.body_bytes_received += len(out)
                return out
        return None

    # -- connection reuse -----------------------------------------------------------------------

    def respect_keepalive(self) -> None:
        """Decide from the exchange whether the connection may be reused: never after a 101 or
        when the request said `Connection: close`; the response's `Connection` decides next;
        else HTTP/1.1 keeps alive and HTTP/1.0 does not. Called when the final head is read."""
        resp, req = self._response, self._request
        self._keepalive = False
        self._keepalive_timeout = None
        if resp is None or req is None or resp.status == 101 or self._upgraded:
            return
        resp_keys = resp.headers._keys
        if b"connection" not in resp_keys and b"connection" not in req.headers._keys:
            # neither side said anything: the version decides
            if resp.version == "HTTP/1.1":
                self._keepalive = True
                if b"keep-alive" in resp_keys:
                    self._keepalive_timeout = keepalive_values(resp.get(b"keep-alive"))[0]
            return
        if b"close" in connection_tokens(req.get_all(b"connection")):
            return
        tokens = connection_tokens(resp.get_all(b"connection"))
        if b"close" in tokens:
            return
        if b"keep-alive" in tokens or resp.version == "HTTP/1.1":
            self._keepalive = True
            self._keepalive_timeout = keepalive_values(resp.get(b"keep-alive"))[0]

    def can_reuse(self) -> bool:
        """True when the connection may go back to the pool: keep-alive agreed, the request
        body finished, the response body read to its end with nothing after it, no error, no
        upgrade, and the stream still open."""
        body, writer, stream = self._body, self._writer, self._stream
        return (
            self._keepalive
            and not self._error
            and stream is not None
            and body is not None
            and body.done
            and body.mode != "close"
            and not body.leftover
            and not self._pre
            and writer is not None
            and (writer.complete or writer.mode == "none")
            and not stream.is_closing
        )

    async def reuse(self) -> Stream | None:
        """The stream, ready for the next request, if it can be reused; else shut it down and
        close it and return None. The session is finished either way."""
        stream = self._stream
        if stream is None:
            return None
        if self.can_reuse():
            self._stream = None
            return stream
        await self.shutdown()
        return None

    async def shutdown(self) -> None:
        """Close the connection (no reuse)."""
        stream = self._stream
        if stream is None:
            return
        self._keepalive = False
        self._stream = None
        try:
            await stream.close()
        except Error:
            stream.abort()

    def into_stream(self) -> Stream:
        """After a 101: the raw connection, with any bytes already read pushed back in front."""
        if not self._upgraded:
            raise Error(ErrorType.InternalError, ErrorSource.INTERNAL,
                        context="into_stream needs a 101 Switching Protocols response")
        stream = self.stream
        self._stream = None
        if self._pre:
            stream.unread(self._pre)
            self._pre = b""
        return stream

    @staticmethod
    def _check_backend(backend: str) -> str:
        return check_backend(backend)

    def __repr__(self) -> str:
        req = self._request
        resp = self._response
        return (
            f"<HttpSession backend={self._backend} reused={self.reused} "
            f"request={None if req is None else f'{req.method} {req.uri}'} "
            f"status={None if resp is None else resp.status} keepalive={self._keepalive} "
            f"upgraded={self._upgraded} stream={self._stream!r}>"
        )
