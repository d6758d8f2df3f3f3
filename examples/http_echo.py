"""An HTTP echo server: a `ServeHttp` app answering every request with the request's body
("no body!" when there is none), served by `HttpServer`.

    python examples/http_echo.py --port 6191
    curl -d 'hello' http://127.0.0.1:6191/

`--port 0` picks a free port; the address is printed as "listening on 127.0.0.1:PORT".
SIGTERM stops gracefully (requests in flight finish), SIGINT stops at once.
"""

from __future__ import annotations

from _embedded_origins import example_parser, run_service, setup_logging, start_server

from pingora_core.apps.http_server import HttpServer, ServeHttp
from pingora_core.protocols.http.v1.server import HttpSession
from pingora_core.services import Service
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


def main() -> None:
    args = example_parser("http_echo", 6191).parse_args()
    setup_logging()
    server = start_server(args)
    run_service(server, Service("http echo", HttpServer(HttpEchoApp())), args)

if __name__ == "__main__":
    main()
