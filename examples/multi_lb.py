"""Two clusters behind one proxy, chosen by path: /api and everything under /api/ go to the
"api" cluster, every other path to the "web" cluster. Each cluster is its own load balancer
(round robin, TCP health check every second) running as a background service.

    python examples/multi_lb.py [--listen 127.0.0.1:6188] [--api ADDR ...] [--web ADDR ...]
    curl -i http://127.0.0.1:6188/api/users
    curl -i http://127.0.0.1:6188/

Without `--api` (or `--web`) that cluster gets two origins on 127.0.0.1 in the same process
("hello from api 1", "hello from api 2"; "web 1", "web 2") and one address where nothing
listens, which its first health check marks down. It prints where it listens, then each
cluster with its health. SIGTERM stops it gracefully, SIGINT at once.
"""

from __future__ import annotations

import logging

from _embedded_origins import Announce, OriginAddresses, add_origins, dead_address

from pingora_core.errors import Error, ErrorType
from pingora_core.server import Opt, Server
from pingora_core.services import ServiceHandle, background_service
from pingora_core.upstreams import HttpPeer
from pingora_load_balancing import (
    Backends,
    LoadBalancer,
    ServiceDiscovery,
    Static,
    TcpHealthCheck,
)
from pingora_proxy import ProxyHttp, Session, http_proxy_service

log = logging.getLogger("multi_lb")


class Router(ProxyHttp[None]):
    """Picks the cluster by path, then a healthy upstream in it."""

    def __init__(self, api: LoadBalancer, web: LoadBalancer) -> None:
        self.api = api
        self.web = web

    def new_ctx(self) -> None:
        return None

    async def upstream_peer(self, session: Session, ctx: None) -> HttpPeer:
        path = session.req_header.path
        is_api = path == "/api" or path.startswith("/api/")
        cluster = self.api if is_api else self.web
        backend = cluster.select(b"", 256)  # the key does not matter for round robin
        if backend is None:
            raise Error.explain(ErrorType.HTTPStatus(503), "no healthy upstream")
        log.info("%s: upstream peer is: %s", "api" if is_api else "web", backend)
        return HttpPeer(backend.addr)

    def __repr__(self) -> str:
        return f"Router(api={self.api!r}, web={self.web!r})"


def build_cluster(
    server: Server, name: str, given: list[str] | None
) -> tuple[LoadBalancer, ServiceHandle]:
    """A health-checked round robin over `given`, or over local origins and a dead address;
    a bad address raises ValueError."""
    discovery: ServiceDiscovery
    origins = []
    if given:
        discovery = Static.from_addresses(given)
    else:
        origins = add_origins(server, [f"{name} 1", f"{name} 2"])
        discovery = OriginAddresses(origins, extra=[dead_address()])
    cluster = LoadBalancer.from_backends(Backends(discovery))
    cluster.set_health_check(TcpHealthCheck())
    cluster.health_check_frequency = 1.0
    handle = server.add_service(background_service(f"{name} health check", cluster))
    handle.add_dependencies(origins)
    return cluster, handle


def main() -> None:
    parser = Opt.parser("multi_lb")
    parser.add_argument("--listen", default="127.0.0.1:6188", help="address to listen on")
    parser.add_argument("--api", action="append", help="ip:port of an api upstream (repeat)")
    parser.add_argument("--web", action="append", help="ip:port of a web upstream (repeat)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(name)s %(levelname)s %(message)s")
    log.setLevel(logging.INFO)

    server = Server(Opt.from_args(args))
    server.bootstrap()
    try:
        api, api_health = build_cluster(server, "api", args.api)
        web, web_health = build_cluster(server, "web", args.web)
    except ValueError as exc:
        parser.error(str(exc))

    proxy = http_proxy_service(server.configuration, Router(api, web))
    proxy.add_tcp(args.listen)
    proxy_handle = server.add_service(proxy)
    proxy_handle.add_dependencies([api_health, web_health])
    announce = Announce(proxy, {"api upstreams": api, "web upstreams": web}, ["/api/", "/"])
    server.add_service(background_service("announce", announce)).add_dependency(proxy_handle)
    server.run_forever()


if __name__ == "__main__":
    main()
