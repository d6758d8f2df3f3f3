"""`InMemoryUpstream`: an upstream served in memory, reached through a peer's custom L4 connector.

Each connection the proxy opens is a `memory_stream_pair`; the far end is served by a
`ServerApp` (an `HttpServer`, your own `HttpServerApp`, or a raw L4 app for tunnels) or by an
async handler `(request, body) -> (status, headers, body)`. No sockets, real backpressure.
Test code only.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable, Mapping
from types import TracebackType
from typing import Any, Self

from pingora_core.apps import ServerApp
from pingora_core.apps.http_server import HttpServer, ServeHttp
from pingora_core.errors import Error, ErrorSource, ErrorType
from pingora_core.protocols.http.v1.server import HttpSession
from pingora_core.protocols.l4 import L4Connector, Stream
from pingora_core.server import ShutdownTrigger
from pingora_core.testing import memory_stream_pair
from pingora_core.upstreams import HttpPeer, PeerOptions
from pingora_http import RequestHeader, ResponseHeader

__all__ = ["Handler", "HandlerResult", "Headers", "InMemoryUpstream", "read_head"]

Headers = Mapping[str, str] | Iterable[tuple[str | bytes, str | bytes]]
HandlerResult = tuple[int, Headers, bytes] | tuple[ResponseHeader, bytes]
Handler = Callable[[RequestHeader, bytes], Awaitable[HandlerResult]]


async def read_head(stream: Stream, limit: int = 65536) -> tuple[bytes, bytes]:
    """For scripted upstreams: read one HTTP/1 head from `stream`. Returns (the head without
    its blank line, the bytes read past it); raises EOFError if the stream ends first."""
    buf = b""
    while (end := buf.find(b"\r\n\r\n")) < 0:
        if len(buf) > limit:
            raise ValueError(f"no end of head within {limit} bytes")
        data = await stream.read()
        if not data:
            raise EOFError(f"the stream ended inside a head: {buf[:64]!r}")
        buf += data
    return buf[:end], buf[end + 4 :]


def header_items(headers: Headers | None) -> list[tuple[str | bytes, str | bytes]]:
    """`headers` (a mapping or (name, value) pairs) as a list of pairs."""
    if headers is None:
        return []
    if isinstance(headers, Mapping):
        return list(headers.items())
    return list(headers)


class _HandlerApp(ServeHttp):
    """Serves each request with a handler callback."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler

    async def response(self, session: HttpSession) -> tuple[ResponseHeader, bytes]:
        parts = []
        while (piece := await session.read_request_body()) is not None:
            parts.append(piece)
        result = await self.handler(session.req_header, b"".join(parts))
        if len(result) == 2:
            header, body = result
            if not isinstance(header, ResponseHeader):
                raise TypeError("a handler returns (status, headers, body) or "
                                "(ResponseHeader, body)")
            return header, body
        status, headers, body = result
        resp = ResponseHeader(status)
        for name, value in header_items(headers):
            resp.headers.append(name, value)
        return resp, body


class InMemoryUpstream(L4Connector):
    """An in-memory upstream; `peer()` gives the `HttpPeer` that reaches it.

    `target`: a `ServerApp` serving each connection, or an async handler
    `(request: RequestHeader, body: bytes) -> (status, headers, body) | (ResponseHeader, body)`.
    `max_buffer` bounds each direction's unread bytes (backpressure). `connections` counts the
    connections opened; `fail_connects` makes that many next connects fail (ConnectRefused,
    retryable) before they succeed again. Use `async with` (or `aclose()`) to stop serving.
    A connection failing (reset, closed) just ends; any other exception the serving app raises
    is raised again by `aclose()`, so a test sees it.
    """

    def __init__(
        self,
        target: ServerApp | Handler,
        *,
        address: str = "upstream.test:80",
        max_buffer: int = 65536,
    ) -> None:
        if isinstance(target, ServerApp):
            app = target
        elif callable(target):
            app = HttpServer(_HandlerApp(target))
        else:
            raise TypeError(f"target must be a ServerApp or an async handler, got {target!r}")
        self.app: ServerApp = app
        self.address = address
        self.max_buffer = max_buffer
        self.connections = 0
        self.fail_connects = 0
        self._trigger = ShutdownTrigger()
        self._tasks: set[asyncio.Task[None]] = set()
        self._failures: list[BaseException] = []
        HttpPeer(address)  # a bad address fails here, not at the first request

    def peer(self, **options: Any) -> HttpPeer:
        """A peer reaching this upstream; `options` are further `PeerOptions` fields."""
        return HttpPeer(self.address, options=PeerOptions(custom_l4=self, **options))

    async def connect(self, peer_address: str) -> Stream:
        if self.fail_connects > 0:
            self.fail_connects -= 1
            raise Error(ErrorType.ConnectRefused, ErrorSource.UPSTREAM, retry=True,
                        context=f"{peer_address} refused the connection (InMemoryUpstream)")
        proxy_end, upstream_end = memory_stream_pair(
            self.max_buffer, names=("memory:proxy", f"memory:{self.address}")
        )
        self.connections += 1
        task = asyncio.get_running_loop().create_task(self._serve(upstream_end))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return proxy_end

    async def _serve(self, stream: Stream) -> None:
        try:
            current: Stream | None = stream
            while current is not None:
                current = await self.app.process_new(current, self._trigger.watch)
        except Error:
            pass  # the connection failed: the proxy reset or closed it
        except Exception as exc:
            self._failures.append(exc)
        finally:
            with contextlib.suppress(Error):
                await stream.close()

    async def aclose(self) -> None:
        """Stop serving: every open connection is closed."""
        self._trigger.trigger()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
        await self.app.cleanup()
        if self._failures:
            raise self._failures[0]

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return (
            f"InMemoryUpstream({self.address!r}, app={type(self.app).__name__}, "
            f"connections={self.connections}, open={len(self._tasks)})"
        )
