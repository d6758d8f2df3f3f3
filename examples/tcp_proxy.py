"""A raw TCP proxy: a `ServerApp` that opens a connection upstream for every client connection
and pipes bytes both ways until both sides are done (half closes are passed on).

    python examples/tcp_proxy.py --port 6190 --upstream 127.0.0.1:8080

`--port 0` picks a free port; the address is printed as "listening on 127.0.0.1:PORT".
SIGTERM stops gracefully (open connections finish), SIGINT stops at once.
"""

from __future__ import annotations

import asyncio
import logging

from _embedded_origins import example_parser, run_service, setup_logging, start_server

from pingora_core.apps import ServerApp
from pingora_core.errors import Error
from pingora_core.protocols.l4 import Stream, connect_tcp
from pingora_core.server import ShutdownWatch
from pingora_core.services import Service

log = logging.getLogger("tcp_proxy")


async def pipe(src: Stream, dst: Stream) -> None:
    """Copy src to dst until src's EOF, then half-close dst; on an error reset both."""
    try:
        while data := await src.read(65536):
            dst.write(data)
            await dst.drain()
        await dst.shutdown()
    except Error as exc:
        log.debug("pipe ended: %s", exc)
        src.abort()
        dst.abort()


class ProxyApp(ServerApp):
    """Connects each downstream connection to `upstream` and relays bytes both ways."""

    def __init__(self, upstream: str, connect_timeout: float = 5.0) -> None:
        self.upstream = upstream
        self.connect_timeout = connect_timeout

    async def process_new(self, stream: Stream, shutdown: ShutdownWatch) -> Stream | None:
        try:
            upstream = await connect_tcp(self.upstream, timeout=self.connect_timeout)
        except Error as exc:
            log.warning("cannot reach upstream: %s", exc)
            return None
        try:
            await asyncio.gather(pipe(stream, upstream), pipe(upstream, stream))
        finally:
            await upstream.close()
        return None  # a raw pipe is never reused

    def __repr__(self) -> str:
        return f"ProxyApp(upstream={self.upstream!r})"


def main() -> None:
    parser = example_parser("tcp_proxy", 6190)
    parser.add_argument("--upstream", required=True, help="host:port to relay to")
    args = parser.parse_args()
    setup_logging()
    server = start_server(args)
    run_service(server, Service("tcp proxy", ProxyApp(args.upstream)), args)

if __name__ == "__main__":
    main()
