"""A TCP echo server: a raw L4 ServerApp in a listening service, stopped by signals.

    python examples/tcp_echo.py --port 0          # prints "listening on 127.0.0.1:PORT"
    python examples/tcp_echo.py -t -c conf.yaml   # check a configuration file and exit

SIGTERM stops gracefully (echoes under way finish, idle connections are closed), SIGINT stops
at once.
"""

from __future__ import annotations

import asyncio

from pingora_core.apps import ServerApp
from pingora_core.protocols.l4.stream import Stream
from pingora_core.server import Opt, Server, ShutdownWatch
from pingora_core.services import BackgroundService, Service, background_service


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


class Announce(BackgroundService):
    """Prints where the echo service listens once it is bound (it depends on that service)."""

    def __init__(self, service: Service) -> None:
        self.service = service

    async def start(self, shutdown: ShutdownWatch) -> None:
        for addr in self.service.bound_addresses():
            print(f"listening on {addr}", flush=True)
        await shutdown.wait()


def main() -> None:
    parser = Opt.parser()
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=6142, help="TCP port (0 picks a free one)")
    args = parser.parse_args()

    server = Server(Opt.from_args(args))
    server.bootstrap()

    echo = Service("echo", EchoApp())
    host = f"[{args.host}]" if ":" in args.host else args.host
    echo.add_tcp(f"{host}:{args.port}")
    echo_handle = server.add_service(echo)
    announce = server.add_service(background_service("announce", Announce(echo)))
    announce.add_dependency(echo_handle)

    server.run_forever()


if __name__ == "__main__":
    main()
