"""An API gateway: authentication, path-based routing, response header rewriting and one log
line per request.

- `request_filter`: paths under `/login` need `Authorization: password`; anything else there is
  answered 403 by the gateway itself (returning True: the response is already written).
- `upstream_peer`: paths under `/family` go to the "family" origin, everything else to the
  default one.
- `response_filter`: sets `Server: MyGateway` and drops `alt-svc` (we do not speak HTTP/3).
- `logging`: one line per request, "<request summary> response code: <status>", also for the
  requests refused in `request_filter`; a counter of requests served is kept for metrics.

    python examples/gateway.py --port 6191 [--upstream ADDR] [--family-upstream ADDR]
    curl -i http://127.0.0.1:6191/
    curl -i http://127.0.0.1:6191/family/
    curl -I -H 'Authorization: password' http://127.0.0.1:6191/login/
    curl -I -H 'Authorization: bad' http://127.0.0.1:6191/login/

Without `--upstream` two origins ("default" and "family") are started on 127.0.0.1 in the same
process; they send `Server` and `alt-svc` headers for the gateway to rewrite. `--port 0` picks a
free port; the address is printed as "listening on 127.0.0.1:PORT". Log lines go to stderr.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

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
from pingora_core.upstreams import HttpPeer
from pingora_http import RequestHeader, ResponseHeader
from pingora_proxy import ProxyHttp, Session, http_proxy_service

log = logging.getLogger("gateway")


def check_login(req: RequestHeader) -> bool:
    """Replace with real authentication."""
    return req.get("Authorization") == b"password"


class MyGateway(ProxyHttp[None]):
    """Authenticates /login, routes /family, rewrites response headers, logs every request."""

    def __init__(self, default: Callable[[], str], family: Callable[[], str]) -> None:
        self.default = default
        self.family = family
        self.req_metric = 0

    def new_ctx(self) -> None:
        return None

    async def request_filter(self, session: Session, ctx: None) -> bool:
        req = session.req_header
        if req.path.startswith("/login") and not check_login(req):
            await session.respond_error(403)
            return True  # the response is written: stop here
        return False

    async def upstream_peer(self, session: Session, ctx: None) -> HttpPeer:
        family = session.req_header.path.startswith("/family")
        address = self.family() if family else self.default()
        log.debug("connecting to %s", address)
        return HttpPeer(address)

    async def response_filter(
        self, session: Session, upstream_response: ResponseHeader, ctx: None
    ) -> None:
        upstream_response.insert_header("Server", "MyGateway")  # replaces any existing one
        upstream_response.remove_header("alt-svc")  # we do not serve HTTP/3

    async def logging(self, session: Session, error: Error | None, ctx: None) -> None:
        written = session.response_written
        code = 0 if written is None else written.status
        log.info("%s response code: %d", session.request_summary(), code)
        self.req_metric += 1

    def __repr__(self) -> str:
        return f"MyGateway(requests={self.req_metric})"


class NamedOrigin(ServeHttp):
    """An embedded origin that announces itself the way public servers do."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def response(self, session: HttpSession) -> tuple[ResponseHeader, bytes]:
        while await session.read_request_body() is not None:
            pass
        header = ResponseHeader(200)
        header.append_header("Content-Type", "text/plain")
        header.append_header("Server", "embedded-origin")
        header.append_header("alt-svc", 'h3=":443"; ma=86400')
        path = session.req_header.path
        return header, f"hello from the {self.name} origin, path {path}\n".encode()


class Announce(BackgroundService):
    """Prints where the gateway listens once it is bound."""

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
    """The address `service` got once bound (it is started before the gateway)."""
    return lambda: service.bound_addresses()[0]


def main() -> None:
    parser = Opt.parser("gateway")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=6191)
    parser.add_argument("--upstream", help="host:port of the default origin (default: embedded)")
    parser.add_argument("--family-upstream", help="host:port of the /family origin")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(name)s %(levelname)s %(message)s")
    log.setLevel(logging.INFO)

    server = Server(Opt.from_args(args))
    server.bootstrap()
    origins: list[ServiceHandle] = []
    addresses: list[Callable[[], str]] = []
    given_family = args.family_upstream or args.upstream
    for name, given in (("default", args.upstream), ("family", given_family)):
        if given:
            addresses.append(fixed_address(given))
            continue
        origin = Service(f"{name} origin", HttpServer(NamedOrigin(name)))
        origin.add_tcp("127.0.0.1:0")
        origins.append(server.add_service(origin))
        addresses.append(bound_address(origin))

    gateway = http_proxy_service(server.configuration, MyGateway(*addresses), name="gateway")
    gateway.add_tcp(f"{args.host}:{args.port}")
    handle = server.add_service(gateway)
    for origin_handle in origins:
        handle.add_dependency(origin_handle)
    server.add_service(background_service("announce", Announce(gateway))).add_dependency(handle)
    server.run_forever()


if __name__ == "__main__":
    main()
