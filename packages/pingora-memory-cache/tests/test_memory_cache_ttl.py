"""MemoryCache (TTL on top of TinyUfo) and CacheStatus: Pingora's cases on a manual clock."""

from __future__ import annotations

import dataclasses
import math

import pytest

from pingora_memory_cache import CacheStatus, MemoryCache


class ManualClock:
    """Monotonic seconds that move only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def test_get_miss() -> None:
    cache: MemoryCache[int, None] = MemoryCache(10)
    assert cache.get(1) == (None, CacheStatus.MISS)


def test_put_get() -> None:
    cache: MemoryCache[int, int] = MemoryCache(10)
    assert cache.get(1) == (None, CacheStatus.MISS)
    cache.put(1, 2)
    assert cache.get(1) == (2, CacheStatus.HIT)


def test_none_is_a_cacheable_value() -> None:
    cache: MemoryCache[int, None] = MemoryCache(10)
    cache.put(1, None)
    assert cache.get(1) == (None, CacheStatus.HIT)


def test_put_get_remove() -> None:
    cache: MemoryCache[int, int] = MemoryCache(10)
    cache.put(1, 2)
    cache.put(3, 4)
    cache.put(5, 6)
    assert cache.get(1) == (2, CacheStatus.HIT)
    cache.remove(1)
    cache.remove(3)
    cache.remove(99)
    assert cache.get(1) == (None, CacheStatus.MISS)
    assert cache.get(3) == (None, CacheStatus.MISS)
    assert cache.get(5) == (6, CacheStatus.HIT)
    assert len(cache) == 1


def test_get_expired() -> None:
    clock = ManualClock()
    cache: MemoryCache[int, int] = MemoryCache(10, clock=clock)
    cache.put(1, 2, ttl=1)
    clock.advance(0.999)
    assert cache.get(1) == (2, CacheStatus.HIT)
    clock.advance(0.001)  # expiry is inclusive: at exactly the deadline it is expired
    assert cache.get(1) == (None, CacheStatus.EXPIRED)
    clock.advance(0.1)
    assert cache.get(1) == (None, CacheStatus.EXPIRED)


def test_get_stale() -> None:
    clock = ManualClock()
    cache: MemoryCache[int, int] = MemoryCache(10, clock=clock)
    cache.put(1, 2, ttl=1)
    assert cache.get_stale(1) == (2, CacheStatus.HIT)
    clock.advance(1.1)
    value, status = cache.get_stale(1)
    assert value == 2
    assert status.is_stale
    assert status.stale_for == pytest.approx(0.1)
    assert cache.get_stale(7) == (None, CacheStatus.MISS)


def test_no_ttl_never_expires() -> None:
    clock = ManualClock()
    cache: MemoryCache[str, str] = MemoryCache(10, clock=clock)
    cache.put("k", "v")
    clock.advance(1e9)
    assert cache.get("k") == ("v", CacheStatus.HIT)
    assert cache.get_stale("k") == ("v", CacheStatus.HIT)


def test_zero_ttl_is_not_stored() -> None:
    cache: MemoryCache[int, int] = MemoryCache(10)
    cache.put(1, 2, ttl=0)
    cache.force_put(2, 3, ttl=0.0)
    assert cache.get(1) == (None, CacheStatus.MISS)
    assert cache.get(2) == (None, CacheStatus.MISS)
    assert len(cache) == 0


def test_put_refreshes_the_ttl() -> None:
    clock = ManualClock()
    cache: MemoryCache[int, int] = MemoryCache(10, clock=clock)
    cache.put(1, 1, ttl=1)
    clock.advance(2)
    cache.put(1, 2, ttl=1)
    assert cache.get(1) == (2, CacheStatus.HIT)


@pytest.mark.parametrize("bad", [-1, -0.5, math.nan, "1", True])
def test_bad_ttl(bad: object) -> None:
    cache: MemoryCache[int, int] = MemoryCache(10)
    with pytest.raises(ValueError, match="ttl"):
        cache.put(1, 1, ttl=bad)  # type: ignore[arg-type]


def test_bad_size_and_clock() -> None:
    with pytest.raises(ValueError, match="positive"):
        MemoryCache(0)
    with pytest.raises(TypeError, match="clock"):
        MemoryCache(10, clock=5)  # type: ignore[arg-type]


def test_eviction() -> None:
    cache: MemoryCache[int, int] = MemoryCache(2)
    cache.force_put(1, 2)
    cache.force_put(2, 4)
    cache.force_put(3, 6)
    assert cache.get(1) == (None, CacheStatus.MISS)
    assert cache.get(2) == (4, CacheStatus.HIT)
    assert cache.get(3) == (6, CacheStatus.HIT)


def test_multi_get() -> None:
    clock = ManualClock()
    cache: MemoryCache[int, int] = MemoryCache(10, clock=clock)
    cache.put(2, -2)
    cache.put(4, -4, ttl=1)
    clock.advance(2)
    assert cache.multi_get([1, 2, 3]) == [
        (None, CacheStatus.MISS),
        (-2, CacheStatus.HIT),
        (None, CacheStatus.MISS),
    ]
    results, missed = cache.multi_get_with_miss(iter([1, 2, 3, 4]))
    assert results == [
        (None, CacheStatus.MISS),
        (-2, CacheStatus.HIT),
        (None, CacheStatus.MISS),
        (None, CacheStatus.EXPIRED),
    ]
    assert missed == [1, 3, 4]


def test_string_keys() -> None:
    cache: MemoryCache[str, int] = MemoryCache(10)
    assert cache.get("Hello") == (None, CacheStatus.MISS)
    cache.put("1", 2)
    assert cache.get("1") == (2, CacheStatus.HIT)
    assert repr(cache) == "MemoryCache(size=10, len=1)"
    assert cache.size == 10


def test_cache_status() -> None:
    assert CacheStatus.HIT.as_str() == "hit"
    assert CacheStatus.LOCK_HIT.as_str() == "lock_hit"
    assert [s.is_hit for s in (CacheStatus.HIT, CacheStatus.LOCK_HIT, CacheStatus.stale(1))] == [
        True,
        True,
        True,
    ]
    assert not CacheStatus.MISS.is_hit
    assert not CacheStatus.EXPIRED.is_hit
    assert CacheStatus.stale(1.5) == CacheStatus.stale(1.5)
    assert CacheStatus.stale(1.5) != CacheStatus.stale(2)
    assert CacheStatus.stale(1.5).stale_for == 1.5
    assert CacheStatus.stale(0).as_str() == "stale"
    assert CacheStatus.HIT.stale_for is None
    assert CacheStatus(name="hit") == CacheStatus.HIT
    assert repr(CacheStatus.MISS) == "CacheStatus.MISS"
    assert repr(CacheStatus.stale(2.0)) == "CacheStatus.stale(2.0)"
    assert len({CacheStatus.HIT, CacheStatus(name="hit"), CacheStatus.MISS}) == 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        CacheStatus.HIT.name = "miss"  # type: ignore[misc]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"name": "bogus"},
        {"name": "stale"},
        {"name": "stale", "stale_for": -1.0},
        {"name": "stale", "stale_for": math.inf},
        {"name": "hit", "stale_for": 1.0},
    ],
)
def test_cache_status_rejects_bad_values(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"status|stale_for"):
        CacheStatus(**kwargs)  # type: ignore[arg-type]
