"""Our reverse proxy beside nginx's `proxy_pass`, in one run, in front of the same nginx origin.

Three servers on free 127.0.0.1 ports: an origin nginx (`return 200 "hello"` at `/`, a 1 MiB
static file at `/big/1m.bin`), a proxy nginx (one process, `upstream o { server ORIGIN;
keepalive 64; }`, `proxy_http_version 1.1`, `proxy_set_header Connection ""`), and our proxy
(one process, event loop "auto": uvloop when installed; a `ProxyHttp` whose `upstream_peer`
returns the origin), once per HTTP/1 codec backend (PINGORA_H1_BACKEND).

1. small keep-alive responses: `wrk -t1 -c50 -d10s` on each proxy; requests/s, ratio to nginx
   (target >= 0.5x with httptools + uvloop), and the proxy process's CPU time per request
   (from /proc; it stays meaningful when wrk and the origin share the CPUs with the proxy).
   With `--no-modules`, one more row: our proxy (first backend) with no downstream modules
   (`init_downstream_modules` adds none), the cost of the default, disabled compression module.
   A last row, "floor", is `_proxy_floor.py`: the least per-request work of any proxy with a
   phase API, on bare asyncio Protocols; what a proxy design could reach at best
   (`--no-floor` skips it).
2. latency at a fixed rate: an asyncio client sends R req/s (default 1000) over keep-alive
   connections for D s to each proxy; p50/p99/max measured from each request's scheduled send
   time (so a stall is not hidden by the client waiting for it).
3. 1 MiB responses: wrk on `/big/1m.bin`; MiB/s and the ratio (target >= 0.7x).
4. upstream connection reuse: our proxy writes its Connector stats when it stops; the ratio
   reused / (created + reused) of each wrk run is printed (target >= 99%).

    python tools/bench/bench_proxy.py [--duration 10] [--connections 50] [--rate 1000]
        [--latency-duration 5] [--big-duration 10] [--big-connections 10]
        [--backends httptools,h11] [--no-modules] [--no-floor]

`--serve-proxy PORT --origin ADDR --stats FILE [--bare]` is the proxy mode the benchmark starts
in a subprocess (bench_proxy_soak.py uses it too).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:  # how mypy (run from the repo root) names the helper next to this script
    from tools.bench._nginx import Nginx, free_port, stop_process, wait_listening
    from tools.bench._proxy_floor import serve_floor
else:
    from _nginx import Nginx, free_port, stop_process, wait_listening
    from _proxy_floor import serve_floor

WRK: Final = "/usr/bin/wrk"
BIG_PATH: Final = "/big/1m.bin"
BIG_SIZE: Final = 1 << 20
SMALL_BODY: Final = b"hello"

ORIGIN_HTTP: Final = """\
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:{port};
        location / { return 200 "hello"; }
        location /big/ { root {prefix}/www; }
    }
"""
PROXY_HTTP: Final = """\
    keepalive_requests 1000000;
    upstream o { server 127.0.0.1:@ORIGIN@; keepalive 64; }
    server {
        listen 127.0.0.1:{port};
        location / {
            proxy_pass http://o;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
"""


# -- our proxy (runs in a subprocess) --------------------------------------------------------------


def serve_proxy(port: int, origin: str, stats: str | None, *, bare: bool = False) -> None:
    """Run the benchmark proxy on 127.0.0.1:`port` until SIGINT; then write the connector's
    stats as JSON to `stats`. `bare`: no downstream modules."""
    from dataclasses import asdict

    from pingora_core.connectors import Connector
    from pingora_core.modules import HttpModules
    from pingora_core.server import Server, ServerConf
    from pingora_core.services import Service
    from pingora_core.upstreams import HttpPeer
    from pingora_proxy import HttpProxy, ProxyHttp, Session

    class BenchProxy(ProxyHttp[None]):
        def __init__(self, peer: HttpPeer) -> None:
            self.peer = peer

        async def upstream_peer(self, session: Session, ctx: None) -> HttpPeer:
            return self.peer

    class BareProxy(BenchProxy):
        def init_downstream_modules(self, modules: HttpModules) -> None:
            return None

    conf = ServerConf(grace_period_seconds=1, graceful_shutdown_timeout_seconds=1)
    connector = Connector.from_server_conf(conf)
    app = (BareProxy if bare else BenchProxy)(HttpPeer(origin))
    service = Service("bench proxy", HttpProxy(app, conf, connector=connector))
    service.add_tcp(f"127.0.0.1:{port}")
    server = Server(conf=conf)
    server.add_service(service)
    server.run_forever()
    if stats is not None:
        snapshot = connector.stats
        data = dict(asdict(snapshot), reuse_ratio=snapshot.reuse_ratio)
        Path(stats).write_text(json.dumps(data))


@dataclass(slots=True)
class OurProxy:
    """Our proxy in a subprocess; `stats` and `log` are filled once it stopped."""

    port: int
    proc: subprocess.Popen[bytes]
    stats_path: Path
    log_path: Path
    stats: dict[str, float] | None = None
    log: str = ""

    @property
    def failed_requests(self) -> int:
        """Requests the proxy logged as failed (wrk closing mid-response at its end counts)."""
        return self.log.count("Fail to proxy")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        stop_process(self.proc, timeout=15)
        if self.stats_path.exists():
            self.stats = json.loads(self.stats_path.read_text())
            self.stats_path.unlink()
        if self.log_path.exists():
            self.log = self.log_path.read_text(errors="replace")
            self.log_path.unlink()


@contextmanager
def our_proxy(
    origin_port: int, backend: str, tmp: Path, *, bare: bool = False
) -> Iterator[OurProxy]:
    """Start our proxy in front of 127.0.0.1:`origin_port` (`bare`: no downstream modules);
    stop it (stats read) on exit."""
    port = free_port()
    stats_path = tmp / f"stats-{port}.json"
    log_path = tmp / f"proxy-{port}.log"
    env = dict(os.environ, PINGORA_H1_BACKEND=backend)
    cmd = [sys.executable, __file__, "--serve-proxy", str(port),
           "--origin", f"127.0.0.1:{origin_port}", "--stats", str(stats_path)]
    if bare:
        cmd.append("--bare")
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=log)
    proxy = OurProxy(port, proc, stats_path, log_path)
    try:
        wait_listening(port, proxy.proc)
        check_get(port, "/", SMALL_BODY)
        yield proxy
    finally:
        proxy.stop()


@contextmanager
def floor_proxy(origin_port: int) -> Iterator[tuple[int, int]]:
    """The floor proxy (`_proxy_floor.py`) in front of 127.0.0.1:`origin_port`: (port, pid)."""
    port = free_port()
    cmd = [sys.executable, __file__, "--serve-floor", str(port),
           "--origin", f"127.0.0.1:{origin_port}"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    try:
        wait_listening(port, proc)
        check_get(port, "/", SMALL_BODY)
        yield port, proc.pid
    finally:
        stop_process(proc, timeout=15)


@contextmanager
def nginx_pair() -> Iterator[tuple[Nginx, Nginx]]:
    """The origin nginx and the proxy nginx in front of it (separate processes)."""
    origin_port, proxy_port = free_port(), free_port()
    files = {"www/big/1m.bin": os.urandom(BIG_SIZE)}
    with (
        Nginx(ORIGIN_HTTP, ports=[origin_port], files=files) as origin,
        Nginx(PROXY_HTTP.replace("@ORIGIN@", str(origin_port)), ports=[proxy_port]) as proxy,
    ):
        check_get(origin_port, "/", SMALL_BODY)
        check_get(proxy_port, "/", SMALL_BODY)
        yield origin, proxy


# -- clients ---------------------------------------------------------------------------------------


def check_get(port: int, path: str, body: bytes) -> None:
    """One GET over a fresh connection; raise unless it answers 200 with `body`."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    if not data.startswith(b"HTTP/1.1 200") or not data.endswith(body):
        raise RuntimeError(f"unexpected response from 127.0.0.1:{port}{path}: {data[:200]!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class WrkResult:
    requests_per_s: float
    bytes_per_s: float
    errors: int  # non-2xx/3xx responses + socket errors
    raw: str


_UNITS: Final = {"B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time `pid` used so far (from /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_wrk_cpu(port: int, pid: int, duration: int, connections: int) -> tuple[WrkResult, float]:
    """wrk on `/` and the CPU microseconds process `pid` spent per request meanwhile."""
    before = cpu_seconds(pid)
    result = run_wrk(port, "/", duration, connections)
    used = cpu_seconds(pid) - before
    return result, used * 1e6 / max(1.0, result.requests_per_s * duration)


def run_wrk(port: int, path: str, duration: int, connections: int) -> WrkResult:
    cmd = [WRK, "-t1", f"-c{connections}", f"-d{duration}s", f"http://127.0.0.1:{port}{path}"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60, check=True)
    text = out.stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    transfer = re.search(r"Transfer/sec:\s+([\d.]+)([KMGT]?B)", text)
    if rps is None or transfer is None:
        raise RuntimeError(f"unexpected wrk output:\n{text}\n{out.stderr}")
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", text))
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), "
                              r"timeout (\d+)", text)
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    return WrkResult(
        requests_per_s=float(rps.group(1)),
        bytes_per_s=float(transfer.group(1)) * _UNITS[transfer.group(2)],
        errors=errors,
        raw=text,
    )


async def _fixed_rate(port: int, rate: float, duration: float, connections: int) -> list[float]:
    clock = time.perf_counter  # the loop's clock may tick in whole milliseconds (uvloop)
    free: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(connections):
        free.put_nowait(await asyncio.open_connection("127.0.0.1", port))
    request = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"
    latencies: list[float] = []

    async def one(scheduled: float) -> None:
        reader, writer = await free.get()
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        match = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
        if not head.startswith(b"HTTP/1.1 200") or match is None:
            raise RuntimeError(f"unexpected response head {head!r}")
        await reader.readexactly(int(match.group(1)))
        latencies.append(clock() - scheduled)
        free.put_nowait((reader, writer))

    total = int(rate * duration)
    start = clock() + 0.05
    tasks = []
    for i in range(total):
        scheduled = start + i / rate
        delay = scheduled - clock()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(one(scheduled)))
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=duration + 30)
    while not free.empty():
        free.get_nowait()[1].close()
    return latencies


def fixed_rate(port: int, rate: float, duration: float, connections: int = 50) -> list[float]:
    """Latencies (s) of `rate` req/s for `duration` s, each from its scheduled send time."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(_fixed_rate(port, rate, duration, connections))
    return uvloop.run(_fixed_rate(port, rate, duration, connections))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


# -- the driver ------------------------------------------------------------------------------------


def _reuse(proxy: OurProxy) -> str:
    stats = proxy.stats
    if stats is None:
        return "no stats"
    return (f"{stats['reuse_ratio']:.2%} (created {stats['created']:.0f}, "
            f"reused {stats['reused']:.0f}); proxy log: {proxy.failed_requests} failed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--duration", type=int, default=10, help="s per small-response wrk run")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--rate", type=float, default=1000.0, help="req/s of the latency run")
    parser.add_argument("--latency-duration", type=float, default=5.0)
    parser.add_argument("--big-duration", type=int, default=10, help="s per 1 MiB wrk run")
    parser.add_argument("--big-connections", type=int, default=10)
    parser.add_argument("--backends", default="httptools,h11",
                        help="codec backends of our proxy; the first one runs every part")
    parser.add_argument("--no-modules", action="store_true",
                        help="add a row: our proxy (first backend) without downstream modules")
    parser.add_argument("--no-floor", action="store_true",
                        help="skip the floor row (the least work of any proxy with phases)")
    parser.add_argument("--serve-proxy", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--serve-floor", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--origin", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--stats", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--bare", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_proxy is not None:
        if args.origin is None:
            parser.error("--serve-proxy needs --origin")
        serve_proxy(args.serve_proxy, args.origin, args.stats, bare=args.bare)
        return
    if args.serve_floor is not None:
        if args.origin is None:
            parser.error("--serve-floor needs --origin")
        serve_floor(args.serve_floor, args.origin)
        return
    if not os.access(WRK, os.X_OK) or not Nginx.available():
        sys.exit(f"{WRK} and nginx are needed for this benchmark")
    backends = args.backends.split(",")
    main_backend = backends[0]
    c, d = args.connections, args.duration
    with nginx_pair() as (origin, nginx), tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        origin_port = origin.ports[0]
        print(f"reverse proxy to an nginx origin, loopback, 1 proxy process each, "
              f"wrk -t1 -c{c} -d{d}s")

        print("\n1. small keep-alive responses (GET / -> 'hello')")
        base, base_cpu = run_wrk_cpu(nginx.ports[0], nginx.pid, d, c)
        rows = [("nginx proxy_pass", base, base_cpu, "")]
        variants = [(backend, False) for backend in backends]
        if args.no_modules:
            variants.append((main_backend, True))
        for backend, bare in variants:
            with our_proxy(origin_port, backend, tmp, bare=bare) as ours:
                result, cpu = run_wrk_cpu(ours.port, ours.pid, d, c)
            name = f"ours ({backend}, no modules)" if bare else f"ours ({backend})"
            rows.append((name, result, cpu, _reuse(ours)))
        if not args.no_floor:
            with floor_proxy(origin_port) as (port, pid):
                result, cpu = run_wrk_cpu(port, pid, d, c)
            rows.append(("floor (no sessions)", result, cpu, ""))
        print(f"   {'proxy':<30}{'requests/s':>12}{'x nginx':>9}{'CPU us/req':>11}"
              f"{'errors':>8}  upstream reuse")
        for name, res, cpu, reuse in rows:
            print(f"   {name:<30}{res.requests_per_s:>12,.0f}"
                  f"{res.requests_per_s / base.requests_per_s:>9.2f}{cpu:>11.1f}"
                  f"{res.errors:>8}  {reuse}")

        print(f"\n2. latency at {args.rate:.0f} req/s for {args.latency_duration:.0f}s "
              f"({c} keep-alive connections, from the scheduled send time)")
        lat_nginx = fixed_rate(nginx.ports[0], args.rate, args.latency_duration, c)
        with our_proxy(origin_port, main_backend, tmp) as ours:
            lat_ours = fixed_rate(ours.port, args.rate, args.latency_duration, c)
        print(f"   {'proxy':<20}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}")
        for name, lat in (("nginx proxy_pass", lat_nginx), (f"ours ({main_backend})", lat_ours)):
            print(f"   {name:<20}{percentile(lat, 50) * 1e3:>9.2f}"
                  f"{percentile(lat, 99) * 1e3:>9.2f}{max(lat) * 1e3:>9.2f}")

        bc, bd = args.big_connections, args.big_duration
        print(f"\n3. 1 MiB responses (GET {BIG_PATH}, wrk -t1 -c{bc} -d{bd}s)")
        big_nginx = run_wrk(nginx.ports[0], BIG_PATH, bd, bc)
        with our_proxy(origin_port, main_backend, tmp) as ours:
            check_get(ours.port, BIG_PATH, b"")
            big_ours = run_wrk(ours.port, BIG_PATH, bd, bc)
        print(f"   {'proxy':<20}{'MiB/s':>10}{'x nginx':>9}{'errors':>8}  upstream reuse")
        for name, res, reuse in (("nginx proxy_pass", big_nginx, ""),
                                 (f"ours ({main_backend})", big_ours, _reuse(ours))):
            print(f"   {name:<20}{res.bytes_per_s / (1 << 20):>10,.1f}"
                  f"{res.bytes_per_s / big_nginx.bytes_per_s:>9.2f}{res.errors:>8}  {reuse}")
        print("\ntargets: small >= 0.5x nginx (speedups), 1 MiB >= 0.7x, upstream reuse >= 99%")


if __name__ == "__main__":
    main()
