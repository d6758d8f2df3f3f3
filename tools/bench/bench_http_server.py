"""Requests/s of an `HttpServer` hello-world beside nginx's `return 200 "hello"`, in one run.

Each target runs alone on a free 127.0.0.1 port and is loaded with the same wrk settings
(`wrk -t1 -c50 -d10s` by default): nginx (1 worker, daemon off, temporary prefix, access_log
off), then our server (one process, event loop "auto": uvloop when installed) once per HTTP/1
codec backend, forced with PINGORA_H1_BACKEND. A last row, "L4 ceiling", answers each read
with a canned response straight from our TcpListener/TransportStream (no HTTP parsing): the
most any HTTP layer on top could reach. Prints requests/s and the ratio to nginx.
Target: the httptools backend >= 0.5x nginx.

    python tools/bench/bench_http_server.py [--duration 10] [--connections 50]
        [--backends h11,httptools] [--no-ceiling] [--profile OUT.pstats]

`--serve PORT` is the server mode the benchmark starts in a subprocess (prints "listening on
ADDR"); with `--profile`, the httptools run is profiled with cProfile into OUT.pstats.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Final

WRK: Final = "/usr/bin/wrk"
NGINX: Final = shutil.which("nginx") or "/usr/sbin/nginx"
BODY: Final = b"hello"
READY_TIMEOUT: Final = 15.0

NGINX_CONF: Final = """\
daemon off;
master_process off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    keepalive_requests 1000000;
    server {{
        listen 127.0.0.1:{port};
        location / {{ return 200 "hello"; }}
    }}
}}
"""


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

    async def main() -> None:
        listener = TcpListener(f"127.0.0.1:{port}")
        await listener.bind()
        loop = asyncio.get_running_loop()
        stopped = loop.create_future()
        loop.add_signal_handler(signal.SIGINT, stopped.set_result, None)
        serving = asyncio.ensure_future(listener.serve(handle))
        await stopped
        serving.cancel()

    try:
        import uvloop
    except ImportError:  # the same choice as the server's "auto"
        asyncio.run(main())
    else:
        uvloop.run(main())


# -- the driver -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_listening(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port} after {READY_TIMEOUT}s")


def check_hello(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n")
        data = b""
        while not data.endswith(BODY):
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    if not data.startswith(b"HTTP/1.1 200") or not data.endswith(BODY):
        raise RuntimeError(f"unexpected response from 127.0.0.1:{port}: {data!r}")


def run_wrk(port: int, duration: int, connections: int) -> float:
    cmd = [WRK, "-t1", f"-c{connections}", f"-d{duration}s", f"http://127.0.0.1:{port}/"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 30, check=True)
    match = re.search(r"Requests/sec:\s+([\d.]+)", out.stdout)
    if match is None:
        raise RuntimeError(f"no Requests/sec in wrk output:\n{out.stdout}\n{out.stderr}")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)", out.stdout)
    if errors:
        print(f"  wrk reported: {errors.group(0)}", file=sys.stderr)
    return float(match.group(1))


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGINT) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def bench_nginx(duration: int, connections: int) -> float:
    with tempfile.TemporaryDirectory(prefix="bench-nginx-") as prefix:
        port = free_port()
        conf = Path(prefix, "nginx.conf")
        conf.write_text(NGINX_CONF.format(prefix=prefix, port=port))
        proc = subprocess.Popen(
            [NGINX, "-p", prefix, "-c", str(conf), "-e", f"{prefix}/error.log"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_listening(port, proc)
            check_hello(port)
            return run_wrk(port, duration, connections)
        finally:
            stop(proc, signal.SIGQUIT)


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
        check_hello(port)
        return run_wrk(port, duration, connections)
    finally:
        stop(proc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--backends", default="h11,httptools")
    parser.add_argument("--profile", default=None, help="cProfile the httptools run into FILE")
    parser.add_argument("--no-ceiling", action="store_true", help="skip the L4 ceiling row")
    parser.add_argument("--serve", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--serve-l4", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        serve(args.serve, args.profile)
        return
    if args.serve_l4 is not None:
        serve_l4(args.serve_l4)
        return
    for tool in (WRK, NGINX):
        if not os.access(tool, os.X_OK):
            sys.exit(f"{tool} is needed for this benchmark")
    settings = f"wrk -t1 -c{args.connections} -d{args.duration}s"
    print(f"HTTP/1.1 hello-world, loopback, {settings}, 1 server process each")
    nginx = bench_nginx(args.duration, args.connections)
    rows = [("nginx return 200", nginx)]
    for backend in args.backends.split(","):
        profile = args.profile if backend == "httptools" else None
        rows.append((f"HttpServer ({backend})", bench_ours(backend, args.duration,
                                                           args.connections, profile)))
    if not args.no_ceiling:
        rows.append(("L4 ceiling (no HTTP)", bench_ours("auto", args.duration, args.connections,
                                                        None, "--serve-l4")))
    print(f"{'server':<26}{'requests/s':>14}{'x nginx':>10}")
    for name, rps in rows:
        print(f"{name:<26}{rps:>14,.0f}{rps / nginx:>10.2f}")
    if args.profile:
        print(f"profile of the httptools run: {args.profile}")


if __name__ == "__main__":
    main()
