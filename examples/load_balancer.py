"""The quick start: a load balancer over a few upstreams, round robin, with a TCP health check
every second so that a server that is down is not chosen.

    python examples/load_balancer.py [--listen 127.0.0.1:6188] [UPSTREAM ...]
    curl -i http://127.0.0.1:6188/

Without upstreams it starts two origins on 127.0.0.1 in the same process ("hello from origin
1" and "hello from origin 2") and adds an address where nothing listens, which the first health
check marks down. Each upstream is "ip:port" (plain HTTP); the Host header sent upstream is the
upstream's address, or `--upstream-host NAME`. The load balancer runs as a background service
and the proxy depends on it, so the first health check is done before the first request. When
an upstream dies between two checks, the connect error is retried and `upstream_peer` picks the
next one. It prints where it listens, then the upstreams with their health. SIGTERM stops it
gracefully, SIGINT at once; the upstream of every request is logged to stderr.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from _embedded_origins import Announce, OriginAddresses, add_origins, dead_address

from pingora_core.errors import Error, ErrorType
from pingora_core.server import Opt, Server
from pingora_core.services import background_service
from pingora_core.upstreams import HttpPeer
from pingora_http import RequestHeader
from pingora_load_balancing import (
    Backend,
    Backends,
    LoadBalancer,
    RoundRobin,
    ServiceDiscovery,
    Static,
    TcpHealthCheck,
)
from pingora_proxy import ProxyHttp, Session, http_proxy_service

log = logging.getLogger("load_balancer")


@dataclass(slots=True)
class Ctx:
    backend: Backend | None = None  # the upstream chosen for this request


class LB(ProxyHttp[Ctx]):
    """Sends each request to the next healthy upstream."""

    def __init__(self, upstreams: LoadBalancer, upstream_host: str | None = None) -> None:
        self.upstreams = upstreams
        self.upstream_host = upstream_host

    def new_ctx(self) -> Ctx:
        return Ctx()

    async def upstream_peer(self, session: Session, ctx: Ctx) -> HttpPeer:
        backend = self.upstreams.select(b"", 256)  # the key does not matter for round robin
        if backend is None:
            raise Error.explain(ErrorType.HTTPStatus(503), "no healthy upstream")
        log.info("upstream peer is: %s", backend)
        ctx.backend = backend
        return HttpPeer(backend.addr)

    async def upstream_request_filter(
        self, session: Session, upstream_request: RequestHeader, ctx: Ctx
    ) -> None:
        assert ctx.backend is not None
        upstream_request.insert_header("Host", self.upstream_host or ctx.backend.addr)

    def __repr__(self) -> str:
        return f"LB(upstreams={self.upstreams!r})"


def main() -> None:
    parser = Opt.parser("load_balancer")
    parser.add_argument("--listen", default="127.0.0.1:6188", help="address to listen on")
    parser.add_argument("--upstream-host", help="the Host header sent upstream")
    parser.add_argument("upstreams", nargs="*", help="ip:port of an upstream (default: local)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(name)s %(levelname)s %(message)s")
    log.setLevel(logging.INFO)

    server = Server(Opt.from_args(args))
    server.bootstrap()
    # Fixed addresses could go straight to `LoadBalancer.try_from_iter([...])`; the local
    # origins get their ports only once bound, so the load balancer discovers them at start.
    discovery: ServiceDiscovery
    if args.upstreams:
        origins = []
        try:
            discovery = Static.from_addresses(args.upstreams)
        except ValueError as exc:
            parser.error(str(exc))
    else:
        origins = add_origins(server, ["origin 1", "origin 2"])
        discovery = OriginAddresses(origins, extra=[dead_address()])

    upstreams = LoadBalancer.from_backends(Backends(discovery), selection=RoundRobin)
    # the health check runs in the background so that a bad server is never selected
    upstreams.set_health_check(TcpHealthCheck())
    upstreams.health_check_frequency = 1.0
    health = server.add_service(background_service("health check", upstreams))
    health.add_dependencies(origins)

    proxy = http_proxy_service(server.configuration, LB(upstreams, args.upstream_host))
    proxy.add_tcp(args.listen)
    proxy_handle = server.add_service(proxy)
    proxy_handle.add_dependency(health)  # serve only after the first health check
    announce = Announce(proxy, {"upstreams": upstreams})
    server.add_service(background_service("announce", announce)).add_dependency(proxy_handle)
    server.run_forever()


if __name__ == "__main__":
    main()
