"""Hypothesis properties of TinyUfo and MemoryCache against a plain-dict model."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pingora_memory_cache import CacheStatus, MemoryCache, TinyUfo

LIMIT = 12

keys = st.integers(min_value=0, max_value=30)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("put"), keys, st.integers(1, LIMIT)),
        st.tuples(st.just("force_put"), keys, st.integers(1, LIMIT)),
        st.tuples(st.just("get"), keys, st.just(0)),
        st.tuples(st.just("remove"), keys, st.just(0)),
        st.tuples(st.just("popitem"), keys, st.just(0)),
    ),
    max_size=120,
)


@given(operations, st.integers(min_value=1, max_value=40))
def test_weight_never_exceeds_limit_and_gets_return_last_put(
    ops: list[tuple[str, int, int]], estimated_size: int
) -> None:
    cache: TinyUfo[int, tuple[int, int]] = TinyUfo(LIMIT, estimated_size)
    model: dict[int, tuple[tuple[int, int], int]] = {}  # key -> (value, weight)
    for step, (op, key, weight) in enumerate(ops):
        if op in ("put", "force_put"):
            value = (key, step)
            evicted = getattr(cache, op)(key, value, weight)
            model[key] = (value, weight)
            for kv in evicted:
                # whatever leaves is exactly what the model holds for that key
                assert model.pop(kv.key) == (kv.value, kv.weight)
            if op == "force_put":
                assert cache.get(key) == value or key not in model
            assert cache.currsize <= LIMIT
        elif op == "get":
            expected = model.get(key)
            assert cache.get(key) == (None if expected is None else expected[0])
        elif op == "remove":
            expected = model.pop(key, None)
            assert cache.remove(key) == (None if expected is None else expected[0])
        elif model:
            popped_key, popped_value = cache.popitem()
            assert model.pop(popped_key)[0] == popped_value
        assert cache.currsize == sum(weight for _, weight in model.values())
        assert set(cache) == set(model)
    for key, (value, _) in model.items():
        assert cache.get(key) == value


@given(
    st.lists(
        st.tuples(
            keys,
            st.one_of(st.none(), st.floats(min_value=0, max_value=10)),
            st.floats(min_value=0, max_value=5),
        ),
        max_size=60,
    )
)
def test_ttl_decides_freshness(puts: list[tuple[int, float | None, float]]) -> None:
    now = [0.0]
    cache: MemoryCache[int, int] = MemoryCache(1000, clock=lambda: now[0])
    deadlines: dict[int, tuple[int, float]] = {}
    for step, (key, ttl, elapsed) in enumerate(puts):
        cache.force_put(key, step, ttl)
        if ttl is None:
            deadlines[key] = (step, float("inf"))
        elif ttl > 0:
            deadlines[key] = (step, now[0] + ttl)
        now[0] += elapsed
        for known, (value, deadline) in deadlines.items():
            fresh = now[0] < deadline
            got, status = cache.get(known)
            if fresh:
                assert (got, status) == (value, CacheStatus.HIT)
            else:
                assert (got, status) == (None, CacheStatus.EXPIRED)
                stale_value, stale_status = cache.get_stale(known)
                assert stale_value == value
                assert stale_status.stale_for == now[0] - deadline
