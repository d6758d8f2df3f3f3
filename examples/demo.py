"""The workspace's main job until the proxy lands: a short tour of the algorithm packages.

It routes keys over a consistent-hash ring, rate-limits a burst of requests, coalesces concurrent
cache misses into one lookup, and bounds a slow call with a cheap timeout.

    python3 tools/dev.py run
"""

from __future__ import annotations

import asyncio
from collections import Counter
from itertools import islice

from pingora.ketama import Bucket, Continuum
from pingora.limits import Rate
from pingora.memory_cache import CacheStatus, RTCache
from pingora.timeout import Elapsed, timeout

UPSTREAMS = [Bucket("127.0.0.1:8001", 1), Bucket("127.0.0.1:8002", 2), Bucket("127.0.0.1:8003", 1)]
RATE_LIMIT_PER_WINDOW = 3


def show_ring() -> None:
    ring = Continuum(UPSTREAMS)
    print("ketama: which upstream serves which path (weights 1, 2, 1)")
    for path in (b"/", b"/users/42", b"/static/app.js", b"/api/orders"):
        failover = list(dict.fromkeys(islice(ring.node_iter(path), 50)))
        print(f"  {path.decode():16} -> {ring.node(path)}   failover order {failover}")


def show_rate_limit() -> None:
    now = 0.0
    rate = Rate(1.0, clock=lambda: now)
    print(f"limits: at most {RATE_LIMIT_PER_WINDOW} requests per client per second")
    for second, burst in ((0.0, 5), (1.0, 2)):
        now = second
        answers = []
        for _ in range(burst):
            seen = rate.observe("client-a")
            answers.append("200" if seen <= RATE_LIMIT_PER_WINDOW else "429")
        print(f"  t={second:.0f}s burst of {burst}: {' '.join(answers)}"
              f"   (last window's rate: {rate.rate('client-a'):.0f}/s)")


async def show_read_through() -> None:
    lookups = 0

    async def lookup(key: str, extra: None) -> tuple[str, float | None]:
        nonlocal lookups
        lookups += 1
        await asyncio.sleep(0.01)  # a slow origin
        return f"profile of {key}", 60.0

    cache: RTCache[str, str, None] = RTCache(100, lookup)
    results = await asyncio.gather(*(cache.get("user-7") for _ in range(10)))
    statuses = dict(Counter(str(status).removeprefix("CacheStatus.") for _, status in results))
    print("memory-cache: 10 concurrent misses for one key")
    print(f"  origin lookups: {lookups}; statuses: {statuses}")
    value, status = await cache.get("user-7")
    assert status == CacheStatus.HIT
    print(f"  then: {value!r} served as {status}")


async def show_timeout() -> None:
    async def slow() -> str:
        await asyncio.sleep(1)
        return "too late"

    print("timeout: a 50 ms deadline on a 1 s call")
    try:
        await timeout(0.05, slow())
    except Elapsed as exc:
        print(f"  gave up: {exc!r}")


def main() -> None:
    show_ring()
    show_rate_limit()
    asyncio.run(show_read_through())
    asyncio.run(show_timeout())
    print("ok")


if __name__ == "__main__":
    main()
