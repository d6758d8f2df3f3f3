"""HTTP/1 server session and codec seam beside their references, in one run.

Part 1 (codec): parsing a typical request head through our seam with each backend, beside the
bare parsers (httptools' own callbacks, h11's Connection), per head.
Part 2 (server): a hello-world server on `HttpSession` (one process, one event loop, uvloop when
installed) beside nginx (`worker_processes 1`, `return 200 "hello"`), both loaded by wrk over
loopback with the same connections and duration. Prints requests/s and the ratio to nginx.
Target: >= 0.5x nginx with the httptools backend.

    python tools/bench/bench_h1_server.py [--duration 8] [--connections 50] [--skip-server]
    python tools/bench/bench_h1_server.py --serve PORT BACKEND   # the server alone
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, Final

import h11

from pingora_core.listeners import TcpListener
from pingora_core.protocols.http.v1 import HttpSession, RequestParser, available_h1_backends
from pingora_core.protocols.l4.stream import Stream
from pingora_http import ResponseHeader

HEAD: Final = (
    b"GET /plaintext HTTP/1.1\r\nHost: localhost:8080\r\nUser-Agent: bench/1.0\r\n"
    b"Accept: text/plain,text/html;q=0.9\r\nAccept-Encoding: gzip, deflate\r\n"
    b"Connection: keep-alive\r\n\r\n"
)
NGINX_CONF: Final = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log crit;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {dir};
    proxy_temp_path {dir};
    fastcgi_temp_path {dir};
    uwsgi_temp_path {dir};
    scgi_temp_path {dir};
    keepalive_requests 1000000;
    server {{
        listen 127.0.0.1:{port};
        location / {{ default_type text/plain; return 200 "hello"; }}
    }}
}}
"""


# -- part 1: the codec ---------------------------------------------------------------------------


def per_call(fn: Callable[[], object], calls: int, rounds: int = 5) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, time.perf_counter() - start)
    return best / calls * 1e6


class _Proto:
    """The least a caller of httptools must do: keep the target and the fields."""

    __slots__ = ("headers", "url")

    def __init__(self) -> None:
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []

    def on_url(self, url: bytes) -> None:
        self.url = url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))


def bare_httptools() -> object:
    import httptools

    proto = _Proto()
    httptools.HttpRequestParser(proto).feed_data(HEAD)
    return proto


def bare_h11() -> object:
    conn = h11.Connection(h11.SERVER)
    conn.receive_data(HEAD)
    return conn.next_event()


def bench_codec(calls: int) -> None:
    print(f"codec: one {len(HEAD)}-byte request head, microseconds per head (best of 5)")
    rows = []
    for backend in available_h1_backends():
        ours = per_call(lambda b=backend: RequestParser(b).feed(HEAD), calls)  # type: ignore[misc]
        ref = per_call(bare_httptools if backend == "httptools" else bare_h11, calls)
        rows.append((backend, ours, ref))
    for backend, ours, ref in rows:
        name = "httptools callbacks" if backend == "httptools" else "h11.Connection"
        print(
            f"  seam[{backend:9}] {ours:6.2f} us   bare {name:20} {ref:6.2f} us   "
            f"ratio {ref / ours:4.2f}x (bare/ours; higher is better)"
        )


# -- part 2: the server ----------------------------------------------------------------------------


async def handle(stream: Stream) -> None:
    current: Stream | None = stream
    while current is not None:
        session = HttpSession(current)
        try:
            if await session.read_request() is None:
                return
        except Exception:
            return
        resp = ResponseHeader(200)
        resp.append_header(b"Content-Type", b"text/plain")
        resp.append_header(b"Content-Length", b"5")
        await session.write_response_header(resp)
        await session.write_response_body(b"hello", True)
        current = await session.finish()


async def serve(port: int) -> None:
    listener = TcpListener(f"127.0.0.1:{port}")
    await listener.bind()
    print("ready", flush=True)
    await listener.serve(handle)


def run_server(port: int, backend: str) -> None:
    from pingora_core.protocols.http.v1 import select_h1_backend

    select_h1_backend(backend)
    runner: Callable[[Coroutine[Any, Any, None]], None] = asyncio.run
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:
        pass
    with contextlib.suppress(KeyboardInterrupt):
        runner(serve(port))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wrk(port: int, duration: int, connections: int) -> float:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", f"http://127.0.0.1:{port}/"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if match is None or "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk failed:\n{out}")
    return float(match.group(1))


def wait_ready(port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on port {port}")


def bench_ours(backend: str, duration: int, connections: int) -> float:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port), backend], stdout=subprocess.PIPE
    )
    try:
        assert proc.stdout is not None
        proc.stdout.readline()
        wait_ready(port)
        wrk(port, 1, connections)  # warm up
        return wrk(port, duration, connections)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def bench_nginx(duration: int, connections: int) -> float:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        conf = Path(tmp) / "nginx.conf"
        conf.write_text(NGINX_CONF.format(dir=tmp, port=port))
        proc = subprocess.Popen([nginx, "-c", str(conf), "-p", tmp], stderr=subprocess.DEVNULL)
        try:
            wait_ready(port)
            wrk(port, 1, connections)
            return wrk(port, duration, connections)
        finally:
            proc.terminate()
            proc.wait(5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--skip-server", action="store_true")
    parser.add_argument("--serve", nargs=2, metavar=("PORT", "BACKEND"))
    args = parser.parse_args()
    if args.serve:
        run_server(int(args.serve[0]), args.serve[1])
        return
    bench_codec(args.calls)
    if args.skip_server:
        return
    if shutil.which("wrk") is None:
        print("server: skipped (wrk is not installed)")
        return
    print(
        f"server: hello world, wrk -t1 -c{args.connections} -d{args.duration}s, "
        f"{os.cpu_count()} CPUs, requests/s"
    )
    reference = bench_nginx(args.duration, args.connections)
    print(f"  nginx (1 worker)      {reference:10.0f}")
    for backend in available_h1_backends():
        ours = bench_ours(backend, args.duration, args.connections)
        print(f"  HttpSession[{backend:9}] {ours:10.0f}   {ours / reference:4.2f}x nginx")


if __name__ == "__main__":
    main()
