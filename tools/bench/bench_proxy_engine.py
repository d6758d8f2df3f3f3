"""Requests/s of the pingora-proxy engine beside nginx as a reverse proxy, in one run.

One origin (nginx, 1 worker, `return 200 "hello"`) serves both proxies; each proxy runs alone
on a free 127.0.0.1 port, one process, with a keep-alive pool to the origin, and is loaded with
the same wrk settings (`wrk -t1 -c50 -d8s` by default): nginx (`proxy_pass` with an upstream
`keepalive` pool), then ours (`http_proxy_service` with a `ProxyHttp` whose only phase is
`upstream_peer`; event loop "auto": uvloop when installed) with the default downstream modules
(response compression present, off) and without modules. Prints requests/s and the ratio to
nginx, and each proxy's CPU time per request (from /proc: a figure that stays meaningful
when other work shares the machine). Target: >= 0.5x nginx.

    python tools/bench/bench_proxy_engine.py [--duration 8] [--connections 50]
        [--profile OUT.pstats]

`--serve PORT --origin PORT [--bare]` is the proxy mode the benchmark starts in a subprocess;
with `--profile`, the default run is profiled with cProfile into OUT.pstats.
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

_COMMON: Final = """\
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
{body}
}}
"""
ORIGIN_BODY: Final = """\
    server {{
        listen 127.0.0.1:{port};
        location / {{ return 200 "hello"; }}
    }}"""
PROXY_BODY: Final = """\
    upstream origin {{
        server 127.0.0.1:{origin};
        keepalive 128;
        keepalive_requests 1000000;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://origin;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering on;
        }}
    }}"""


# -- the proxy under test (runs in a subprocess) -------------------------------------------------


def serve(port: int, origin: int, bare: bool, profile: str | None) -> None:
    from pingora_core.modules import HttpModules
    from pingora_core.server import Server, ServerConf, ShutdownWatch
    from pingora_core.services import BackgroundService, ReadyNotifier, Service, background_service
    from pingora_core.upstreams import HttpPeer
    from pingora_proxy import ProxyHttp, Session, http_proxy_service

    class ToOrigin(ProxyHttp[None]):
        def __init__(self) -> None:
            self.peer = HttpPeer(f"127.0.0.1:{origin}")

        async def upstream_peer(self, session: Session, ctx: None) -> HttpPeer:
            return self.peer

    class Bare(ToOrigin):
        def init_downstream_modules(self, modules: HttpModules) -> None:
            return None

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
    service = http_proxy_service(server.configuration, Bare() if bare else ToOrigin())
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
            raise RuntimeError(f"process exited early with {proc.returncode}")
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


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` so far (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


Result = tuple[float, float]  # (requests/s, CPU microseconds per request)


def run_wrk(port: int, duration: int, connections: int, pid: int) -> Result:
    cmd = [WRK, "-t1", f"-c{connections}", f"-d{duration}s", f"http://127.0.0.1:{port}/"]
    before = cpu_seconds(pid)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 30, check=True)
    used = cpu_seconds(pid) - before
    match = re.search(r"Requests/sec:\s+([\d.]+)", out.stdout)
    total = re.search(r"(\d+) requests in", out.stdout)
    if match is None or total is None:
        raise RuntimeError(f"no Requests/sec in wrk output:\n{out.stdout}\n{out.stderr}")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)", out.stdout)
    if errors:
        print(f"  wrk reported: {errors.group(0)}", file=sys.stderr)
    return float(match.group(1)), used / max(int(total.group(1)), 1) * 1e6


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGINT) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def start_nginx(prefix: str, body: str, port: int) -> subprocess.Popen[bytes]:
    conf = Path(prefix, "nginx.conf")
    conf.write_text(_COMMON.format(prefix=prefix, body=body))
    proc = subprocess.Popen(
        [NGINX, "-p", prefix, "-c", str(conf), "-e", f"{prefix}/error.log"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_listening(port, proc)
    return proc


def bench_nginx_proxy(origin: int, duration: int, connections: int) -> Result:
    with tempfile.TemporaryDirectory(prefix="bench-nginx-proxy-") as prefix:
        port = free_port()
        proc = start_nginx(prefix, PROXY_BODY.format(port=port, origin=origin), port)
        try:
            check_hello(port)
            return run_wrk(port, duration, connections, proc.pid)
        finally:
            stop(proc, signal.SIGQUIT)


def bench_ours(
    origin: int, duration: int, connections: int, *, bare: bool, profile: str | None
) -> Result:
    port = free_port()
    cmd = [sys.executable, __file__, "--serve", str(port), "--origin", str(origin)]
    if bare:
        cmd.append("--bare")
    if profile:
        cmd += ["--profile", profile]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    try:
        wait_listening(port, proc)
        check_hello(port)
        return run_wrk(port, duration, connections, proc.pid)
    finally:
        stop(proc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--duration", type=int, default=8, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--profile", default=None, help="cProfile our default run into FILE")
    parser.add_argument("--serve", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--origin", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--bare", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        if args.origin is None:
            sys.exit("--serve needs --origin PORT")
        serve(args.serve, args.origin, args.bare, args.profile)
        return
    for tool in (WRK, NGINX):
        if not os.access(tool, os.X_OK):
            sys.exit(f"{tool} is needed for this benchmark")
    settings = f"wrk -t1 -c{args.connections} -d{args.duration}s"
    print(f"HTTP/1.1 reverse proxy to an nginx origin, loopback, {settings}, 1 process each")
    with tempfile.TemporaryDirectory(prefix="bench-nginx-origin-") as prefix:
        origin = free_port()
        origin_proc = start_nginx(prefix, ORIGIN_BODY.format(port=origin), origin)
        try:
            check_hello(origin)
            nginx = bench_nginx_proxy(origin, args.duration, args.connections)
            rows = [
                ("nginx proxy_pass", nginx),
                ("pingora-proxy", bench_ours(origin, args.duration, args.connections,
                                             bare=False, profile=args.profile)),
                ("pingora-proxy, no modules", bench_ours(origin, args.duration,
                                                         args.connections, bare=True,
                                                         profile=None)),
            ]
        finally:
            stop(origin_proc, signal.SIGQUIT)
    print(f"{'proxy':<28}{'requests/s':>12}{'x nginx':>9}{'CPU us/req':>12}{'x nginx':>9}")
    for name, (rps, cpu) in rows:
        print(f"{name:<28}{rps:>12,.0f}{rps / nginx[0]:>9.2f}{cpu:>12.1f}{nginx[1] / cpu:>9.2f}")
    if args.profile:
        print(f"profile of our default run: {args.profile}")


if __name__ == "__main__":
    main()
