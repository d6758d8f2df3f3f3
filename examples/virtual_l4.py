"""Virtual L4: a peer whose connections come from a custom `L4Connector` instead of a socket.

The gateway listens on TCP and forwards every request through the `Connector` to a peer at
203.0.113.1:18080 (a documentation address nobody answers on). The peer's options carry
`custom_l4=VirtualConnector()`, so no packet leaves the process: each "connection" is an
in-memory stream pair whose far end is served by an in-process origin — our own `HttpServer` —
which answers requests for Host `virtual.test` and says 404 to any other host.

    python examples/virtual_l4.py --port 6196
    curl -H 'Host: virtual.test' http://127.0.0.1:6196/hi

`--port 0` picks a free port; the address is printed as "listening on 127.0.0.1:PORT".
"""

from __future__ import annotations

import asyncio
import logging

from pingora_core.apps.http_server import HttpServer, ServeHttp
from pingora_core.connectors import Connector
from pingora_core.errors import Error
from pingora_core.protocols.http.v1.server import HttpSession
from pingora_core.protocols.l4 import L4Connector, Stream
from pingora_core.server import Opt, Server, ShutdownTrigger, ShutdownWatch
from pingora_core.services import BackgroundService, ReadyNotifier, Service, background_service
from pingora_core.testing import memory_stream_pair
from pingora_core.upstreams import HttpPeer, PeerOptions
from pingora_http import RequestHeader, ResponseHeader

log = logging.getLogger("virtual_l4")

VIRTUAL_HOST = "virtual.test"
VIRTUAL_ADDRESS = "203.0.113.1:18080"
HOP_BY_HOP = ("Connection", "Keep-Alive", "Transfer-Encoding", "Content-Length")


class VirtualOrigin(ServeHttp):
    """The origin behind the virtual socket."""

    async def response(self, session: HttpSession) -> tuple[ResponseHeader, bytes]:
        request = session.req_header
        if request.host() != VIRTUAL_HOST:
            return ResponseHeader(404), f"unknown host {request.host()!r}\n".encode()
        header = ResponseHeader(200)
        header.append_header("Content-Type", "text/plain")
        return header, f"Hello from the virtual origin! You asked for {request.uri}\n".encode()


class VirtualConnector(L4Connector):
    """Supplies in-memory streams served by `VirtualOrigin` instead of TCP connections."""

    def __init__(self) -> None:
        self.origin = HttpServer(VirtualOrigin())
        self.trigger = ShutdownTrigger()
        self.tasks: set[asyncio.Task[Stream | None]] = set()

    async def connect(self, peer_address: str) -> Stream:
        ours, theirs = memory_stream_pair(names=("virtual:client", f"virtual:{peer_address}"))
        task = asyncio.create_task(self.origin.process_new(theirs, self.trigger.watch))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return ours

    async def close(self) -> None:
        self.trigger.trigger()
        for task in list(self.tasks):
            task.cancel()
        await self.origin.cleanup()


class Gateway(ServeHttp):
    """Forwards each request to the virtual peer and returns its answer."""

    def __init__(self, connector: Connector, l4: VirtualConnector) -> None:
        self.connector = connector
        self.peer = HttpPeer(VIRTUAL_ADDRESS, options=PeerOptions(custom_l4=l4, read_timeout=5.0))

    async def response(self, session: HttpSession) -> tuple[ResponseHeader, bytes]:
        incoming = session.req_header
        while await session.read_request_body() is not None:
            pass  # this gateway forwards GET-style requests only
        request = RequestHeader.build(incoming.method, incoming.uri)
        request.append_header("Host", incoming.host() or VIRTUAL_HOST)
        try:
            upstream, _ = await self.connector.get_http_session(self.peer)
            await upstream.write_request_header(request)
            await upstream.finish_body()
            header = await upstream.read_response_header(skip_informational=True)
            while header.status == 103:
                header = await upstream.read_response_header(skip_informational=True)
            body = bytearray()
            while (chunk := await upstream.read_response_body()) is not None:
                body += chunk
            await self.connector.release_http_session(upstream, self.peer)
        except Error as exc:
            log.warning("virtual peer failed: %s", exc)
            return ResponseHeader(502), b"bad gateway\n"
        for name in HOP_BY_HOP:
            header.remove_header(name)
        return header, bytes(body)


class Announce(BackgroundService):
    """Prints where the gateway listens once it is bound; closes the virtual side at shutdown."""

    def __init__(self, service: Service, l4: VirtualConnector) -> None:
        self.service = service
        self.l4 = l4

    async def start(self, shutdown: ShutdownWatch) -> None:
        for address in self.service.bound_addresses():
            print(f"listening on {address}", flush=True)
        await shutdown.wait()
        await self.l4.close()

    async def start_with_ready_notifier(
        self, shutdown: ShutdownWatch, ready: ReadyNotifier
    ) -> None:
        ready.notify_ready()
        await self.start(shutdown)


def main() -> None:
    parser = Opt.parser("virtual_l4")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=6196)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    server = Server(Opt.from_args(args))
    server.bootstrap()
    l4 = VirtualConnector()
    connector = Connector(pool_size=server.configuration.upstream_keepalive_pool_size)
    service = Service("virtual l4 gateway", HttpServer(Gateway(connector, l4)))
    service.add_tcp(f"{args.host}:{args.port}")
    handle = server.add_service(service)
    server.add_service(background_service("announce", Announce(service, l4))).add_dependency(handle)
    server.run_forever()


if __name__ == "__main__":
    main()
