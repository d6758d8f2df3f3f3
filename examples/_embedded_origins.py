"""What the examples share, so each one shows only its own idea: origins served on 127.0.0.1 by
our own `HttpServer` (so the examples run offline), the command line every server example takes
(`--host`, `--port`, `--upstream`), the background service that prints `listening on ADDR` once
the service is bound, and `run_proxy_example` / `run_service`, which listen, announce and run.
For the load balancing examples: an address where nothing listens, the discovery that finds the
origins' addresses once they are bound, and `Announce` (address, upstreams and curl lines).

It is not a library: the examples import it as `_embedded_origins` (they run as
`python examples/NAME.py`, so this folder is on the import path).
"""

from __future__ import annotations

import argparse
import logging
import socket
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

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
from pingora_http import ResponseHeader
from pingora_load_balancing import Backend, Discovered, LoadBalancer, ServiceDiscovery
from pingora_proxy import ProxyHttp, http_proxy_service

__all__ = [
    "Announce",
    "NamedOrigin",
    "OriginAddresses",
    "Origins",
    "PrintAddress",
    "TextOrigin",
    "add_origins",
    "announce",
    "dead_address",
    "example_parser",
    "fixed_address",
    "run_proxy_example",
    "run_service",
    "setup_logging",
    "start_server",
]

#: An upstream address, asked for when a request needs it (an embedded origin is bound later).
Address = Callable[[], str]


# -- command line, logging, server ----------------------------------------------------------------


def example_parser(name: str, port: int, upstream: str | None = None) -> argparse.ArgumentParser:
    """The server's own options (`-c`, `-t`, ...) plus `--host`, `--port` (0 picks a free one)
    and, when `upstream` (its help text) is given, an optional `--upstream host:port`."""
    parser = Opt.parser(name)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=port, help="TCP port (0 picks a free one)")
    if upstream is not None:
        parser.add_argument("--upstream", help=upstream)
    return parser


def setup_logging(verbose: logging.Logger | None = None) -> None:
    """Warnings to stderr as `NAME LEVEL message`; `verbose` also logs its INFO lines."""
    logging.basicConfig(level=logging.WARNING, format="%(name)s %(levelname)s %(message)s")
    if verbose is not None:
        verbose.setLevel(logging.INFO)


def start_server(args: argparse.Namespace) -> Server:
    """A bootstrapped `Server` configured from the parsed command line."""
    server = Server(Opt.from_args(args))
    server.bootstrap()
    return server


def listen_address(host: str, port: int) -> str:
    """`host:port`, with an IPv6 host in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


# -- printing where we listen, running ------------------------------------------------------------


class PrintAddress(BackgroundService):
    """Prints `listening on ADDR` for each address of `service` (it depends on that service,
    so it runs once the service is bound)."""

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

    def __repr__(self) -> str:
        return f"PrintAddress(service={self.service.name!r})"


def announce(server: Server, service: Service, handle: ServiceHandle) -> None:
    """Add a `PrintAddress` for `service` (whose handle is `handle`) to `server`."""
    printer = server.add_service(background_service("announce", PrintAddress(service)))
    printer.add_dependency(handle)


def run_service(
    server: Server,
    service: Service,
    args: argparse.Namespace,
    depends_on: Iterable[ServiceHandle] = (),
) -> None:
    """Listen on `--host`/`--port`, start after `depends_on`, announce the address, run until a
    signal stops the server."""
    service.add_tcp(listen_address(args.host, args.port))
    handle = server.add_service(service)
    for dependency in depends_on:
        handle.add_dependency(dependency)
    announce(server, service, handle)
    server.run_forever()


def run_proxy_example(
    server: Server,
    app: ProxyHttp[Any],
    args: argparse.Namespace,
    *,
    name: str,
    origins: Origins | None = None,
    connection_filter: ConnectionFilter | None = None,
) -> None:
    """Serve `app` as an HTTP proxy service called `name` (started after the embedded
    `origins`), print where it listens and run until a signal stops the server."""
    proxy = http_proxy_service(server.configuration, app, name=name)
    if connection_filter is not None:
        proxy.set_connection_filter(connection_filter)
    run_service(server, proxy, args, () if origins is None else origins.handles)


# -- origins ---------------------------------------------------------------------------------------


def fixed_address(address: str) -> Address:
    return lambda: address


def bound_address(service: Service) -> Address:
    """The address `service` got once bound (it is started before the proxy)."""
    return lambda: service.bound_addresses()[0]


class Origins:
    """The origins an example embeds: each call returns the given upstream's address, or starts
    an embedded origin on 127.0.0.1 (a free port) and returns the address it gets once bound.
    Pass this to `run_proxy_example` so the proxy starts after them."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.handles: list[ServiceHandle] = []

    def http(self, given: str | None, name: str, app: ServeHttp) -> Address:
        """`given`, or an `HttpServer(app)` service called `name`."""
        if given:
            return fixed_address(given)
        origin = Service(name, HttpServer(app))
        origin.add_tcp("127.0.0.1:0")
        self.handles.append(self.server.add_service(origin))
        return bound_address(origin)

    def background(
        self, given: str | None, name: str, task: BackgroundService, address: Address
    ) -> Address:
        """`given`, or the background service `task` (ready once it listens at `address()`)."""
        if given:
            return fixed_address(given)
        self.handles.append(self.server.add_service(background_service(name, task)))
        return address

    def __repr__(self) -> str:
        return f"Origins(embedded={len(self.handles)})"


class TextOrigin(ServeHttp):
    """Answers every request with 200 and `text` (`{path}` in it becomes the request's path),
    with `headers` added after `Content-Type: text/plain`."""

    def __init__(self, text: str, headers: Sequence[tuple[str, str]] = ()) -> None:
        self.text = text
        self.headers = tuple(headers)

    async def response(self, session: HttpSession) -> tuple[ResponseHeader, bytes]:
        while await session.read_request_body() is not None:
            pass
        header = ResponseHeader(200)
        header.append_header("Content-Type", "text/plain")
        for name, value in self.headers:
            header.append_header(name, value)
        return header, self.text.replace("{path}", session.req_header.path).encode()

    def __repr__(self) -> str:
        return f"TextOrigin(text={self.text!r}, headers={self.headers!r})"


# -- load balancing --------------------------------------------------------------------------------


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
