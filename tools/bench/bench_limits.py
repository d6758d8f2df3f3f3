"""Benchmark pingora_limits against the naive exact counter, side by side in one run.

Measures calls per second on one core for ``Rate.observe``, ``Estimator.incr`` and an
``Inflight`` incr + release, each next to a plain ``collections.Counter`` doing the same
bookkeeping (``counter[key] += n; return counter[key]``), and prints the ratios. A last section
times the two ways considered for hashing a key (the built-in seeded ``hash`` that the package
uses, and a deterministic keyed BLAKE2b) to show what determinism would cost.

    python tools/bench/bench_limits.py            # about 15 s
    python tools/bench/bench_limits.py --seconds 0.5 --keys 1000
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import secrets
import sys
import time
from collections import Counter
from collections.abc import Callable

from pingora_limits import Estimator, Inflight, Rate

RATE_TARGET = 300_000  # Rate.observe calls per second the project asks for


def pin_to_one_core() -> str:
    """Run on a single CPU where the OS allows it; return a note saying what happened."""
    if hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    return "not pinned (no sched_setaffinity)"


def calls_per_second(body: Callable[[list[str]], None], keys: list[str], seconds: float) -> float:
    """Best-of-repeats calls/s of ``body``, which makes one call per key in ``keys``."""
    body(keys)  # warm up
    best = 0.0
    deadline = time.perf_counter() + seconds
    while True:
        start = time.perf_counter()
        body(keys)
        elapsed = time.perf_counter() - start
        best = max(best, len(keys) / elapsed)
        if time.perf_counter() >= deadline:
            return best


def rate_observe(keys: list[str]) -> None:
    observe = Rate(60.0).observe
    for key in keys:
        observe(key, 1)


def estimator_incr(keys: list[str]) -> None:
    incr = Estimator(4, 1024).incr
    for key in keys:
        incr(key, 1)


def inflight_incr_release(keys: list[str]) -> None:
    incr = Inflight().incr
    for key in keys:
        guard, _count = incr(key, 1)
        guard.release()


def counter_incr(keys: list[str]) -> None:
    counter: Counter[str] = Counter()

    def incr(key: str, n: int) -> int:
        counter[key] += n
        return counter[key]

    for key in keys:
        incr(key, 1)


def counter_incr_decr(keys: list[str]) -> None:
    counter: Counter[str] = Counter()

    def incr(key: str, n: int) -> int:
        counter[key] += n
        return counter[key]

    def decr(key: str, n: int) -> None:
        counter[key] -= n

    for key in keys:
        incr(key, 1)
        decr(key, 1)


def builtin_seeded_hash(keys: list[str]) -> None:
    seed = secrets.randbits(64)
    for key in keys:
        hash((seed, key))


def blake2b_keyed_hash(keys: list[str]) -> None:
    secret = secrets.token_bytes(16)
    for key in keys:
        digest = hashlib.blake2b(key.encode(), digest_size=8, key=secret).digest()
        int.from_bytes(digest, "little")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    parser.add_argument("--keys", type=int, default=10_000, help="distinct keys, cycled")
    parser.add_argument("--calls", type=int, default=100_000, help="calls per timed pass")
    args = parser.parse_args()

    pinned = pin_to_one_core()
    distinct = [f"client-{i:06d}" for i in range(args.keys)]
    keys = [distinct[i % args.keys] for i in range(args.calls)]
    print(f"pingora_limits benchmark: Python {platform.python_version()}, {pinned}, "
          f"{args.keys} distinct keys, {args.calls} calls per pass, best of {args.seconds}s")
    print()
    print(f"{'operation':<34}{'ours calls/s':>14}{'Counter calls/s':>17}{'ours/Counter':>14}")
    rows = [
        ("Rate.observe (4x1024 x2)", rate_observe, counter_incr),
        ("Estimator.incr (4x1024)", estimator_incr, counter_incr),
        ("Inflight.incr + guard.release", inflight_incr_release, counter_incr_decr),
    ]
    observe_rate = 0.0
    for name, ours, reference in rows:
        ours_cps = calls_per_second(ours, keys, args.seconds)
        ref_cps = calls_per_second(reference, keys, args.seconds)
        if ours is rate_observe:
            observe_rate = ours_cps
        print(f"{name:<34}{ours_cps:>14,.0f}{ref_cps:>17,.0f}{ours_cps / ref_cps:>14.2f}")
    print()
    verdict = "met" if observe_rate >= RATE_TARGET else "NOT met"
    print(f"Rate.observe target >= {RATE_TARGET:,} calls/s: {verdict} ({observe_rate:,.0f})")
    print()
    builtin = calls_per_second(builtin_seeded_hash, keys, args.seconds / 2)
    blake = calls_per_second(blake2b_keyed_hash, keys, args.seconds / 2)
    print("hashing a key (the package uses the first):")
    print(f"  hash((seed, key))            {1e9 / builtin:7.0f} ns")
    print(f"  keyed blake2b, 8-byte digest {1e9 / blake:7.0f} ns  "
          f"({blake / builtin:.2f}x the calls/s of the built-in hash)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
