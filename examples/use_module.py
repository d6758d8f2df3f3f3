"""Writing and using an HTTP module: a tiny access-control list.

A module is a per-request object whose hooks run at fixed points of every request, whatever
the proxy on top does; a builder makes one per request. `MyAcl` checks that the request says
`Authorization: basic <credential>`; when it does not, its `request_header_filter` raises an
`Error` of type `HTTPStatus(403)`, which the proxy answers with a 403 before `request_filter`
and before any upstream is contacted. The proxy adds the builder once, in
`init_downstream_modules`, keeping the default modules (response compression, off).

    python examples/use_module.py --port 6194 [--upstream ADDR] [--credential testcode]
    curl -i http://127.0.0.1:6194/                                       # 403
    curl -i -H 'Authorization: basic testcode' http://127.0.0.1:6194/    # 200
    curl -i -H 'Authorization: basic wrong' http://127.0.0.1:6194/       # 403

Without `--upstream` a small origin runs on 127.0.0.1 in the same process. `--port 0` picks a
free port; the address is printed as "listening on 127.0.0.1:PORT".
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from pingora_core.apps.http_server import HttpServer, ServeHttp
from pingora_core.errors import Error, ErrorType
from pingora_core.modules import HttpModule, HttpModuleBuilder, HttpModules
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

log = logging.getLogger("use_module")


class MyAclCtx(HttpModule):
    """One request's ACL check."""

    __slots__ = ("credential_header",)

    def __init__(self, credential_header: bytes) -> None:
        self.credential_header = credential_header

    async def request_header_filter(self, req: RequestHeader) -> None:
        auth = req.get("Authorization")
        if auth is None:
            raise Error.explain(ErrorType.HTTPStatus(403), "Auth failed, no auth header")
        if auth != self.credential_header:
            raise Error.explain(ErrorType.HTTPStatus(403), "Auth failed, credential mismatch")


class MyAcl(HttpModuleBuilder):
    """Attached to the service once; makes a `MyAclCtx` per request."""

    __slots__ = ("credential_header",)

    def __init__(self, credential: str) -> None:
        if not credential:
            raise ValueError("the credential must not be empty")
        # compare against the whole header value, computed once
        self.credential_header = f"basic {credential}".encode()

    def init(self) -> HttpModule:
        return MyAclCtx(self.credential_header)


class MyProxy(ProxyHttp[None]):
    """Forwards everything the ACL lets through to one upstream."""

    def __init__(self, upstream: Callable[[], str], credential: str) -> None:
        self.upstream = upstream
        self.credential = credential

    def new_ctx(self) -> None:
        return None

    def init_downstream_modules(self, modules: HttpModules) -> None:
        super().init_downstream_modules(modules)  # keep the default ones
        modules.add_module(MyAcl(self.credential))

    async def upstream_peer(self, session: Session, ctx: None) -> HttpPeer:
        return HttpPeer(self.upstream())


class HelloOrigin(ServeHttp):
    """The embedded origin."""

    async def response(self, session: HttpSession) -> tuple[ResponseHeader, bytes]:
        while await session.read_request_body() is not None:
            pass
        header = ResponseHeader(200)
        header.append_header("Content-Type", "text/plain")
        return header, b"hello from behind the ACL\n"


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
    parser = Opt.parser("use_module")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=6194)
    parser.add_argument("--upstream", help="host:port of the origin (default: embedded)")
    parser.add_argument("--credential", default="testcode", help="what `basic ...` must say")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

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

    app = MyProxy(upstream, args.credential)
    proxy = http_proxy_service(server.configuration, app, name="acl proxy")
    proxy.add_tcp(f"{args.host}:{args.port}")
    handle = server.add_service(proxy)
    if origin_handle is not None:
        handle.add_dependency(origin_handle)
    server.add_service(background_service("announce", Announce(proxy))).add_dependency(handle)
    server.run_forever()


if __name__ == "__main__":
    main()
