"""Record which upstream real nginx picks with `hash $request_uri consistent`, as a test trace.

Runs nginx in the foreground from a temporary prefix, listening on a free loopback port, with an
upstream block of loopback servers on closed ports with different weights (each request fails
fast with 502, but `$upstream_addr` still names the server nginx chose; `max_fails=0` keeps every
server in the ring and `proxy_next_upstream off` makes each request try exactly one). It sends a
fixed-seed list of random URIs over loopback, stops nginx, and writes `nginx_trace.csv`
(`request_uri,upstream_addr`) plus `nginx_trace.json` (the bucket list and how the trace was made)
for pingora-ketama's tests.

    python tools/ketama_nginx_trace.py [--requests 3000] [--seed N] [--out-dir DIR]
"""

from __future__ import annotations

import argparse
import csv
import http.client
import json
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "packages" / "pingora-ketama" / "tests" / "data"
DEFAULT_SEED = 5381
DEFAULT_REQUESTS = 3000

# Loopback addresses only, on ports nothing listens on; several weights and two ports per IP.
BUCKETS: list[tuple[str, int]] = [
    ("127.0.0.2:9", 1),
    ("127.0.0.3:9", 2),
    ("127.0.0.4:9", 3),
    ("127.0.0.5:9", 5),
    ("127.0.0.6:7", 1),
    ("127.0.0.2:13", 4),
]

_SEGMENT_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_~."
_QUERY_CHARS = _SEGMENT_CHARS + "=&+,;:!*'()"
# Bytes to %-escape: printable ones but '.' and '/' (which could form dot segments), and high ones.
_ESCAPED = [b for b in range(0x21, 0x100) if b not in (0x2E, 0x2F, 0x7F)]

CONF = """\
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log crit;
events {{ worker_connections 64; }}
http {{
    access_log off;
    log_format trace '$request_uri,$upstream_addr';
    upstream ring {{
        hash $request_uri consistent;
{servers}
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            access_log {prefix}/logs/trace.log trace;
            proxy_next_upstream off;
            proxy_connect_timeout 2s;
            proxy_pass http://ring;
        }}
    }}
}}
"""


def random_uri(rng: random.Random) -> str:
    """A URI nginx accepts verbatim: 1-5 path segments, sometimes %XX escapes and a query."""
    parts = []
    for _ in range(rng.randint(1, 5)):
        seg = "".join(rng.choices(_SEGMENT_CHARS, k=rng.randint(1, 16)))
        if rng.random() < 0.1:
            seg += f"%{rng.choice(_ESCAPED):02X}"
        if seg.strip(".") == "":  # "." and ".." segments would be resolved by nginx
            seg = "d" + seg
        parts.append(seg)
    uri = "/" + "/".join(parts)
    if rng.random() < 0.3:
        uri += "?" + "".join(rng.choices(_QUERY_CHARS, k=rng.randint(0, 24)))
    return uri


def make_uris(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [random_uri(rng) for _ in range(count)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def check_closed(address: str) -> None:
    """Refuse to run if something listens on an upstream address: the trace must hit no service."""
    host, _, port = address.rpartition(":")
    with socket.socket() as s:
        s.settimeout(1.0)
        if s.connect_ex((host, int(port))) == 0:
            raise SystemExit(f"{address} accepts connections; the upstreams must be closed ports")


def wait_listening(proc: subprocess.Popen[bytes], port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"nginx exited early with status {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise RuntimeError(f"nginx did not listen on 127.0.0.1:{port} within {timeout} s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Graceful stop (SIGQUIT), then SIGKILL if nginx has not exited within 10 s."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGQUIT)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def send(port: int, uris: list[str]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        for uri in uris:
            conn.request("GET", uri)
            resp = conn.getresponse()
            resp.read()
            if resp.status != 502:
                raise RuntimeError(f"{uri}: expected 502 from a closed upstream, got {resp.status}")
    finally:
        conn.close()


def nginx_version(nginx: str) -> str:
    out = subprocess.run([nginx, "-v"], capture_output=True, text=True, check=True)
    return (out.stderr or out.stdout).strip().removeprefix("nginx version: ")


def run_nginx(nginx: str, uris: list[str]) -> list[tuple[str, str]]:
    """Send `uris` through nginx; the (request_uri, upstream_addr) pairs it logged, in order."""
    for address, _ in BUCKETS:
        check_closed(address)
    with tempfile.TemporaryDirectory(prefix="ketama-nginx-") as tmp:
        prefix = Path(tmp)
        (prefix / "logs").mkdir()
        port = free_port()
        servers = "\n".join(
            f"        server {address} weight={weight} max_fails=0;" for address, weight in BUCKETS
        )
        conf = prefix / "nginx.conf"
        conf.write_text(CONF.format(prefix=prefix, servers=servers, port=port))
        error_log = prefix / "logs" / "error.log"
        cmd = [nginx, "-p", str(prefix), "-c", str(conf), "-e", str(error_log)]
        proc = subprocess.Popen([*cmd, "-g", "daemon off;"], stdin=subprocess.DEVNULL)
        try:
            wait_listening(proc, port)
            send(port, uris)
        except BaseException:
            if error_log.exists():
                sys.stderr.write(error_log.read_text()[-4000:])
            raise
        finally:
            stop(proc)
        lines = (prefix / "logs" / "trace.log").read_text().splitlines()
    rows = [tuple(line.rsplit(",", 1)) for line in lines]
    pairs = [(uri, addr) for uri, addr in rows]
    if [uri for uri, _ in pairs] != uris:
        raise RuntimeError("nginx's log does not list the URIs sent, in order")
    return pairs


def write_trace(out_dir: Path, pairs: list[tuple[str, str]], meta: dict[str, object]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    with (out_dir / "nginx_trace.csv").open("w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["request_uri", "upstream_addr"])
        writer.writerows(pairs)
    (out_dir / "nginx_trace.json").write_text(json.dumps(meta, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=DEFAULT_REQUESTS)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--nginx", default=shutil.which("nginx") or "/usr/sbin/nginx")
    args = parser.parse_args(argv)
    if not 1 <= args.requests <= 100_000:
        parser.error("--requests must be from 1 to 100000")

    uris = make_uris(args.requests, args.seed)
    pairs = run_nginx(args.nginx, uris)
    meta: dict[str, object] = {
        "nginx": nginx_version(args.nginx),
        "key": "$request_uri",
        "seed": args.seed,
        "requests": args.requests,
        "buckets": [{"address": a, "weight": w} for a, w in BUCKETS],
    }
    write_trace(args.out_dir, pairs, meta)

    counts: dict[str, int] = {}
    for _, addr in pairs:
        counts[addr] = counts.get(addr, 0) + 1
    print(f"nginx {meta['nginx']}: {len(pairs)} requests -> {args.out_dir}/nginx_trace.csv")
    for address, weight in BUCKETS:
        print(f"  {address:<14} weight {weight}: {counts.get(address, 0)}")
    try:
        from pingora_ketama import Bucket, Continuum
    except ImportError:
        return 0
    ring = Continuum([Bucket(a, w) for a, w in BUCKETS])
    same = sum(ring.node(uri.encode()) == addr for uri, addr in pairs)
    print(f"pingora_ketama.Continuum agrees on {same}/{len(pairs)}")
    return 0 if same == len(pairs) else 1


if __name__ == "__main__":
    sys.exit(main())
