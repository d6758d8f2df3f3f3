"""Proxying WebSocket connections.

A WebSocket starts as an HTTP/1.1 request with `Upgrade: websocket`. The proxy forwards it like
any request (keeping the Upgrade headers, which are otherwise hop-by-hop); when the origin
answers `101 Switching Protocols`, both directions become a raw byte pipe until either side
closes, and closes are passed on. Nothing WebSocket-specific is needed in the proxy class: this
one only routes and logs each connection when it ends.

    python examples/websocket_proxy.py --port 6197 [--upstream ADDR]
    python -m websockets ws://127.0.0.1:6197/      # then type lines: they are echoed

Without `--upstream` an echo WebSocket server runs on 127.0.0.1 in the same process (it needs the
`websockets` package). `--port 0` picks a free port; the address is printed as
"listening on 127.0.0.1:PORT".
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from _embedded_origins import (
    Origins,
    example_parser,
    run_proxy_example,
    setup_logging,
    start_server,
)

from pingora_core.errors import Error
from pingora_core.server import ShutdownWatch
from pingora_core.services import BackgroundService, ReadyNotifier
from pingora_core.upstreams import HttpPeer
from pingora_proxy import ProxyHttp, Session

log = logging.getLogger("websocket_proxy")


class WebSocketProxy(ProxyHttp[None]):
    """Sends every request (WebSocket upgrades included) to one upstream."""

    def __init__(self, upstream: Callable[[], str]) -> None:
        self.upstream = upstream
        self.upgraded = 0

    def new_ctx(self) -> None:
        return None

    async def upstream_peer(self, session: Session, ctx: None) -> HttpPeer:
        return HttpPeer(self.upstream())

    async def logging(self, session: Session, error: Error | None, ctx: None) -> None:
        written = session.response_written
        if written is not None and written.status == 101:
            self.upgraded += 1
            log.info("websocket #%d closed (%s)", self.upgraded, error or "cleanly")

    def __repr__(self) -> str:
        return f"WebSocketProxy(upgraded={self.upgraded})"


class EchoOrigin(BackgroundService):
    """An echo WebSocket server on 127.0.0.1:0, ready once it listens."""

    def __init__(self) -> None:
        self.address: str | None = None

    async def start(self, shutdown: ShutdownWatch) -> None:
        await self._run(shutdown, None)

    async def start_with_ready_notifier(
        self, shutdown: ShutdownWatch, ready: ReadyNotifier
    ) -> None:
        await self._run(shutdown, ready)

    async def _run(self, shutdown: ShutdownWatch, ready: ReadyNotifier | None) -> None:
        try:
            from websockets.asyncio.server import ServerConnection, serve
        except ImportError:
            raise SystemExit(
                "the embedded echo origin needs the websockets package "
                "(pip install websockets), or give --upstream"
            ) from None

        async def echo(connection: ServerConnection) -> None:
            async for message in connection:
                await connection.send(message)

        async with serve(echo, "127.0.0.1", 0) as server:
            host, port = next(iter(server.sockets)).getsockname()[:2]
            self.address = f"{host}:{port}"
            if ready is not None:
                ready.notify_ready()
            await shutdown.wait()

    def bound_address(self) -> str:
        if self.address is None:
            raise RuntimeError("the echo origin is not listening yet")
        return self.address


def main() -> None:
    parser = example_parser(
        "websocket_proxy", 6197, "host:port of the WebSocket origin (default: echo)"
    )
    args = parser.parse_args()
    setup_logging(verbose=log)

    server = start_server(args)
    origins = Origins(server)
    echo = EchoOrigin()
    upstream = origins.background(args.upstream, "echo origin", echo, echo.bound_address)
    run_proxy_example(server, WebSocketProxy(upstream), args, name="ws proxy", origins=origins)

if __name__ == "__main__":
    main()
