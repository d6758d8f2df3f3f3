"""Requests/s of an `HttpServer` hello-world beside nginx's `return 200 "hello"`, in one run.

Each target runs alone on a free 127.0.0.1 port and is loaded with the same wrk settings
(`wrk -t1 -c50 -d10s` by default): nginx (one process, started by tools/bench/_nginx.py), then
our server (one process, event loop "auto": uvloop when installed) once per HTTP/1 codec
backend, forced with PINGORA_H1_BACKEND. A last row, "L4 ceiling", answers each read
with a canned response straight from our TcpListener/TransportStream (no HTTP parsing): the
most any HTTP layer on top could reach. The row before it, "floor", is the least per-request
work any HTTP layer with an app API does (see `serve_floor`), on a bare asyncio Protocol: what a
session design could reach at best. Prints requests/s and the ratio to nginx.
Target: the httptools backend >= 0.5x nginx.

    python tools/bench/bench_http_server.py [--duration 10] [--connections 50]
        [--backends h11,httptools] [--no-ceiling] [--profile OUT.pstats]

`--no-ceiling` skips the floor and ceiling rows.

`--serve PORT` is the server mode the benchmark starts in a subprocess (prints "listening on
ADDR"); with `--profile`, the httptools run is profiled with cProfile into OUT.pstats.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Final, cast

if TYPE_CHECKING:  # how mypy (run from the repo root) names the scripts next to this one
    from tools.bench._bare import floor_request, nodelay, run_until_sigint, write_batched
    from tools.bench._nginx import Nginx, free_port, stop_process, wait_listening
    from tools.bench.bench_proxy import ORIGIN_HTTP, WRK, WrkResult, run_wrk
else:
    from _bare import floor_request, nodelay, run_until_sigint, write_batched
    from _nginx import Nginx, free_port, stop_process, wait_listening
    from bench_proxy import ORIGIN_HTTP, WRK, WrkResult, run_wrk

BODY: Final = b"hello"


# -- the server under test (runs in a subprocess) -------------------------------------------------


def serve(port: int, profile: str | None) -> None:
    from pingora_core.apps.http_server import HttpServer, ServeHttp
    from pingora_core.protocols.http.v1.server import HttpSession
    from pingora_core.server import Server, ServerConf, ShutdownWatch
    from pingora_core.services import BackgroundService, ReadyNotifier, Service, background_service
    from pingora_http import ResponseHeader

    class Hello(ServeHttp):
        async def response(self, session: HttpSession) -> tuple[ResponseHeader, bytes]:
            header = ResponseHeader(200)
            header.append_header("Content-Type", "text/plain")
            header.append_header("Content-Length", "5")
            return header, BODY

    class Announce(BackgroundService):
        def __init__(self, service: Service) -> None:
            self.service = service

        async def start(self, shutdown: ShutdownWatch) -> None:
            print(f"listening on {self.service.bound_addresses()[0]}", flush=True)

        async def start_with_ready_notifier(
            self, shutdown: ShutdownWatch, ready: ReadyNotifier
        ) -> None:
            await self.start(shutdown)
            ready.notify_ready()

    server = Server(conf=ServerConf(grace_period_seconds=1, graceful_shutdown_timeout_seconds=1))
    service = Service("hello", HttpServer(Hello()))
    service.add_tcp(f"127.0.0.1:{port}")
    handle = server.add_service(service)
    server.add_service(background_service("announce", Announce(service))).add_dependency(handle)
    if profile is None:
        server.run_forever()
        return
    import cProfile

    profiler = cProfile.Profile()
    profiler.enable()
    try:
        server.run_forever()
    finally:
        profiler.disable()
        profiler.dump_stats(profile)


def serve_l4(port: int) -> None:
    import asyncio

    from pingora_core.listeners import TcpListener
    from pingora_core.protocols.l4 import Stream

    canned = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n" + BODY

    async def handle(stream: Stream) -> None:
        while data := await stream.read():
            stream.write(canned * data.count(b"\r\n\r\n"))
            await stream.drain()

    async def start() -> Callable[[], object]:
        listener = TcpListener(f"127.0.0.1:{port}")
        await listener.bind()
        serving = asyncio.ensure_future(listener.serve(handle))
        return serving.cancel

    run_until_sigint(start)


def serve_floor(port: int) -> None:
    """The least an HTTP/1 layer with an app API does per request, on a bare asyncio Protocol
    (no Stream, no session, no keep-alive bookkeeping, no pipelining, no fallbacks): check the
    head with our common-shape rule, split its fields (the rule vouched for them), build the
    `RequestHeader` an app reads, run a `ServeHttp`-style coroutine to completion, stamp Date
    and Connection, serialize, write (batched until the end of the loop iteration, as our
    streams do). Plain body-less GETs only (anything else is dropped): a reference for what any
    session design on top could reach, not a server."""
    import asyncio

    from pingora_core.protocols.http.date import get_cached_date
    from pingora_http import RequestHeader, ResponseHeader

    async def app(request: RequestHeader) -> tuple[ResponseHeader, bytes]:
        header = ResponseHeader(200)
        header.append_header("Content-Type", "text/plain")
        header.append_header("Content-Length", "5")
        return header, BODY

    class Floor(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = cast(asyncio.Transport, transport)
            nodelay(transport)

        def data_received(self, data: bytes) -> None:
            request = floor_request(data)
            if request is None:
                return
            coro = app(request)
            try:
                coro.send(None)
            except StopIteration as stop:
                header, body = stop.value
            else:
                raise RuntimeError("the floor app never waits")
            headers = header.headers
            headers._put(b"date", b"Date", get_cached_date())
            headers._put(b"connection", b"Connection", b"keep-alive")
            write_batched(self.transport, header.to_h1_wire() + body)

    async def start() -> Callable[[], object]:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Floor, "127.0.0.1", port, backlog=65535)
        return server.close

    run_until_sigint(start)


# -- the driver -----------------------------------------------------------------------------------


def check_hello(port: int) -> None:
    """One keep-alive GET (the L4 ceiling server never closes); raise unless 200 "hello"."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n")
        data = b""
        while not data.endswith(BODY) and (chunk := sock.recv(4096)):
            data += chunk
    if not data.startswith(b"HTTP/1.1 200") or not data.endswith(BODY):
        raise RuntimeError(f"unexpected response from 127.0.0.1:{port}: {data!r}")


def measure(port: int, duration: int, connections: int) -> float:
    """Check the hello answer on `port`, then its requests/s under wrk."""
    check_hello(port)
    result: WrkResult = run_wrk(port, "/", duration, connections)
    if result.errors:
        print(f"  wrk reported {result.errors} errors on port {port}", file=sys.stderr)
    return result.requests_per_s


def bench_nginx(duration: int, connections: int) -> float:
    with Nginx(ORIGIN_HTTP, ports=[free_port()]) as nginx:  # `return 200 "hello"` at /
        return measure(nginx.ports[0], duration, connections)


def bench_ours(
    backend: str, duration: int, connections: int, profile: str | None, mode: str = "--serve"
) -> float:
    port = free_port()
    env = dict(os.environ, PINGORA_H1_BACKEND=backend)
    cmd = [sys.executable, __file__, mode, str(port)]
    if profile:
        cmd += ["--profile", profile]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)
    try:
        wait_listening(port, proc)
        return measure(port, duration, connections)
    finally:
        stop_process(proc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--backends", default="h11,httptools")
    parser.add_argument("--profile", default=None, help="cProfile the httptools run into FILE")
    parser.add_argument("--no-ceiling", action="store_true",
                        help="skip the floor and L4 ceiling rows")
    parser.add_argument("--serve", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--serve-l4", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--serve-floor", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        serve(args.serve, args.profile)
        return
    if args.serve_l4 is not None:
        serve_l4(args.serve_l4)
        return
    if args.serve_floor is not None:
        serve_floor(args.serve_floor)
        return
    if not os.access(WRK, os.X_OK) or not Nginx.available():
        sys.exit(f"{WRK} and nginx are needed for this benchmark")
    settings = f"wrk -t1 -c{args.connections} -d{args.duration}s"
    print(f"HTTP/1.1 hello-world, loopback, {settings}, 1 server process each")
    nginx = bench_nginx(args.duration, args.connections)
    rows = [("nginx return 200", nginx)]
    for backend in args.backends.split(","):
        profile = args.profile if backend == "httptools" else None
        rows.append((f"HttpServer ({backend})", bench_ours(backend, args.duration,
                                                           args.connections, profile)))
    if not args.no_ceiling:
        rows.append(("floor (no sessions)", bench_ours("httptools", args.duration,
                                                       args.connections, None, "--serve-floor")))
        rows.append(("L4 ceiling (no HTTP)", bench_ours("auto", args.duration, args.connections,
                                                        None, "--serve-l4")))
    print(f"{'server':<26}{'requests/s':>14}{'x nginx':>10}")
    for name, rps in rows:
        print(f"{name:<26}{rps:>14,.0f}{rps / nginx:>10.2f}")
    if args.profile:
        print(f"profile of the httptools run: {args.profile}")


if __name__ == "__main__":
    main()
