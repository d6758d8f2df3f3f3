"""Helpers for the load balancing examples, so they run offline: origins served on 127.0.0.1 by
our own `HttpServer`, an address where nothing listens, the discovery that finds the origins'
addresses once they are bound, and the background service that prints where the proxy listens.

It is not a library: the examples import it as `_embedded_origins` (they run as
`python examples/NAME.py`, so this folder is on the import path).
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Mapping, Sequence

from pingora_core.apps.http_server import HttpServer, ServeHttp
from pingora_core.protocols.http.v1.server import HttpSession
from pingora_core.server import Server, ShutdownWatch
from pingora_core.services import BackgroundService, ReadyNotifier, Service, ServiceHandle
from pingora_http import ResponseHeader
from pingora_load_balancing import Backend, Discovered, LoadBalancer, ServiceDiscovery

__all__ = ["Announce", "NamedOrigin", "OriginAddresses", "add_origins", "dead_address"]


class NamedOrigin(ServeHttp):
    """Answers every request with "hello from NAME" (and the name in `X-Origin`)."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def response(self, session: HttpSession) -> tuple[ResponseHeader, bytes]:
        while await session.read_request_body() is not None:
            pass
        header = ResponseHeader(200)
        header.append_header("Content-Type", "text/plain")
        header.append_header("X-Origin", self.name)
        return header, f"hello from {self.name}\n".encode()

    def __repr__(self) -> str:
        return f"NamedOrigin(name={self.name!r})"


def add_origins(server: Server, names: Sequence[str]) -> list[ServiceHandle]:
    """Add one `NamedOrigin` per name to `server`, each on 127.0.0.1 (a free port)."""
    handles = []
    for name in names:
        origin = Service(name, HttpServer(NamedOrigin(name)))
        origin.add_tcp("127.0.0.1:0")
        handles.append(server.add_service(origin))
    return handles


def dead_address() -> str:
    """A loopback address where nothing listens: a port bound, then closed."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"127.0.0.1:{port}"


class OriginAddresses(ServiceDiscovery):
    """Discovers the addresses the `origins` services were bound to, plus `extra` addresses.

    Make the load balancer's service depend on the origins so that they are bound before its
    first discovery round.
    """

    def __init__(self, origins: Iterable[ServiceHandle], extra: Iterable[str] = ()) -> None:
        self.origins = list(origins)
        self.extra = [Backend(address) for address in extra]

    async def discover(self) -> Discovered:
        found = list(self.extra)
        for handle in self.origins:
            service = handle.service
            assert isinstance(service, Service)
            found.extend(Backend(address) for address in service.bound_addresses())
        return found, {}

    def __repr__(self) -> str:
        return f"OriginAddresses(origins={len(self.origins)}, extra={self.extra!r})"


class Announce(BackgroundService):
    """Prints, once the proxy is bound: `listening on http://ADDR`, one `upstreams` line per
    load balancer (each backend with its health) and ready-to-paste curl lines."""

    def __init__(
        self, proxy: Service, clusters: Mapping[str, LoadBalancer], paths: Sequence[str] = ("/",)
    ) -> None:
        self.proxy = proxy
        self.clusters = clusters
        self.paths = paths

    async def start(self, shutdown: ShutdownWatch) -> None:
        address = self.proxy.bound_addresses()[0]
        lines = [f"listening on http://{address}"]
        for label, lb in self.clusters.items():
            backends = lb.backends
            states = [f"{b.addr} ({'up' if backends.ready(b) else 'down'})"
                      for b in backends.get_backend()]
            lines.append(f"{label}: {', '.join(states)}")
        here = address.replace("0.0.0.0:", "127.0.0.1:", 1)
        lines.extend(f"try: curl -i http://{here}{path}" for path in self.paths)
        print("\n".join(lines), flush=True)

    async def start_with_ready_notifier(
        self, shutdown: ShutdownWatch, ready: ReadyNotifier
    ) -> None:
        await self.start(shutdown)
        ready.notify_ready()

    def __repr__(self) -> str:
        return f"Announce(proxy={self.proxy.name!r}, clusters={list(self.clusters)})"
