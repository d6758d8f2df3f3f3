"""TinyUfo: Pingora's eviction and admission cases, the mapping API, and cachetools use."""

from __future__ import annotations

import threading
from collections.abc import MutableMapping

import cachetools
import cachetools.keys
import pytest

from pingora_memory_cache import KV, TinyUfo


def filled() -> TinyUfo[int, int]:
    """Pingora's fixture: limit 5, keys 1, 2, 3 with weights 1, 2, 2 (full)."""
    cache: TinyUfo[int, int] = TinyUfo(5, 5)
    assert cache.put(1, 1, 1) == []
    assert cache.put(2, 2, 2) == []
    assert cache.put(3, 3, 2) == []
    assert cache.currsize == 5
    for key in (1, 2, 3):
        assert cache.queue_of(key) == "small"
    return cache


def test_uses_are_capped_at_three() -> None:
    cache = filled()
    for _ in range(10):
        cache.get(1)
    # three uses buy three second chances in main, then it goes like the others
    evicted = cache.put(4, 4, 1)
    assert [kv.key for kv in evicted] == [2]
    assert cache.queue_of(1) == "main"
    assert cache._map[1].uses == 3


def test_evict_from_small() -> None:
    cache = filled()
    evicted = cache.put(4, 4, 3)
    assert [kv.value for kv in evicted] == [1, 2]
    assert cache.queue_of(1) is None
    assert cache.queue_of(2) is None
    assert cache.queue_of(3) == "small"
    assert cache.queue_of(4) == "small"


def test_evict_from_small_to_main() -> None:
    cache = filled()
    cache.get(1)
    cache.get(1)  # read twice: promoted to main at the next eviction
    for key in (1, 2, 3):
        assert cache.queue_of(key) == "small"
    evicted = cache.put(4, 4, 2)
    assert len(evicted) == 1
    assert evicted[0].weight == 2
    assert cache.queue_of(1) == "main"
    assert cache.queue_of(evicted[0].key) is None
    for key in {2, 3, 4} - {evicted[0].key}:
        assert cache.queue_of(key) == "small"


def test_evict_reentry() -> None:
    cache = filled()
    evicted = cache.put(4, 4, 1)
    assert evicted == [KV(1, 1, 1)]
    assert [cache.queue_of(k) for k in (1, 2, 3, 4)] == [None, "small", "small", "small"]
    evicted = cache.put(1, 1, 1)
    assert evicted == [KV(2, 2, 2)]
    assert [cache.queue_of(k) for k in (1, 2, 3, 4)] == ["small", None, "small", "small"]


def test_evict_entry_denied() -> None:
    cache = filled()
    # putting again bumps their estimated frequency
    cache.put(1, 1, 1)
    cache.put(2, 2, 2)
    cache.put(3, 3, 2)
    evicted = cache.put(4, 4, 1)
    assert evicted == [KV(4, 4, 1)]  # the newcomer is refused and returned
    assert [cache.queue_of(k) for k in (1, 2, 3, 4)] == ["small", "small", "small", None]
    assert cache.get(4) is None
    assert cache.currsize == 5


def test_force_put_skips_admission() -> None:
    cache = filled()
    cache.put(1, 1, 1)
    cache.put(2, 2, 2)
    cache.put(3, 3, 2)
    evicted = cache.force_put(4, 4, 1)
    assert evicted == [KV(1, 1, 1)]
    assert [cache.queue_of(k) for k in (1, 2, 3, 4)] == [None, "small", "small", "small"]
    assert cache.get(4) == 4


def test_evict_from_main() -> None:
    cache = filled()
    for key in (1, 1, 2, 2, 3, 3):  # all three qualify for main
        cache.get(key)
    evicted = cache.put(4, 4, 1)
    assert evicted == [KV(1, 1, 1)]  # every entry spent its uses; 1 was first in main
    assert [cache.queue_of(k) for k in (1, 2, 3, 4)] == [None, "main", "main", "small"]
    evicted = cache.put(1, 1, 1)
    assert evicted == [KV(4, 4, 1)]
    assert [cache.queue_of(k) for k in (1, 2, 3, 4)] == ["small", "main", "main", None]


def test_remove() -> None:
    cache = filled()
    assert cache.remove(1) == 1
    assert cache.remove(3) == 3
    assert cache.remove(3) is None
    assert cache.remove(3, "gone") == "gone"
    assert cache.get(1) is None
    assert cache.get(3) is None
    assert cache.currsize == 2
    cache.put(5, 5, 2)
    cache.put(6, 6, 2)
    cache.put(7, 7, 2)
    assert cache.get(1) is None
    assert cache.get(3) is None
    assert any(cache.get(k) is not None for k in (5, 6, 7))
    assert cache.currsize <= 5
    assert cache.currsize == sum(kv.weight for kv in cache._map.values())


def test_removed_then_readded_key_is_not_confused_with_its_tombstone() -> None:
    cache = filled()
    cache.get(1)
    cache.get(1)
    cache.remove(1)
    cache.put(1, 10, 1)  # a fresh entry: no uses carried over from the removed one
    evicted = cache.put(4, 4, 1)
    assert evicted == [KV(2, 2, 2)]
    assert cache.queue_of(1) == "small"
    assert cache.get(1) == 10


def test_update_changes_weight_in_place() -> None:
    cache = filled()
    assert cache.put(2, 20, 1) == []
    assert cache.currsize == 4
    assert cache.get(2) == 20
    evicted = cache.put(3, 30, 4)  # grows past the limit: something must go
    assert cache.currsize <= 5
    assert evicted
    assert cache.currsize == sum(e.weight for e in cache._map.values())


def test_tombstones_are_compacted() -> None:
    cache: TinyUfo[int, int] = TinyUfo(1000)
    for round_ in range(50):
        for key in range(20):
            cache.put(key, round_)
            cache.remove(key)
    assert len(cache) == 0
    assert len(cache._small) + len(cache._main) <= 100


def test_weight_errors() -> None:
    cache: TinyUfo[str, str] = TinyUfo(10)
    with pytest.raises(ValueError, match=r"1\.\.10"):
        cache.put("a", "b", 11)
    with pytest.raises(ValueError, match=r"1\.\.10"):
        cache.put("a", "b", 0)
    with pytest.raises(TypeError, match="int"):
        cache.put("a", "b", 1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="int"):
        cache.force_put("a", "b", True)
    assert len(cache) == 0


@pytest.mark.parametrize("bad", [0, -1, 2.0, True, None])
def test_constructor_errors(bad: object) -> None:
    with pytest.raises(ValueError, match="total_weight_limit"):
        TinyUfo(bad)  # type: ignore[arg-type]
    if bad is not None:
        with pytest.raises(ValueError, match="estimated_size"):
            TinyUfo(10, bad)  # type: ignore[arg-type]


def test_mapping_api() -> None:
    cache: TinyUfo[str, int] = TinyUfo(3)
    assert isinstance(cache, MutableMapping)
    assert isinstance(cache, cachetools.Cache)
    cache["a"] = 1
    cache["b"] = 2
    assert cache["a"] == 1
    assert "a" in cache
    assert "z" not in cache
    assert sorted(cache) == ["a", "b"]
    assert len(cache) == 2
    assert cache.maxsize == 3
    assert cache.currsize == 2
    assert cache.getsizeof(123) == 1
    with pytest.raises(KeyError):
        cache["z"]
    del cache["a"]
    with pytest.raises(KeyError):
        del cache["a"]
    assert cache.pop("b") == 2
    assert cache.pop("b", -1) == -1
    with pytest.raises(KeyError):
        cache.pop("b")
    assert cache.setdefault("c", 3) == 3
    assert cache.get("c") == 3
    assert cache.get("missing", 0) == 0
    assert cache.popitem() == ("c", 3)
    with pytest.raises(KeyError, match="empty"):
        cache.popitem()
    cache.update({"x": 1, "y": 2})
    cache.clear()
    assert len(cache) == 0
    assert cache.currsize == 0
    assert "TinyUfo(maxsize=3, currsize=0" in repr(cache)


def test_missing_hook_for_subclasses() -> None:
    class Defaulting(TinyUfo[str, int]):
        def __missing__(self, key: str) -> int:
            return len(key)

    cache = Defaulting(4)
    assert cache["four"] == 4
    assert "four" not in cache


def test_getsizeof_weights_values() -> None:
    cache: TinyUfo[str, str] = TinyUfo(10, getsizeof=len)
    cache["a"] = "xxxx"
    cache["b"] = "yyyy"
    assert cache.currsize == 8
    assert cache.getsizeof("abc") == 3
    with pytest.raises(ValueError, match="too large"):
        cache["c"] = "z" * 11
    cache["c"] = "zzzz"
    assert cache.currsize <= 10
    with pytest.raises(TypeError, match="callable"):
        TinyUfo(10, getsizeof=3)  # type: ignore[arg-type]


def test_cachetools_cached_decorator() -> None:
    calls: list[int] = []
    cache: TinyUfo[object, int] = TinyUfo(64)

    @cachetools.cached(cache=cache, info=True)
    def square(x: int) -> int:
        calls.append(x)
        return x * x

    assert [square(i) for i in (1, 2, 1, 2, 3)] == [1, 4, 1, 4, 9]
    assert calls == [1, 2, 3]
    assert cachetools.keys.hashkey(2) in cache
    info = square.cache_info()
    assert (info.hits, info.misses, info.maxsize, info.currsize) == (2, 3, 64, 3)
    square.cache_clear()
    assert len(cache) == 0


def test_cachetools_cached_with_lock_and_custom_key() -> None:
    calls: list[str] = []
    cache: TinyUfo[object, str] = TinyUfo(8)

    @cachetools.cached(cache=cache, key=cachetools.keys.typedkey, lock=threading.Lock())
    def upper(text: str) -> str:
        calls.append(text)
        return text.upper()

    assert upper("a") == "A"
    assert upper("a") == "A"
    assert calls == ["a"]
    assert cachetools.keys.typedkey("a") in cache


def test_cachetools_cached_value_too_large_is_not_cached() -> None:
    cache: TinyUfo[object, str] = TinyUfo(4, getsizeof=len)
    calls: list[int] = []

    @cachetools.cached(cache=cache)
    def text(n: int) -> str:
        calls.append(n)
        return "x" * n

    assert text(9) == "x" * 9
    assert text(9) == "x" * 9
    assert calls == [9, 9]
    assert text(2) == "xx"
    assert text(2) == "xx"
    assert calls == [9, 9, 2]


def test_cachetools_cachedmethod() -> None:
    class Squares:
        def __init__(self) -> None:
            self.cache: TinyUfo[object, int] = TinyUfo(16)
            self.calls = 0

        @cachetools.cachedmethod(lambda self: self.cache)
        def square(self, x: int) -> int:
            self.calls += 1
            return x * x

    squares = Squares()
    assert squares.square(3) == 9
    assert squares.square(3) == 9
    assert squares.calls == 1


def test_bounded_under_churn() -> None:
    cache: TinyUfo[int, int] = TinyUfo(100, 100)
    for i in range(5000):
        cache.put(i % 700, i, 1 + i % 7)
        cache.get((i * 7) % 300)
        assert cache.currsize <= 100
    assert cache.currsize == sum(e.weight for e in cache._map.values())
    assert len(cache) == len(cache._map)


def test_popular_keys_survive_a_scan() -> None:
    cache: TinyUfo[int, int] = TinyUfo(100, 100)
    hot = range(50)
    for _ in range(5):
        for key in hot:
            if cache.get(key) is None:
                cache.put(key, key)
    for key in range(1000, 3000):  # a one-off scan must not flush the hot set
        if cache.get(key) is None:
            cache.put(key, key)
    assert sum(cache.get(key) is not None for key in hot) >= 45
