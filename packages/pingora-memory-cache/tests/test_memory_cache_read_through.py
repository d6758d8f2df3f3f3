"""RTCache: Pingora's read-through cases (coalescing, lock age and timeout, errors, stale)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import anyio
import pytest
from anyio import wait_all_tasks_blocked

from pingora_memory_cache import CacheLookupError, CacheStatus, RTCache

pytestmark = pytest.mark.anyio


class ManualClock:
    """Monotonic seconds that move only when told to."""

    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Source:
    """A lookup answering with how many times it was called; it can hold its first call."""

    def __init__(
        self, *, fail: bool = False, hold_first: bool = False, ttl: float | None = None
    ) -> None:
        self.calls = 0
        self.fail = fail
        self.hold_first = hold_first
        self.ttl = ttl
        self.entered = anyio.Event()
        self.release = anyio.Event()
        self.extras: list[object] = []

    async def __call__(self, key: int, extra: object) -> tuple[int, float | None]:
        self.calls += 1
        call = self.calls
        self.extras.append(extra)
        if self.hold_first and call == 1:
            self.entered.set()
            await self.release.wait()
        if self.fail:
            raise RuntimeError("test error")
        return call, self.ttl


async def test_basic_get() -> None:
    source = Source()
    cache: RTCache[int, int, str] = RTCache(10, source)
    assert await cache.get(1, extra="x") == (1, CacheStatus.MISS)
    assert await cache.get(1) == (1, CacheStatus.HIT)
    assert source.calls == 1
    assert source.extras == ["x"]


async def test_basic_get_error() -> None:
    cache: RTCache[int, int, None] = RTCache(10, Source(fail=True))
    with pytest.raises(CacheLookupError) as caught:
        await cache.get(-1)
    assert caught.value.status == CacheStatus.MISS
    assert isinstance(caught.value.__cause__, RuntimeError)
    assert cache.memory_cache.get(-1) == (None, CacheStatus.MISS)


async def test_concurrent_get_runs_one_lookup() -> None:
    source = Source(hold_first=True)
    cache: RTCache[int, int, None] = RTCache(10, source)
    results: list[tuple[int, CacheStatus]] = []

    async def get() -> None:
        results.append(await cache.get(1))

    async with anyio.create_task_group() as group:
        for _ in range(3):
            group.start_soon(get)
        await wait_all_tasks_blocked()
        assert source.calls == 1
        source.release.set()
    assert source.calls == 1
    assert sorted(r[0] for r in results) == [1, 1, 1]
    assert sorted(r[1].name for r in results) == ["lock_hit", "lock_hit", "miss"]
    assert await cache.get(1) == (1, CacheStatus.HIT)


async def test_concurrent_get_error_reaches_every_waiter() -> None:
    source = Source(fail=True, hold_first=True)
    cache: RTCache[int, int, None] = RTCache(10, source)
    errors: list[CacheLookupError] = []

    async def get() -> None:
        try:
            await cache.get(-1)
        except CacheLookupError as exc:
            errors.append(exc)

    async with anyio.create_task_group() as group:
        for _ in range(3):
            group.start_soon(get)
        await wait_all_tasks_blocked()
        source.release.set()
    assert len(errors) == 3
    assert source.calls == 1  # the waiters share the writer's failure
    assert all(isinstance(e.__cause__, RuntimeError) for e in errors)
    assert cache.memory_cache.get(-1) == (None, CacheStatus.MISS)
    assert "locks=0" in repr(cache)


async def test_concurrent_get_different_keys() -> None:
    source = Source()
    cache: RTCache[int, int, None] = RTCache(10, source)
    results: list[int] = []

    async def get(key: int) -> None:
        results.append((await cache.get(key))[0])

    async with anyio.create_task_group() as group:
        for key in (1, 3, 5):
            group.start_soon(get, key)
    assert sum(results) == 1 + 2 + 3


async def test_lock_age() -> None:
    clock = ManualClock()
    source = Source(hold_first=True)
    cache: RTCache[int, int, None] = RTCache(10, source, lock_age=1, clock=clock)
    results: list[tuple[int, CacheStatus]] = []

    async def get() -> None:
        results.append(await cache.get(1))

    async with anyio.create_task_group() as group:
        group.start_soon(get)
        await source.entered.wait()
        clock.advance(1.5)  # the writer's lock is now too old to wait on
        async with anyio.create_task_group() as late:
            late.start_soon(get)
            late.start_soon(get)
        assert sorted(results) == [(2, CacheStatus.MISS), (3, CacheStatus.MISS)]
        source.release.set()
    assert sum(r[0] for r in results) == 1 + 2 + 3
    assert await cache.get(1) == (1, CacheStatus.HIT)  # only the lock owner caches


async def test_young_lock_is_waited_on() -> None:
    clock = ManualClock()
    source = Source(hold_first=True)
    cache: RTCache[int, int, None] = RTCache(10, source, lock_age=1, clock=clock)
    results: list[tuple[int, CacheStatus]] = []

    async def get() -> None:
        results.append(await cache.get(1))

    async with anyio.create_task_group() as group:
        group.start_soon(get)
        await source.entered.wait()
        clock.advance(0.5)
        group.start_soon(get)
        await wait_all_tasks_blocked()
        source.release.set()
    assert sorted(results, key=lambda r: r[1].name) == [
        (1, CacheStatus.LOCK_HIT),
        (1, CacheStatus.MISS),
    ]
    assert source.calls == 1


async def test_lock_timeout() -> None:
    source = Source(hold_first=True)
    cache: RTCache[int, int, None] = RTCache(10, source, lock_timeout=0.05)
    results: list[tuple[int, CacheStatus]] = []

    async def get() -> None:
        results.append(await cache.get(1))

    async with anyio.create_task_group() as group:
        group.start_soon(get)
        await source.entered.wait()
        # the writer is held until both waiters have given up and looked up themselves
        async with anyio.create_task_group() as waiters:
            waiters.start_soon(get)
            waiters.start_soon(get)
        assert sorted(results) == [(2, CacheStatus.MISS), (3, CacheStatus.MISS)]
        source.release.set()
    assert sum(r[0] for r in results) == 1 + 2 + 3
    assert await cache.get(1) == (1, CacheStatus.HIT)


async def test_cancelled_writer_releases_the_lock() -> None:
    source = Source(hold_first=True)
    cache: RTCache[int, int, None] = RTCache(10, source)
    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as group:
            group.start_soon(cache.get, 1)
            await source.entered.wait()
            scope.cancel()
    assert "locks=0" in repr(cache)
    with anyio.fail_after(5):
        assert await cache.get(1) == (2, CacheStatus.MISS)
    assert source.calls == 2


async def test_waiter_looks_up_itself_when_the_writer_is_cancelled() -> None:
    source = Source(hold_first=True)
    cache: RTCache[int, int, None] = RTCache(10, source)
    results: list[tuple[int, CacheStatus]] = []

    async def wait_for_value() -> None:
        results.append(await cache.get(1))

    async with anyio.create_task_group() as outer:
        with anyio.CancelScope() as writer_scope:
            async with anyio.create_task_group() as writer:
                writer.start_soon(cache.get, 1)
                await source.entered.wait()
                outer.start_soon(wait_for_value)
                await wait_all_tasks_blocked()
                writer_scope.cancel()
    assert results == [(2, CacheStatus.MISS)]
    assert await cache.get(1) == (2, CacheStatus.HIT)


async def test_lookup_ttl_wins_over_the_default() -> None:
    clock = ManualClock()
    source = Source(ttl=5)
    cache: RTCache[int, int, None] = RTCache(10, source, clock=clock)
    await cache.get(1, ttl=1)
    clock.advance(2)
    assert await cache.get(1, ttl=1) == (1, CacheStatus.HIT)
    clock.advance(3)
    assert await cache.get(1, ttl=1) == (2, CacheStatus.EXPIRED)

    plain = Source()
    cache2: RTCache[int, int, None] = RTCache(10, plain, clock=clock)
    await cache2.get(1, ttl=1)
    clock.advance(1)
    assert await cache2.get(1, ttl=1) == (2, CacheStatus.EXPIRED)


async def test_bad_lookup_results_are_lookup_errors() -> None:
    async def not_a_pair(key: int, extra: object) -> tuple[int, float | None]:
        return 7  # type: ignore[return-value]

    async def negative_ttl(key: int, extra: object) -> tuple[int, float | None]:
        return 7, -1

    for lookup, cause in ((not_a_pair, TypeError), (negative_ttl, ValueError)):
        cache: RTCache[int, int, None] = RTCache(10, lookup)
        with pytest.raises(CacheLookupError) as caught:
            await cache.get(1)
        assert isinstance(caught.value.__cause__, cause)
        assert len(cache.memory_cache) == 0


async def test_constructor_and_argument_errors() -> None:
    with pytest.raises(TypeError, match="lookup"):
        RTCache(10, 5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="multi_lookup"):
        RTCache(10, Source(), multi_lookup=5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="lock_age"):
        RTCache(10, Source(), lock_age=-1)
    with pytest.raises(ValueError, match="lock_timeout"):
        RTCache(10, Source(), lock_timeout=float("nan"))
    cache: RTCache[int, int, None] = RTCache(10, Source())
    with pytest.raises(ValueError, match="ttl"):
        await cache.get(1, ttl=-3)
    with pytest.raises(ValueError, match="stale_ttl"):
        await cache.get_stale(1, stale_ttl=-3)


async def multi_source(keys: Sequence[int], extra: object) -> list[tuple[int, float | None]]:
    if extra == "empty":
        return []
    return [(key, None) for key in keys]


async def test_multi_get() -> None:
    source = Source()
    cache: RTCache[int, int, str] = RTCache(10, source, multi_lookup=multi_source)
    assert await cache.get(1) == (1, CacheStatus.MISS)
    assert await cache.get(1) == (1, CacheStatus.HIT)
    assert await cache.multi_get([1, 2, 3]) == [
        (1, CacheStatus.HIT),
        (2, CacheStatus.MISS),
        (3, CacheStatus.MISS),
    ]
    assert await cache.multi_get(iter([1, 2, 3])) == [
        (1, CacheStatus.HIT),
        (2, CacheStatus.HIT),
        (3, CacheStatus.HIT),
    ]


async def test_multi_get_with_inconsistent_results_caches_nothing() -> None:
    cache: RTCache[int, int, str] = RTCache(10, Source(), multi_lookup=multi_source)
    with pytest.raises(CacheLookupError) as caught:
        await cache.multi_get([4, 5, 6], extra="empty")
    assert isinstance(caught.value.__cause__, ValueError)
    assert "0 results for 3 keys" in str(caught.value.__cause__)
    assert len(cache.memory_cache) == 0


async def test_multi_get_without_multi_lookup_uses_lookup_per_key() -> None:
    seen: list[int] = []

    async def lookup(key: int, extra: object) -> tuple[int, float | None]:
        seen.append(key)
        return key * 10, None

    cache: RTCache[int, int, None] = RTCache(10, lookup)
    await cache.get(2)
    assert await cache.multi_get([1, 2, 3]) == [
        (10, CacheStatus.MISS),
        (20, CacheStatus.HIT),
        (30, CacheStatus.MISS),
    ]
    assert sorted(seen) == [1, 2, 3]


async def test_multi_get_failure_caches_nothing() -> None:
    async def lookup(key: int, extra: object) -> tuple[int, float | None]:
        if key == 2:
            raise KeyError(key)
        return key, None

    cache: RTCache[int, int, None] = RTCache(10, lookup)
    with pytest.raises(CacheLookupError) as caught:
        await cache.multi_get([1, 2, 3])
    assert isinstance(caught.value.__cause__, KeyError)
    assert len(cache.memory_cache) == 0


async def test_get_stale() -> None:
    clock = ManualClock()
    cache: RTCache[int, int, None] = RTCache(10, Source(), clock=clock)
    assert await cache.get(1, ttl=0.1) == (1, CacheStatus.MISS)
    assert await cache.get(1, ttl=0.1) == (1, CacheStatus.HIT)
    clock.advance(0.15)
    value, status = await cache.get_stale(1, 0.1, stale_ttl=1)
    assert value == 1
    assert status.stale_for == pytest.approx(0.05)
    assert await cache.get_stale(1, 0.1, stale_ttl=0.03) == (2, CacheStatus.EXPIRED)
    assert await cache.get_stale(1, 0.1, stale_ttl=0.03) == (2, CacheStatus.HIT)


async def test_get_stale_while_update() -> None:
    clock = ManualClock()
    source = Source()
    async with RTCache(10, source, clock=clock) as cache:
        assert await cache.get(1, ttl=0.1) == (1, CacheStatus.MISS)
        assert await cache.get(1, ttl=0.1) == (1, CacheStatus.HIT)
        clock.advance(0.15)
        value, status = await cache.get_stale_while_update(1, 0.1, stale_ttl=1)
        assert value == 1
        assert status.is_stale
        await cache.wait_refreshes()
        assert await cache.get(1, ttl=0.1) == (2, CacheStatus.HIT)
        assert source.calls == 2


async def test_one_refresh_per_key_and_aclose_cancels_it() -> None:
    clock = ManualClock()
    source = Source()
    cache: RTCache[int, int, None] = RTCache(10, source, clock=clock)
    await cache.get(1, ttl=1)
    clock.advance(2)
    source.hold_first = True
    source.calls = 0
    for _ in range(3):
        value, status = await cache.get_stale_while_update(1, stale_ttl=10)
        assert (value, status.is_stale) == (1, True)
    await source.entered.wait()
    assert source.calls == 1
    assert "refreshes=1" in repr(cache)
    await cache.aclose()
    assert "refreshes=0" in repr(cache)
    assert "locks=0" in repr(cache)
    with pytest.raises(RuntimeError, match="closed"):
        await cache.get_stale_while_update(1, stale_ttl=10)
    assert (await cache.get_stale(1, stale_ttl=10))[1].is_stale  # nothing was refreshed


async def test_failed_refresh_is_logged_and_stale_value_kept(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = ManualClock()
    source = Source()
    cache: RTCache[int, int, None] = RTCache(10, source, clock=clock)
    await cache.get(1, ttl=1)
    clock.advance(2)
    source.fail = True
    with caplog.at_level(logging.WARNING, logger="pingora_memory_cache"):
        await cache.get_stale_while_update(1, stale_ttl=10)
        await cache.wait_refreshes()
    assert "background refresh of 1 failed" in caplog.text
    value, status = await cache.get_stale(1, stale_ttl=10)
    assert (value, status.is_stale) == (1, True)
    await cache.aclose()


def test_works_under_plain_asyncio() -> None:
    async def main() -> list[tuple[int, CacheStatus]]:
        clock = ManualClock()
        source = Source(hold_first=True)
        cache: RTCache[int, int, None] = RTCache(10, source, lock_timeout=30, clock=clock)
        tasks = [asyncio.create_task(cache.get(7, ttl=1)) for _ in range(3)]
        await source.entered.wait()
        await wait_all_tasks_blocked()
        source.release.set()
        results = list(await asyncio.gather(*tasks))
        clock.advance(5)
        stale = await cache.get_stale_while_update(7, ttl=1, stale_ttl=10)
        assert stale[1].is_stale
        await cache.wait_refreshes()
        results.append(await cache.get(7))
        await cache.aclose()
        return results

    results = asyncio.run(main())
    assert sorted(r[1].name for r in results[:3]) == ["lock_hit", "lock_hit", "miss"]
    assert results[3] == (2, CacheStatus.HIT)
