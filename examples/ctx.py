"""Per-request context and state shared by every request: a reverse proxy that counts requests
and sends "beta" users (requests carrying a `beta-flag` header) to a second origin.

`new_ctx()` gives each request a fresh `MyCtx`; `request_filter` records in it whether the user
is a beta user; `upstream_peer` reads it to pick the origin and bumps two counters kept on the
proxy object (every request, beta requests); `response_filter` shows both numbers to the client
as `X-Request-Number` and `X-Beta-Number`. The counters are plain ints: a worker process runs one
event loop, so no lock is needed (each worker process counts on its own).

    python examples/ctx.py --port 6190 [--upstream ADDR] [--beta-upstream ADDR]
    curl -i http://127.0.0.1:6190/
    curl -i -H 'beta-flag: 1' http://127.0.0.1:6190/

Without `--upstream` two small origins ("main" and "beta") are started on 127.0.0.1 in the same
process, so the example works offline. `--port 0` picks a free port; the address is printed as
"listening on 127.0.0.1:PORT". SIGTERM stops gracefully, SIGINT at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from pingora_core.apps.http_server import HttpServer, ServeHttp
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

log = logging.getLogger("ctx")


@dataclass(slots=True)
class MyCtx:
    """What one request remembers between its phases."""

    beta_user: bool = False
    request_number: int = 0
    beta_number: int = 0


class MyProxy(ProxyHttp[MyCtx]):
    """Counts requests and routes beta users to their own origin."""

    def __init__(self, main: Callable[[], str], beta: Callable[[], str]) -> None:
        self.main = main
        self.beta = beta
        self.req_counter = 0
        self.beta_counter = 0

    def new_ctx(self) -> MyCtx:
        return MyCtx()

    async def request_filter(self, session: Session, ctx: MyCtx) -> bool:
        ctx.beta_user = session.req_header.get("beta-flag") is not None
        return False

    async def upstream_peer(self, session: Session, ctx: MyCtx) -> HttpPeer:
        if ctx.request_number == 0:  # count a request once, even when its peer is retried
            self.req_counter += 1
            ctx.request_number = self.req_counter
            if ctx.beta_user:
                self.beta_counter += 1
                ctx.beta_number = self.beta_counter
        if ctx.beta_user:
            log.info("I'm a beta user #%d", ctx.beta_number)
            return HttpPeer(self.beta())
        log.info("I'm a user #%d", ctx.request_number)
        return HttpPeer(self.main())

    async def response_filter(
        self, session: Session, upstream_response: ResponseHeader, ctx: MyCtx
    ) -> None:
        upstream_response.insert_header("X-Request-Number", str(ctx.request_number))
        if ctx.beta_user:
            upstream_response.insert_header("X-Beta-Number", str(ctx.beta_number))

    def __repr__(self) -> str:
        return f"MyProxy(requests={self.req_counter}, beta={self.beta_counter})"


class NamedOrigin(ServeHttp):
    """The embedded origin: says its name and the path asked for."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def response(self, session: HttpSession) -> tuple[ResponseHeader, bytes]:
        while await session.read_request_body() is not None:
            pass
        header = ResponseHeader(200)
        header.append_header("Content-Type", "text/plain")
        path = session.req_header.path
        return header, f"hello from the {self.name} origin, path {path}\n".encode()


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


def bound_address(service: Service) -> Callable[[], str]:
    """The address `service` got once bound (it is started before the proxy)."""
    return lambda: service.bound_addresses()[0]


def main() -> None:
    parser = Opt.parser("ctx")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=6190)
    parser.add_argument("--upstream", help="host:port of the origin (default: an embedded one)")
    parser.add_argument("--beta-upstream", help="host:port of the beta users' origin")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    server = Server(Opt.from_args(args))
    server.bootstrap()
    origins: list[ServiceHandle] = []
    addresses: list[Callable[[], str]] = []
    for name, given in (("main", args.upstream), ("beta", args.beta_upstream or args.upstream)):
        if given:
            addresses.append(fixed_address(given))
            continue
        origin = Service(f"{name} origin", HttpServer(NamedOrigin(name)))
        origin.add_tcp("127.0.0.1:0")
        origins.append(server.add_service(origin))
        addresses.append(bound_address(origin))

    proxy = http_proxy_service(server.configuration, MyProxy(*addresses), name="ctx proxy")
    proxy.add_tcp(f"{args.host}:{args.port}")
    handle = server.add_service(proxy)
    for origin_handle in origins:
        handle.add_dependency(origin_handle)
    server.add_service(background_service("announce", Announce(proxy))).add_dependency(handle)
    server.run_forever()


if __name__ == "__main__":
    main()
