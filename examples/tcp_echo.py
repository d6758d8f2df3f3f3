"""A TCP echo server: a raw L4 ServerApp in a listening service, stopped by signals.

    python examples/tcp_echo.py --port 0          # prints "listening on 127.0.0.1:PORT"
    python examples/tcp_echo.py -t -c conf.yaml   # check a configuration file and exit

SIGTERM stops gracefully (echoes under way finish, idle connections are closed), SIGINT stops
at once.
"""

from __future__ import annotations

import asyncio

from _embedded_origins import example_parser, run_service, start_server

from pingora_core.apps import ServerApp
from pingora_core.protocols.l4.stream import Stream
from pingora_core.server import ShutdownWatch
from pingora_core.services import Service


class EchoApp(ServerApp):
    """Writes back every chunk it reads; an idle connection is closed once shutdown starts."""

    async def process_new(self, stream: Stream, shutdown: ShutdownWatch) -> Stream | None:
        while True:
            data = await read_unless_shutting_down(stream, shutdown)
            if not data:
                return None  # EOF, or idle at shutdown: the service closes the stream
            stream.write(data)
            await stream.drain()


async def read_unless_shutting_down(stream: Stream, shutdown: ShutdownWatch) -> bytes:
    """The next chunk, or b"" when the peer closed or graceful shutdown started first."""
    if shutdown.is_shutting_down:
        return b""
    read = asyncio.ensure_future(stream.read())
    stop = asyncio.ensure_future(shutdown.wait())
    try:
        await asyncio.wait({read, stop}, return_when=asyncio.FIRST_COMPLETED)
    except BaseException:  # cancelled: a fast shutdown
        read.cancel()
        raise
    finally:
        stop.cancel()
    if read.done():
        return read.result()
    read.cancel()
    return b""


def main() -> None:
    args = example_parser("tcp_echo", 6142).parse_args()
    server = start_server(args)
    run_service(server, Service("echo", EchoApp()), args)

if __name__ == "__main__":
    main()
