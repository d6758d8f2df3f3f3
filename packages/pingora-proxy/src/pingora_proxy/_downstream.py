"""`DownstreamSession`: what the proxy's phase machinery needs from a server session.

The HTTP/1 server session of pingora_core satisfies it as it is (no wrapper, no per-call cost);
an HTTP/2 stream session only has to provide the same methods to plug in. Nothing in the phase
machinery may reach past this interface to a protocol's internals.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from pingora_core.protocols.l4.stream import Stream
    from pingora_http import HeaderMap, RequestHeader, ResponseHeader

__all__ = ["DownstreamSession"]


class DownstreamSession(Protocol):
    """One request/response exchange with a client, after its request head was read.

    `auto_continue` (False: the session must not answer `Expect: 100-continue` by itself; the
    proxy forwards the upstream's 100). After a 101 (or a 2xx to CONNECT) `read_raw` /
    `write_raw` carry raw bytes and `stream.shutdown()` half-closes towards the client.
    """

    auto_continue: bool
    body_bytes_read: int
    body_bytes_sent: int

    @property
    def req_header(self) -> RequestHeader: ...

    @property
    def response_written(self) -> ResponseHeader | None: ...

    @property
    def trailers(self) -> HeaderMap | None: ...

    @property
    def client_addr(self) -> str | None: ...

    @property
    def server_addr(self) -> str | None: ...

    @property
    def stream(self) -> Stream: ...

    def is_upgrade_req(self) -> bool: ...

    def is_body_done(self) -> bool: ...

    async def read_request_body(self) -> bytes | None: ...

    async def write_informational(self, resp: ResponseHeader) -> None: ...

    async def write_response_header(self, resp: ResponseHeader) -> None: ...

    async def write_response_body(
        self, data: bytes | bytearray | memoryview, end: bool = False
    ) -> None: ...

    async def write_trailers(self, trailers: HeaderMap) -> None: ...

    async def respond_error(self, status: int) -> None: ...

    async def read_raw(self) -> bytes: ...

    async def write_raw(self, data: bytes | bytearray | memoryview) -> None: ...

    def set_keepalive(self, seconds: float | None) -> None: ...

    def set_read_timeout(self, seconds: float | None) -> None: ...

    def set_write_timeout(self, seconds: float | None) -> None: ...

    def will_keepalive(self) -> bool: ...

    def request_summary(self) -> str: ...

    async def finish(self) -> Stream | None: ...
