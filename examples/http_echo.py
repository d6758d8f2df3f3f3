"""An HTTP echo server: a `ServeHttp` app answering every request with the request's body
("no body!" when there is none), served by `HttpServer`.

    python examples/http_echo.py --port 6191
    curl -d 'hello' http://127.0.0.1:6191/

`--port 0` picks a free port; the address is printed as "listening on 127.0.0.1:PORT".
SIGTERM stops gracefully (requests in flight finish), SIGINT stops at once.
"""

from __future__ import annotations

import logging

from pingora_core.apps.http_server import HttpServer, ServeHttp
from pingora_core.protocols.http.v1.server import HttpSession
from pingora_core.server import Opt, Server, ShutdownWatch
from pingora_core.services import BackgroundService, ReadyNotifier, Service, background_service
from pingora_http import ResponseHeader

#: Bodies larger than this are refused with 413.
MAX_BODY = 16 * 1024 * 1024


class HttpEchoApp(ServeHttp):
    """Returns the request body as the response body."""

    async def response(self, session: HttpSession) -> tuple[ResponseHeader, bytes]:
        body = bytearray()
        while (chunk := await session.read_request_body()) is not None:
            body += chunk
            if len(body) > MAX_BODY:
                return ResponseHeader(413), b"request body too large\n"
        header = ResponseHeader(200)
        header.append_header("Content-Type", "text/plain")
        return header, bytes(body) if body else b"no body!"


class Announce(BackgroundService):
    """Prints where the server listens once the service it depends on is bound."""

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


def main() -> None:
    parser = Opt.parser("http_echo")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=6191)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    server = Server(Opt.from_args(args))
    server.bootstrap()
    service = Service("http echo", HttpServer(HttpEchoApp()))
    service.add_tcp(f"{args.host}:{args.port}")
    handle = server.add_service(service)
    server.add_service(background_service("announce", Announce(service))).add_dependency(handle)
    server.run_forever()


if __name__ == "__main__":
    main()
