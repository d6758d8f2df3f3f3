"""A soak at full load through our reverse proxy: errors and memory growth over time.

An origin nginx (`return 200 "hello"`) behind our proxy (one process, the bench_proxy.py
proxy, speedups when installed); `wrk -t1 -c50` runs for the whole duration (default 60 s)
while the proxy's RSS (VmRSS in /proc/PID/status) is sampled every second. Reports the wrk
errors (non-2xx/3xx responses + socket errors; target: zero), requests/s, the RSS after the
warm-up (the first 10 s) and at the end, and the growth between them (target < 10%), plus the
upstream connection reuse ratio.

    python tools/bench/bench_proxy_soak.py [--duration 60] [--warmup 10] [--connections 50]
        [--backend httptools]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:  # how mypy (run from the repo root) names the scripts next to this one
    from tools.bench._nginx import Nginx, free_port
    from tools.bench.bench_proxy import ORIGIN_HTTP, SMALL_BODY, WRK, check_get, our_proxy, run_wrk
else:
    from _nginx import Nginx, free_port
    from bench_proxy import ORIGIN_HTTP, SMALL_BODY, WRK, check_get, our_proxy, run_wrk

GROWTH_TARGET: Final = 0.10


def rss_kib(pid: int) -> int:
    """VmRSS of `pid` in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def sample_rss(pid: int, stop: threading.Event, out: list[tuple[float, int]]) -> None:
    """Append (seconds since start, RSS KiB) every second until `stop` is set."""
    start = time.monotonic()
    tick = 0
    while True:
        out.append((time.monotonic() - start, rss_kib(pid)))
        tick += 1
        if stop.wait(max(0.0, start + tick - time.monotonic())):
            return


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--duration", type=int, default=60, help="seconds of load")
    parser.add_argument("--warmup", type=int, default=10, help="seconds before the RSS baseline")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--backend", default="httptools", help="our proxy's HTTP/1 backend")
    args = parser.parse_args()
    if args.warmup >= args.duration:
        parser.error("--warmup must be shorter than --duration")
    if not os.access(WRK, os.X_OK) or not Nginx.available():
        sys.exit(f"{WRK} and nginx are needed for this benchmark")
    origin_port = free_port()
    with (
        Nginx(ORIGIN_HTTP, ports=[origin_port]) as _origin,
        tempfile.TemporaryDirectory() as tmp,
    ):
        check_get(origin_port, "/", SMALL_BODY)
        with our_proxy(origin_port, args.backend, Path(tmp)) as proxy:
            samples: list[tuple[float, int]] = []
            stop = threading.Event()
            sampler = threading.Thread(target=sample_rss, args=(proxy.pid, stop, samples))
            print(f"soak: wrk -t1 -c{args.connections} -d{args.duration}s through our proxy "
                  f"({args.backend}), RSS sampled every second", flush=True)
            sampler.start()
            try:
                result = run_wrk(proxy.port, "/", args.duration, args.connections)
            except subprocess.CalledProcessError as exc:
                sys.exit(f"wrk failed: {exc.stderr}")
            finally:
                stop.set()
                sampler.join()
        after_warmup = [kib for t, kib in samples if t >= args.warmup]
        baseline = after_warmup[0]
        final = samples[-1][1]
        peak = max(after_warmup)
        growth = (final - baseline) / baseline
        peak_growth = (peak - baseline) / baseline
        print(f"requests/s          {result.requests_per_s:,.0f}")
        print(f"wrk errors          {result.errors} (non-2xx/3xx + socket errors; target 0)")
        print(f"proxy log           {proxy.failed_requests} failed requests "
              "(wrk closing its connections at the end counts)")
        print(f"RSS start           {samples[0][1] / 1024:.1f} MiB")
        base_label = f"RSS at {args.warmup}s (base)"
        print(f"{base_label:<20}{baseline / 1024:.1f} MiB")
        print(f"RSS at end          {final / 1024:.1f} MiB   growth {growth:+.1%} "
              f"(target < {GROWTH_TARGET:.0%})")
        print(f"RSS peak after base {peak / 1024:.1f} MiB   growth {peak_growth:+.1%}")
        trace = " ".join(f"{kib / 1024:.1f}" for _, kib in samples[:: max(1, len(samples) // 12)])
        print(f"RSS trace (MiB)     {trace}")
        stats = proxy.stats
        if stats is not None:
            print(f"upstream reuse      {stats['reuse_ratio']:.2%} (created "
                  f"{stats['created']:.0f}, reused {stats['reused']:.0f})")
        ok = result.errors == 0 and growth < GROWTH_TARGET
        print("targets met" if ok else "target missed")


if __name__ == "__main__":
    main()
