"""Refusing connections by address before any HTTP is spoken: a `ConnectionFilter` on the proxy
service.

The filter runs right after accept(); a refused connection is closed at once, without reading a
byte or sending a response, so it costs almost nothing. This one refuses the IP addresses given
with `--deny` (repeatable; e.g. `--deny 127.0.0.2`) and accepts everyone else, whose requests
are proxied to the upstream.

    python examples/connection_filter.py --port 6196 --deny 127.0.0.2 [--upstream ADDR]
    curl -i http://127.0.0.1:6196/                               # proxied
    curl -i --interface 127.0.0.2 http://127.0.0.1:6196/         # connection closed

Without `--upstream` a small origin runs on 127.0.0.1 in the same process. `--port 0` picks a
free port; the address is printed as "listening on 127.0.0.1:PORT".
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
from collections.abc import Callable, Iterable

from pingora_core.apps.http_server import HttpServer, ServeHttp
from pingora_core.listeners import ConnectionFilter
from pingora_core.protocols.http.v1.server import HttpSession
from pingora_core.server import Opt, Server, ShutdownWatch
from pingora_core.services import (
    BackgroundService,
    ReadyNotifier,
    Service,
    ServiceHandle,
    background_service,
)
from pingora_core.upstreams import HttpPeer
from pingora_http import ResponseHeader
from pingora_proxy import ProxyHttp, Session, http_proxy_service

log = logging.getLogger("connection_filter")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class DenyListFilter(ConnectionFilter):
    """Refuses connections from the IP addresses in `denied`; accepts the rest (and unix
    socket peers, which have no address)."""

    def __init__(self, denied: Iterable[IPAddress]) -> None:
        self.denied = frozenset(denied)
        self.refused = 0

    async def should_accept(self, addr: str | None) -> bool:
        if addr is None or not self.denied:
            return True
        host = addr.rpartition(":")[0].strip("[]")
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            return True
        if ip in self.denied:
            self.refused += 1
            log.info("refusing the connection from %s", addr)
            return False
        return True

    def __repr__(self) -> str:
        denied = sorted(str(ip) for ip in self.denied)
        return f"DenyListFilter(denied={denied}, refused={self.refused})"


class MyProxy(ProxyHttp[None]):
    """Proxies everything it gets to one upstream."""

    def __init__(self, upstream: Callable[[], str]) -> None:
        self.upstream = upstream

    def new_ctx(self) -> None:
        return None

    async def upstream_peer(self, session: Session, ctx: None) -> HttpPeer:
        return HttpPeer(self.upstream())


class HelloOrigin(ServeHttp):
    """The embedded origin."""

    async def response(self, session: HttpSession) -> tuple[ResponseHeader, bytes]:
        while await session.read_request_body() is not None:
            pass
        header = ResponseHeader(200)
        header.append_header("Content-Type", "text/plain")
        return header, b"hello from the origin\n"


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


def ip_address(text: str) -> IPAddress:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an IP address: {text!r}") from None


def fixed_address(address: str) -> Callable[[], str]:
    return lambda: address


def bound_address(service: Service) -> Callable[[], str]:
    """The address `service` got once bound (it is started before the proxy)."""
    return lambda: service.bound_addresses()[0]


def main() -> None:
    parser = Opt.parser("connection_filter")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=6196)
    parser.add_argument("--upstream", help="host:port of the origin (default: embedded)")
    parser.add_argument(
        "--deny", type=ip_address, action="append", default=[], help="an IP to refuse"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(name)s %(levelname)s %(message)s")
    log.setLevel(logging.INFO)

    server = Server(Opt.from_args(args))
    server.bootstrap()
    origin_handle: ServiceHandle | None = None
    if args.upstream:
        upstream = fixed_address(args.upstream)
    else:
        origin = Service("origin", HttpServer(HelloOrigin()))
        origin.add_tcp("127.0.0.1:0")
        origin_handle = server.add_service(origin)
        upstream = bound_address(origin)

    proxy = http_proxy_service(server.configuration, MyProxy(upstream), name="filtered proxy")
    proxy.set_connection_filter(DenyListFilter(args.deny))
    proxy.add_tcp(f"{args.host}:{args.port}")
    handle = server.add_service(proxy)
    if origin_handle is not None:
        handle.add_dependency(origin_handle)
    server.add_service(background_service("announce", Announce(proxy))).add_dependency(handle)
    server.run_forever()


if __name__ == "__main__":
    main()
