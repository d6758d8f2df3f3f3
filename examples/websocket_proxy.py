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

from pingora_core.errors import Error
from pingora_core.server import Opt, Server, ShutdownWatch
from pingora_core.services import (
    BackgroundService,
    ReadyNotifier,
    Service,
    ServiceHandle,
    background_service,
)
from pingora_core.upstreams import HttpPeer
from pingora_proxy import ProxyHttp, Session, http_proxy_service

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


class Announce(BackgroundService):
    """Prints where the proxy listens once it is bound."""

    def __init__(self, service: Service) -> None:
        self.service = service

    async def start(self, shutdown: ShutdownWatch) -> None:
        for address in self.service.bound_addresses():
            print(f"listening on {address}", flush=True)

    async def start_with_ready_notifier(
        self, shutdown: ShutdownWatch, ready: ReadyNotifier
    ) -> None:
        await self.start(shutdown)
        ready.notify_ready()


def fixed_address(address: str) -> Callable[[], str]:
    return lambda: address


def main() -> None:
    parser = Opt.parser("websocket_proxy")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=6197)
    parser.add_argument("--upstream", help="host:port of the WebSocket origin (default: echo)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(name)s %(levelname)s %(message)s")
    log.setLevel(logging.INFO)

    server = Server(Opt.from_args(args))
    server.bootstrap()
    origin_handle: ServiceHandle | None = None
    if args.upstream:
        upstream = fixed_address(args.upstream)
    else:
        origin = EchoOrigin()
        origin_handle = server.add_service(background_service("echo origin", origin))
        upstream = origin.bound_address

    proxy = http_proxy_service(server.configuration, WebSocketProxy(upstream), name="ws proxy")
    proxy.add_tcp(f"{args.host}:{args.port}")
    handle = server.add_service(proxy)
    if origin_handle is not None:
        handle.add_dependency(origin_handle)
    server.add_service(background_service("announce", Announce(proxy))).add_dependency(handle)
    server.run_forever()


if __name__ == "__main__":
    main()
