"""Memory per idle keep-alive connection: our TcpListener + TransportStream against nginx.

Each server runs in its own process. The client opens N connections one by one, makes one
request/response exchange on each (so every connection is accepted, served once and left idle
in keep-alive), and the server's RSS (VmRSS from /proc) is read before and after. Ours is run
on the default asyncio loop and, when installed, on uvloop; nginx runs as one process
(started by tools/bench/_nginx.py) with `worker_connections 10000` (or more) and
`keepalive_timeout 300`.

    python tools/bench/bench_l4_idle_rss.py [--connections 5000] [--nginx PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # how mypy (run from the repo root) names the helper next to this script
    from tools.bench._nginx import NGINX, Nginx, free_port, stop_process
else:
    from _nginx import NGINX, Nginx, free_port, stop_process

TARGET_KIB_PER_CONN = 20.0
NGINX_HTTP = """\
    keepalive_timeout 300;
    keepalive_requests 100000;
    server {
        listen 127.0.0.1:{port};
        location / { return 200 "ok"; }
    }
"""
REQUEST = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"


@dataclass(frozen=True, slots=True, kw_only=True)
class Result:
    name: str
    connections: int
    before_kib: int
    after_kib: int

    @property
    def kib_per_conn(self) -> float:
        return (self.after_kib - self.before_kib) / self.connections


def raise_nofile() -> int:
    """Raise the soft open-files limit to the hard limit; return it."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


Exchange = Callable[[socket.socket], None]


def open_idle_connections(port: int, count: int, exchange: Exchange) -> list[socket.socket]:
    conns = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        exchange(sock)
        conns.append(sock)
    return conns


def echo_once(sock: socket.socket) -> None:
    sock.sendall(b"ping")
    if sock.recv(16) != b"ping":
        raise RuntimeError("our server did not answer")


def http_once(sock: socket.socket) -> None:
    sock.sendall(REQUEST)
    reply = b""
    while not reply.endswith(b"ok"):
        chunk = sock.recv(4096)
        if not chunk:
            raise RuntimeError("nginx closed the connection")
        reply += chunk


def measure(name: str, pid: int, port: int, count: int, exchange: Exchange) -> Result:
    warm = open_idle_connections(port, 10, exchange)  # first-use allocations out of the way
    for sock in warm:
        sock.close()
    time.sleep(0.2)
    before = rss_kib(pid)
    conns = open_idle_connections(port, count, exchange)
    time.sleep(0.5)  # let the server finish its last callbacks
    after = rss_kib(pid)
    for sock in conns:
        sock.close()
    return Result(name=name, connections=count, before_kib=before, after_kib=after)


# -- our server (runs in a child process) ---------------------------------------------------------


async def serve_ours() -> None:
    from pingora_core.listeners import TcpListener
    from pingora_core.protocols.l4 import Stream

    async def handler(stream: Stream) -> None:
        first = await stream.read()
        stream.write(first)
        await stream.drain()
        while await stream.read():
            pass

    listener = TcpListener("127.0.0.1:0")
    await listener.bind()
    print(f"READY {listener.bound_address.rsplit(':', 1)[1]}", flush=True)
    await listener.serve(handler)


def run_server(loop_name: str) -> None:
    raise_nofile()
    if loop_name == "uvloop":
        import uvloop

        uvloop.run(serve_ours())
    else:
        asyncio.run(serve_ours())


def bench_ours(loop_name: str, count: int) -> Result:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", loop_name], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().split()
        if not line or line[0] != "READY":
            raise RuntimeError(f"our server did not start: {line}")
        return measure(f"pingora ({loop_name})", proc.pid, int(line[1]), count, echo_once)
    finally:
        stop_process(proc, signal.SIGTERM)


def bench_nginx(nginx: str, count: int, nofile: int) -> Result | None:
    if not Nginx.available(nginx):
        print(f"nginx not found at {nginx}: no reference run")
        return None
    main = f"worker_rlimit_nofile {nofile};"
    server = Nginx(NGINX_HTTP, ports=[free_port()], main=main, binary=nginx,
                   worker_connections=max(10000, count + 100))
    with server:
        return measure("nginx (1 process)", server.pid, server.ports[0], count, http_once)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=5000)
    parser.add_argument("--nginx", default=NGINX)
    parser.add_argument("--serve", choices=["asyncio", "uvloop"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        run_server(args.serve)
        return 0
    nofile = raise_nofile()
    if nofile < args.connections + 100:
        print(f"RLIMIT_NOFILE hard limit {nofile} is too low for {args.connections} connections")
        return 1
    loops = ["asyncio"]
    if importlib.util.find_spec("uvloop") is not None:
        loops.append("uvloop")
    results = [bench_ours(name, args.connections) for name in loops]
    reference = bench_nginx(args.nginx, args.connections, nofile)

    print(f"\nidle keep-alive connections: {args.connections}")
    print(f"{'server':<20} {'RSS before':>12} {'RSS after':>12} {'KiB/conn':>10}")
    for result in [*results, *([reference] if reference else [])]:
        print(
            f"{result.name:<20} {result.before_kib:>9} KiB {result.after_kib:>9} KiB "
            f"{result.kib_per_conn:>10.2f}"
        )
    ok = True
    for result in results:
        verdict = "within" if result.kib_per_conn <= TARGET_KIB_PER_CONN else "OVER"
        ok = ok and verdict == "within"
        line = f"{result.name}: {result.kib_per_conn:.2f} KiB/conn, {verdict} the target"
        line += f" of {TARGET_KIB_PER_CONN:.0f} KiB/conn"
        if reference is not None and reference.kib_per_conn > 0:
            line += f"; ratio to nginx {result.kib_per_conn / reference.kib_per_conn:.2f}x"
        print(line)
    return 0 if ok else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    sys.exit(main())
