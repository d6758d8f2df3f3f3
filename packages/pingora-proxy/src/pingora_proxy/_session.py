"""`Session`: one proxied request as the phases of a `ProxyHttp` see it.

It wraps the downstream (client) session behind `DownstreamSession`, runs the downstream
modules when a phase writes a response itself, keeps the retry buffer (the first 64 KiB of the
request body, replayed when a request is retried), and counts the body bytes moved upstream.
It does not decide anything about the flow of a request: that is the engine's job.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Final

from pingora_core.errors import Error
from pingora_core.modules import HttpModuleCtx
from pingora_http import ResponseHeader

if TYPE_CHECKING:
    from pingora_http import RequestHeader
    from pingora_proxy._downstream import DownstreamSession

__all__ = ["RETRY_BUFFER_SIZE", "Session"]

#: How much of a request body is kept to replay it on a retry (Pingora's 64 KiB).
RETRY_BUFFER_SIZE: Final = 64 * 1024
_NO_STORE: Final = b"private, no-store"


class Session:
    """The request being proxied: its head (`req_header`, mutable), its body, the response
    written so far, and the per-request modules (`downstream_modules_ctx`)."""

    __slots__ = (
        "_down",
        "_retry",
        "_retry_size",
        "_retry_truncated",
        "downstream_modules_ctx",
        "upstream_body_bytes_received",
        "upstream_body_bytes_sent",
    )

    def __init__(self, downstream: DownstreamSession, modules_ctx: HttpModuleCtx | None = None):
        self._down = downstream
        self.downstream_modules_ctx = HttpModuleCtx() if modules_ctx is None else modules_ctx
        self._retry: list[bytes] | None = None
        self._retry_size = 0
        self._retry_truncated = False
        #: Request body bytes written to the upstream (last attempt).
        self.upstream_body_bytes_sent = 0
        #: Response body bytes read from the upstream (last attempt).
        self.upstream_body_bytes_received = 0

    # -- the request ------------------------------------------------------------------------

    @property
    def downstream_session(self) -> DownstreamSession:
        """The session with the client underneath."""
        return self._down

    @property
    def req_header(self) -> RequestHeader:
        """The request head (mutable: changes here are what goes upstream)."""
        return self._down.req_header

    def get_header(self, name: str | bytes) -> bytes | None:
        """The first value of request header `name`, or None."""
        return self._down.req_header.headers.get(name)

    def is_upgrade_req(self) -> bool:
        """True for a request asking to switch protocols (`Upgrade`, e.g. WebSocket)."""
        return self._down.is_upgrade_req()

    async def read_request_body(self) -> bytes | None:
        """The next piece of the request body, None at its end. What a phase reads here is not
        forwarded upstream."""
        return await self._down.read_request_body()

    def is_body_done(self) -> bool:
        """True once the whole request body was read (or there is none)."""
        return self._down.is_body_done()

    @property
    def client_addr(self) -> str | None:
        """The client's address ("127.0.0.1:5000", "unix:...")."""
        return self._down.client_addr

    @property
    def server_addr(self) -> str | None:
        """Our own address on this connection."""
        return self._down.server_addr

    @property
    def body_bytes_read(self) -> int:
        """Request body bytes read from the client."""
        return self._down.body_bytes_read

    @property
    def body_bytes_sent(self) -> int:
        """Response body bytes sent to the client."""
        return self._down.body_bytes_sent

    def request_summary(self) -> str:
        """`"GET /path, Host: example.com"`, for logs."""
        return self._down.request_summary()

    def set_keepalive(self, seconds: float | None) -> None:
        """None: close the client connection after this request; a number: allow reuse and
        wait that long (0: no limit) for the next request."""
        self._down.set_keepalive(seconds)

    def set_read_timeout(self, seconds: float | None) -> None:
        """Limit each wait for request body bytes from the client (None: no limit)."""
        self._down.set_read_timeout(seconds)

    def set_write_timeout(self, seconds: float | None) -> None:
        """Limit each wait for the client to take response bytes (None: no limit); a client
        slower than that is given up."""
        self._down.set_write_timeout(seconds)

    # -- writing a response from a phase ----------------------------------------------------

    @property
    def response_written(self) -> ResponseHeader | None:
        """The final response header sent to the client, or None."""
        return self._down.response_written

    async def write_response_header(
        self, header: ResponseHeader, end_of_stream: bool = False
    ) -> None:
        """Send `header` to the client, through the downstream modules. `end_of_stream`: the
        response has no body (it is finished here)."""
        if not isinstance(header, ResponseHeader):
            raise TypeError(f"header must be a ResponseHeader, got {type(header).__name__}")
        await self.downstream_modules_ctx.response_header_filter(header, end_of_stream)
        down = self._down
        await down.write_response_header(header)
        if end_of_stream and header.status >= 200:
            await down.write_response_body(b"", True)

    async def write_response_body(self, data: bytes | None, end_of_stream: bool = False) -> None:
        """Send a piece of the response body, through the downstream modules."""
        modules = self.downstream_modules_ctx
        data = await modules.response_body_filter(data, end_of_stream)
        if end_of_stream:
            last = await modules.response_done_filter()
            if last:
                data = last if not data else bytes(data) + last
        if data or end_of_stream:
            await self._down.write_response_body(data or b"", end_of_stream)

    async def respond_error(self, code: int) -> None:
        """Answer `code` with an empty body (nothing happens once a response was written;
        a client that is gone is ignored)."""
        await self.respond_error_with_body(code, b"")

    async def respond_error_with_body(self, code: int, body: bytes) -> None:
        """Answer `code` with `body` (nothing happens once a response was written)."""
        down = self._down
        if down.response_written is not None:
            return
        resp = ResponseHeader(code)
        headers = resp.headers
        headers.append(b"Content-Length", b"%d" % len(body))
        headers.append(b"Cache-Control", _NO_STORE)
        with contextlib.suppress(Error):
            await down.write_response_header(resp)
            if body:
                await down.write_response_body(body, True)

    # -- the retry buffer ---------------------------------------------------------------------

    def retry_buffer_truncated(self) -> bool:
        """True when more request body was read than the retry buffer holds (64 KiB): such a
        request cannot be replayed to another upstream."""
        return self._retry_truncated

    def _buffer_body(self, data: bytes) -> None:
        if self._retry_truncated:
            return
        size = self._retry_size + len(data)
        if size > RETRY_BUFFER_SIZE:
            self._retry_truncated = True
            self._retry = None
            return
        self._retry_size = size
        if self._retry is None:
            self._retry = [data]
        else:
            self._retry.append(data)

    def _retry_body(self) -> bytes | None:
        """The buffered body to replay, or None."""
        chunks = self._retry
        if not chunks or self._retry_truncated:
            return None
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def __repr__(self) -> str:
        status = None if self.response_written is None else self.response_written.status
        return (
            f"<Session {self.request_summary()!r} response={status} "
            f"retry_buffer={self._retry_size}{'+' if self._retry_truncated else ''}>"
        )
