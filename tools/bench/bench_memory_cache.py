"""Benchmark TinyUfo against cachetools' LRUCache and LFUCache in one run.

Hit ratio on Zipf-distributed keys (α 0.8, 1.0, 1.2; cache at 1% and 10% of the key space), then
get/put operations per second. Prints a table and TinyUfo's ratios to the references. Times are
CPU seconds of this process (`time.process_time`), so other load on the machine skews them less.

    python tools/bench/bench_memory_cache.py                  # 10k keys, 1M requests (~30 s)
    python tools/bench/bench_memory_cache.py --keys 100000    # a larger key space
"""

from __future__ import annotations

import argparse
import itertools
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cachetools

from pingora_memory_cache import TinyUfo

ALPHAS = (0.8, 1.0, 1.2)
FRACTIONS = (0.01, 0.10)
POLICIES = ("LRU", "LFU", "TinyUfo")


@dataclass(frozen=True, slots=True, kw_only=True)
class HitRatios:
    """Hit ratios (percent) of every policy for one (α, cache size) setting."""

    alpha: float
    fraction: float
    ideal: float  # the share of requests that go to the cache-size most popular keys
    ratios: dict[str, float]
    seconds: dict[str, float]


def zipf_trace(keys: int, alpha: float, requests: int, seed: int) -> list[int]:
    """`requests` keys drawn from 0..keys-1 with P(rank r) ∝ 1 / (r + 1)^alpha."""
    weights = [1.0 / float(rank) ** alpha for rank in range(1, keys + 1)]
    cumulative = list(itertools.accumulate(weights))
    return random.Random(seed).choices(range(keys), cum_weights=cumulative, k=requests)


def ideal_ratio(keys: int, alpha: float, size: int) -> float:
    """Hit ratio (percent) of a cache that always holds exactly the `size` most popular keys."""
    weights = [1.0 / float(rank) ** alpha for rank in range(1, keys + 1)]
    return 100.0 * float(sum(weights[:size])) / float(sum(weights))


def hits_cachetools(cache: cachetools.Cache[int, bool], trace: Sequence[int]) -> int:
    get = cache.get
    hits = 0
    for key in trace:
        if get(key) is None:
            cache[key] = True
        else:
            hits += 1
    return hits


def hits_tinyufo(cache: TinyUfo[int, bool], trace: Sequence[int]) -> int:
    get = cache.get
    put = cache.put
    hits = 0
    for key in trace:
        if get(key) is None:
            put(key, True)
        else:
            hits += 1
    return hits


def measure_hit_ratios(keys: int, requests: int, seed: int) -> list[HitRatios]:
    rows: list[HitRatios] = []
    for alpha in ALPHAS:
        trace = zipf_trace(keys, alpha, requests, seed)
        for fraction in FRACTIONS:
            size = max(1, round(keys * fraction))
            ratios: dict[str, float] = {}
            seconds: dict[str, float] = {}
            for name in POLICIES:
                start = time.process_time()
                if name == "TinyUfo":
                    hits = hits_tinyufo(TinyUfo(size, size), trace)
                elif name == "LRU":
                    hits = hits_cachetools(cachetools.LRUCache(size), trace)
                else:
                    hits = hits_cachetools(cachetools.LFUCache(size), trace)
                seconds[name] = time.process_time() - start
                ratios[name] = 100.0 * hits / len(trace)
            rows.append(
                HitRatios(
                    alpha=alpha,
                    fraction=fraction,
                    ideal=ideal_ratio(keys, alpha, size),
                    ratios=ratios,
                    seconds=seconds,
                )
            )
    return rows


def ops_per_second(run: Callable[[], int], repeat: int = 5) -> float:
    """Best of `repeat` runs of `run`, which returns how many operations it did."""
    best = 0.0
    for _ in range(repeat):
        start = time.process_time()
        done = run()
        best = max(best, done / max(time.process_time() - start, 1e-9))
    return best


def _getter(get: Callable[[int], object], keys: list[int]) -> Callable[[], int]:
    def run() -> int:
        for key in keys:
            get(key)
        return len(keys)

    return run


def _putter(put: Callable[[int, int], object], first_key: int, count: int) -> Callable[[], int]:
    fresh = itertools.count(first_key)

    def run() -> int:
        for key in itertools.islice(fresh, count):
            put(key, key)
        return count

    return run


def measure_ops(size: int) -> dict[str, dict[str, float]]:
    """get (all hits) and put (all new keys, so each put evicts) per second, per policy."""
    keys = list(range(size))
    random.Random(7).shuffle(keys)
    lru: cachetools.LRUCache[int, int] = cachetools.LRUCache(size)
    lfu: cachetools.LFUCache[int, int] = cachetools.LFUCache(size)
    ufo: TinyUfo[int, int] = TinyUfo(size, size)
    for key in keys:
        lru[key] = lfu[key] = key
        ufo.force_put(key, key)
    puts: dict[str, Callable[[int, int], object]] = {
        "LRU": lru.__setitem__,
        "LFU": lfu.__setitem__,
        "TinyUfo": ufo.put,
    }
    gets: dict[str, Callable[[int], object]] = {"LRU": lru.get, "LFU": lfu.get, "TinyUfo": ufo.get}
    return {
        name: {
            "get": ops_per_second(_getter(gets[name], keys)),
            "put": ops_per_second(_putter(puts[name], size, size)),
        }
        for name in POLICIES
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--keys", type=int, default=10_000, help="key space size")
    parser.add_argument("--requests", type=int, default=1_000_000, help="requests per α")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--ops-size", type=int, default=10_000, help="cache size for ops/s")
    args = parser.parse_args(argv)

    began = time.perf_counter()
    print(
        f"hit ratio: {args.keys:,} keys, {args.requests:,} Zipf requests per α (seed {args.seed})"
    )
    print(
        f"{'alpha':>5} {'cache':>6} {'ideal':>7} {'LRU':>7} {'LFU':>7} {'TinyUfo':>8}"
        f" {'vs LRU':>8} {'vs LFU':>8}"
    )
    rows = measure_hit_ratios(args.keys, args.requests, args.seed)
    for row in rows:
        r = row.ratios
        print(
            f"{row.alpha:>5.1f} {row.fraction:>6.0%} {row.ideal:>6.2f}% {r['LRU']:>6.2f}%"
            f" {r['LFU']:>6.2f}% {r['TinyUfo']:>7.2f}% {r['TinyUfo'] - r['LRU']:>+7.2f}p"
            f" {r['TinyUfo'] - r['LFU']:>+7.2f}p"
        )
    gains = [row.ratios["TinyUfo"] - row.ratios["LRU"] for row in rows]
    average, worst = sum(gains) / len(gains), min(gains)
    print(
        f"TinyUfo - LRU: average {average:+.2f} points (target >= +5), "
        f"worst {worst:+.2f} (target >= +2) -> {'PASS' if average >= 5 and worst >= 2 else 'FAIL'}"
    )
    spent = {name: sum(row.seconds[name] for row in rows) for name in POLICIES}
    print("replay CPU time: " + ", ".join(f"{name} {spent[name]:.1f} s" for name in POLICIES))

    ops = measure_ops(args.ops_size)
    print(f"\nops/s (cache of {args.ops_size:,}; get = hits, put = new keys that evict)")
    print(f"{'':>8} {'LRU':>12} {'LFU':>12} {'TinyUfo':>12} {'TinyUfo/LRU':>12}")
    for op in ("get", "put"):
        lru, lfu, ufo = (ops[name][op] for name in POLICIES)
        print(f"{op:>8} {lru:>12,.0f} {lfu:>12,.0f} {ufo:>12,.0f} {ufo / lru:>11.2f}x")
    get_ratio = ops["TinyUfo"]["get"] / ops["LRU"]["get"]
    print(f"TinyUfo get / LRU get = {get_ratio:.2f}x (target >= 0.5) -> "
          f"{'PASS' if get_ratio >= 0.5 else 'FAIL'}")
    print(f"total {time.perf_counter() - began:.1f} s wall")


if __name__ == "__main__":
    main()
