"""The least per-request work of an HTTP/1 reverse proxy with a phase API, for bench_proxy.py.

On bare asyncio Protocols (no Stream, no sessions, no pool, no retries, no modules, no task per
request): check the client's head with our common-shape rule, split its fields (the rule
vouched for them, as our server does), build the `RequestHeader` filters read, run an
`upstream_peer`-style coroutine, copy the head for upstream without hop-by-hop fields, write it
on this client connection's own upstream connection; parse the response head with our client's
parser, drop its hop-by-hop fields, stamp Date and Connection, write head and body to the
client. Writes wait for the end of the loop iteration, as our streams' do. Plain body-less GETs
answered by small Content-Length responses only (anything else is dropped): a reference for
what any proxy design on top could reach, not a proxy.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from pingora_core.protocols.http.date import get_cached_date
from pingora_core.protocols.http.v1.client_parse import parse_response_head
from pingora_http import RequestHeader
from pingora_proxy._headers import strip_hop_by_hop

if TYPE_CHECKING:  # how mypy (run from the repo root) names the helper next to this module
    from tools.bench._bare import (
        floor_request,
        flush_batched,
        nodelay,
        run_until_sigint,
        write_batched,
    )
else:
    from _bare import floor_request, flush_batched, nodelay, run_until_sigint, write_batched

__all__ = ["serve_floor"]


class _Upstream(asyncio.Protocol):
    """The client connection's upstream connection: every response goes back to `down`."""

    def __init__(self, down: _Downstream) -> None:
        self.down = down
        self.buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        nodelay(transport)

    def data_received(self, data: bytes) -> None:
        data = self.buffer + data if self.buffer else data
        end = data.find(b"\r\n\r\n") + 4
        if end < 4:
            self.buffer = data
            return
        resp = parse_response_head(data[:end], "httptools")
        length = int(resp.headers.get(b"content-length") or b"0")
        if len(data) < end + length:
            self.buffer = data
            return
        self.buffer = b""
        down = self.down.transport
        if down.is_closing():
            return  # the client left
        headers = resp.headers
        strip_hop_by_hop(headers)
        headers._put(b"date", b"Date", get_cached_date())
        closing = self.down.closing
        headers._put(b"connection", b"Connection", b"close" if closing else b"keep-alive")
        write_batched(down, resp.to_h1_wire() + data[end : end + length])
        if closing:
            flush_batched()
            down.close()


class _Downstream(asyncio.Protocol):
    def __init__(self, origin: tuple[str, int]) -> None:
        self.origin = origin
        self.upstream: _Upstream | None = None
        self.closing = False  # the client asked for Connection: close
        self.waiting: list[bytes] = []  # upstream requests made before it was connected

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        nodelay(transport)
        loop = asyncio.get_running_loop()
        self.connecting = loop.create_task(self._connect(loop))

    async def _connect(self, loop: asyncio.AbstractEventLoop) -> None:
        _, upstream = await loop.create_connection(lambda: _Upstream(self), *self.origin)
        self.upstream = upstream
        for wire in self.waiting:
            write_batched(upstream.transport, wire)
        self.waiting.clear()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.upstream is not None:
            self.upstream.transport.close()

    async def upstream_peer(self, request: RequestHeader) -> tuple[str, int]:
        return self.origin

    def data_received(self, data: bytes) -> None:
        request = floor_request(data)
        if request is None:
            return
        connection = request.headers.get(b"connection")
        self.closing = connection is not None and connection.lower() == b"close"
        phase = self.upstream_peer(request)
        try:
            phase.send(None)
        except StopIteration:
            pass
        else:
            raise RuntimeError("the floor's phase never waits")
        upstream_request = request.copy()
        strip_hop_by_hop(upstream_request.headers)
        wire = upstream_request.to_h1_wire()
        if self.upstream is None:
            self.waiting.append(wire)
        else:
            write_batched(self.upstream.transport, wire)


def serve_floor(port: int, origin: str) -> None:
    """Serve on 127.0.0.1:`port` in front of `origin` ("host:port") until SIGINT."""
    host, _, origin_port = origin.rpartition(":")
    target = (host, int(origin_port))

    async def start() -> Callable[[], object]:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: _Downstream(target), "127.0.0.1", port, backlog=65535
        )
        return server.close

    run_until_sigint(start)
