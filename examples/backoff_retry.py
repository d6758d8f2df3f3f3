"""Retrying failed connections with an exponential backoff.

`fail_to_connect` is called when a connection to the chosen peer cannot be made; here it counts
the failure in the request's context and marks the error retryable, so the proxy calls
`upstream_peer` again (up to the server's `max_retries` attempts). `upstream_peer` sleeps
10 ms, 100 ms, 1 s, ... (capped by `--max-sleep`) before each new attempt and moves on to the
next peer of its list: first the `--dead` peer, then `--upstream`. The response carries the
number of retries in `X-Retries`.

    python examples/backoff_retry.py --port 6195 [--upstream ADDR] [--dead ADDR]
    curl -i http://127.0.0.1:6195/

Without `--upstream` a small origin runs on 127.0.0.1 in the same process; without `--dead` a
port that refuses connections is reserved (a bound socket that never listens). Use
`--conf FILE` with `max_retries: N` to change the number of attempts. `--port 0` picks a free
port; the address is printed as "listening on 127.0.0.1:PORT". Attempts are logged to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import socket
from collections.abc import Callable
from dataclasses import dataclass

from pingora_core.apps.http_server import HttpServer, ServeHttp
from pingora_core.errors import Error
from pingora_core.protocols.http.v1.server import HttpSession
from pingora_core.server import Opt, Server, ShutdownWatch
from pingora_core.services import (
    BackgroundService,
    ReadyNotifier,
    Service,
    ServiceHandle,
    background_service,
)
from pingora_core.upstreams import HttpPeer, PeerOptions
from pingora_http import ResponseHeader
from pingora_proxy import ProxyHttp, Session, http_proxy_service

log = logging.getLogger("backoff_retry")


@dataclass(slots=True)
class RetryCtx:
    """How many connection attempts of this request failed so far."""

    retries: int = 0


class BackoffRetryProxy(ProxyHttp[RetryCtx]):
    """Tries `peers` in order (staying on the last), sleeping longer before each retry."""

    def __init__(self, peers: list[Callable[[], str]], *, max_sleep: float) -> None:
        if not peers:
            raise ValueError("at least one peer is needed")
        self.peers = peers
        self.max_sleep = max_sleep
        self.options = PeerOptions(connection_timeout=0.1)

    def new_ctx(self) -> RetryCtx:
        return RetryCtx()

    async def fail_to_connect(
        self, session: Session, peer: HttpPeer, ctx: RetryCtx, error: Error
    ) -> Error:
        ctx.retries += 1
        log.info("attempt %d to %s failed: %s", ctx.retries, peer.address, error)
        error.retry = True
        return error

    async def upstream_peer(self, session: Session, ctx: RetryCtx) -> HttpPeer:
        if ctx.retries > 0:
            # exponential backoff: 10 ms, 100 ms, 1 s, ... capped at max_sleep
            delay = min(10 ** min(ctx.retries, 6) / 1000, self.max_sleep)
            log.info("sleeping for %.3f s before attempt %d", delay, ctx.retries + 1)
            await asyncio.sleep(delay)
        address = self.peers[min(ctx.retries, len(self.peers) - 1)]()
        return HttpPeer(address, options=self.options)

    async def response_filter(
        self, session: Session, upstream_response: ResponseHeader, ctx: RetryCtx
    ) -> None:
        upstream_response.insert_header("X-Retries", str(ctx.retries))

    def __repr__(self) -> str:
        return f"BackoffRetryProxy(peers={len(self.peers)}, max_sleep={self.max_sleep})"


class HelloOrigin(ServeHttp):
    """The embedded (alive) origin."""

    async def response(self, session: HttpSession) -> tuple[ResponseHeader, bytes]:
        while await session.read_request_body() is not None:
            pass
        header = ResponseHeader(200)
        header.append_header("Content-Type", "text/plain")
        return header, b"hello from the origin that is up\n"


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


def refusing_address() -> tuple[str, socket.socket]:
    """A loopback address that refuses connections: bound (so no one else gets the port) but
    never listening. Keep the socket open as long as the address is used."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    host, port = sock.getsockname()
    return f"{host}:{port}", sock


def seconds(text: str) -> float:
    value = float(text)
    if not 0 <= value < math.inf:
        raise argparse.ArgumentTypeError(f"must be a number of seconds >= 0, got {text}")
    return value


def fixed_address(address: str) -> Callable[[], str]:
    return lambda: address


def bound_address(service: Service) -> Callable[[], str]:
    """The address `service` got once bound (it is started before the proxy)."""
    return lambda: service.bound_addresses()[0]


def main() -> None:
    parser = Opt.parser("backoff_retry")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=6195)
    parser.add_argument("--upstream", help="host:port of the origin that is up (default: embedded)")
    parser.add_argument("--dead", help="host:port tried first (default: a refusing local port)")
    parser.add_argument("--max-sleep", type=seconds, default=10.0, help="longest backoff sleep")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(name)s %(levelname)s %(message)s")
    log.setLevel(logging.INFO)

    server = Server(Opt.from_args(args))
    server.bootstrap()
    reserved: socket.socket | None = None
    if args.dead:
        dead = args.dead
    else:
        dead, reserved = refusing_address()
    origin_handle: ServiceHandle | None = None
    if args.upstream:
        alive = fixed_address(args.upstream)
    else:
        origin = Service("origin", HttpServer(HelloOrigin()))
        origin.add_tcp("127.0.0.1:0")
        origin_handle = server.add_service(origin)
        alive = bound_address(origin)

    app = BackoffRetryProxy([fixed_address(dead), alive], max_sleep=args.max_sleep)
    proxy = http_proxy_service(server.configuration, app, name="backoff retry")
    proxy.add_tcp(f"{args.host}:{args.port}")
    handle = server.add_service(proxy)
    if origin_handle is not None:
        handle.add_dependency(origin_handle)
    server.add_service(background_service("announce", Announce(proxy))).add_dependency(handle)
    try:
        server.run_forever()
    finally:
        if reserved is not None:
            reserved.close()


if __name__ == "__main__":
    main()
