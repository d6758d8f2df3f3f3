"""Benchmark `LoadBalancer.select()` for every selection algorithm, beside the floor.

Pingora has no Python reference, so the yardstick is the cheapest possible "selection": a bare
`itertools.cycle` over the same backends, one `next()` per call. For each algorithm (RoundRobin,
Random, FNVHash, Consistent, LeastConnections) and 3 and 100 backends, all healthy and with a
health check set (so every pick consults the health table), it prints select() calls per second
and the ratio to the floor measured in the same run. Keys are 16-byte strings, varied per call.

    python tools/bench/bench_load_balancing.py              # about 10 s
    python tools/bench/bench_load_balancing.py --seconds 0.3
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import platform
import sys
import time
from collections.abc import Callable

from pingora_load_balancing import (
    Backend,
    Backends,
    BackendSelection,
    Consistent,
    FNVHash,
    LeastConnections,
    LoadBalancer,
    Random,
    RoundRobin,
    Static,
    TcpHealthCheck,
)

ALGORITHMS: tuple[type[BackendSelection], ...] = (
    RoundRobin, Random, FNVHash, Consistent, LeastConnections,
)
SIZES = (3, 100)
BATCH = 20_000


def pin_to_one_core() -> str:
    """Run on a single CPU where the OS allows it; return a note saying what happened."""
    if hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    return "not pinned (no sched_setaffinity)"


def calls_per_second(batch: Callable[[], None], seconds: float) -> float:
    """Best-of-repeats calls/s of `batch`, which makes BATCH calls."""
    batch()  # warm up
    best = 0.0
    deadline = time.perf_counter() + seconds
    while True:
        start = time.perf_counter()
        batch()
        best = max(best, BATCH / (time.perf_counter() - start))
        if time.perf_counter() >= deadline:
            return best


def make_backends(n: int) -> list[Backend]:
    return [Backend(f"10.0.{i // 250}.{i % 250 + 1}:8080", weight=1 + i % 3) for i in range(n)]


def floor_batch(backends: list[Backend]) -> Callable[[], None]:
    def run() -> None:
        pick = itertools.cycle(backends).__next__
        for _ in range(BATCH):
            pick()

    return run


def select_batch(lb: LoadBalancer, keys: list[bytes]) -> Callable[[], None]:
    def run() -> None:
        select = lb.select
        for key in keys:
            select(key, 256)

    return run


def build(cls: type[BackendSelection], backends: list[Backend]) -> LoadBalancer:
    lb = LoadBalancer.from_backends(Backends(Static(backends), TcpHealthCheck()), cls)
    asyncio.run(lb.update())  # the health check is set but never run: every backend is healthy
    return lb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.6, help="time per measurement")
    args = parser.parse_args()
    note = pin_to_one_core()
    print(f"python {platform.python_version()} on {platform.machine()}, {note}")
    print(f"{BATCH} select() calls per batch, best of repeats over {args.seconds}s each\n")
    keys = [f"user-{i:011d}".encode() for i in range(BATCH)]
    print(f"{'algorithm':<18}{'backends':>9}{'select()/s':>14}{'cycle()/s':>14}{'ratio':>8}")
    for size in SIZES:
        backends = make_backends(size)
        floor = calls_per_second(floor_batch(backends), args.seconds)
        for cls in ALGORITHMS:
            lb = build(cls, backends)
            assert lb.select(keys[0], 256) is not None
            ours = calls_per_second(select_batch(lb, keys), args.seconds)
            print(f"{cls.__name__:<18}{size:>9}{ours:>14,.0f}{floor:>14,.0f}{ours / floor:>8.3f}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
