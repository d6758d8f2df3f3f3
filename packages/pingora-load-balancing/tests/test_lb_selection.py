"""Selection algorithms, with the exact sequences of Pingora's own tests
(selection/weighted.rs, consistent.rs, mod.rs, least.rs)."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from itertools import islice

import pytest

from pingora_load_balancing import (
    Backend,
    BackendSelection,
    Consistent,
    FNVHash,
    LeastConnections,
    Random,
    RoundRobin,
    UniqueIterator,
    Weighted,
)
from pingora_load_balancing._hashing import fnv1a64

B1 = Backend("1.1.1.1:80")
B3 = Backend("1.0.0.255:80")


def first(selection: BackendSelection, key: bytes) -> Backend:
    return next(selection.iter(key))


def test_fnv1a64_reference_values() -> None:
    assert fnv1a64(b"") == 0xCBF29CE484222325
    assert fnv1a64(b"a") == 0xAF63DC4C8601EC8C
    assert fnv1a64(b"foobar") == 0x85944171F73967E8
    assert fnv1a64(memoryview(b"foobar")) == fnv1a64(bytearray(b"foobar"))


def test_fnv() -> None:
    b2 = Backend("1.0.0.1:80", 10)  # 10x the rest
    hash_ = FNVHash([B1, b2, B3])
    it = hash_.iter(b"test")
    # first pick is weighted, the fallbacks are uniform
    assert list(islice(it, 11)) == [b2, b2, b2, B1, B3, b2, b2, B1, b2, B3, B1]
    firsts = [first(hash_, f"test{i}".encode()) for i in range(1, 8)]
    assert firsts == [b2, b2, B3, B1, b2, b2, b2]


def test_round_robin() -> None:
    b2 = Backend("1.0.0.1:80", 8)  # 8x the rest
    rr = RoundRobin([B1, b2, B3])
    it = rr.iter(b"test")
    assert list(islice(it, 5)) == [b2, B3, B1, b2, B3]
    # round robin ignores the key
    assert [first(rr, b"test1") for _ in range(7)] == [b2, b2, b2, B3, B1, b2, b2]


def test_random_is_weighted() -> None:
    b2 = Backend("1.0.0.1:80", 8)
    state = random.getstate()
    try:
        random.seed(20240601)
        picks = Counter(first(Random([B1, b2, B3]), b"test") for _ in range(1000))
    finally:
        random.setstate(state)
    assert 700 <= picks[b2] <= 900
    assert picks[B1] > 0
    assert picks[B3] > 0


def test_ketama() -> None:
    b2 = Backend("1.0.0.1:80")
    hash_ = Consistent([B1, b2, B3])
    keys = [f"test{i}".encode() for i in range(10)]
    assert [first(hash_, k) for k in keys] == [b2, B1, B1, B1, B1, B3, B1, B3, B1, b2]
    # remove B3: only its keys move
    hash_ = Consistent([B1, b2])
    assert [first(hash_, k) for k in keys] == [b2, B1, B1, B1, B1, b2, B1, B1, B1, b2]


def test_ketama_fallbacks_walk_the_ring_and_skip_unix_backends() -> None:
    uds = Backend("unix:/tmp/never.sock")
    ring = Consistent([B1, B3, uds])
    assert ring.backends == (B3, B1, uds)
    assert len(ring.ring) == 320
    assert set(islice(ring.iter(b"k"), 1000)) == {B1, B3}
    assert list(Consistent([uds]).iter(b"k")) == []
    assert list(Consistent([]).iter(b"k")) == []


def test_empty_selections_yield_nothing() -> None:
    for cls in (RoundRobin, Random, FNVHash, Consistent, LeastConnections):
        assert list(cls([]).iter(b"key")) == [], cls


def test_selections_sort_their_backends_and_check_types() -> None:
    rr = RoundRobin([B1, B3])
    assert rr.backends == (B3, B1)
    assert repr(rr) == "RoundRobin(backends=2)"
    with pytest.raises(TypeError, match=r"backends\[0\] must be a Backend"):
        RoundRobin(["1.1.1.1:80"])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="key must be bytes"):
        first(FNVHash([B1]), "text")  # type: ignore[arg-type]


def test_custom_weighted_algorithm() -> None:
    class Always2(Weighted):
        def next_index(self, key: bytes) -> int:
            return 2

    a, b, c = Backend("1.0.0.1:1"), Backend("1.0.0.2:1", 2), Backend("1.0.0.3:1")
    # weighted list: a, b, b, c -> slot 2 is b; fallbacks: index 2 of (a, b, c) -> c
    assert list(islice(Always2([a, b, c]).iter(b""), 3)) == [b, c, c]


class ListIter(BackendSelection):
    def iter(self, key: bytes) -> Iterator[Backend]:
        return iter(self._seq)

    def __init__(self, seq: list[Backend]) -> None:
        super().__init__(seq)
        self._seq = seq


def test_unique_iter_max_iterations_is_correct() -> None:
    b2 = Backend("1.0.0.1:80")
    items = [B1, b2, B3]
    every = UniqueIterator(items, 3)
    assert [every.get_next(), every.get_next(), every.get_next(), every.get_next()] == [
        B1, b2, B3, None,
    ]
    stop = UniqueIterator(items, 1)
    assert stop.get_next() == B1
    assert stop.get_next() is None


def test_unique_iter_duplicate_items_are_filtered() -> None:
    b2 = Backend("1.0.0.1:80")
    uniq = UniqueIterator([B1, B1, b2, b2, b2, B3], 10)
    assert list(uniq) == [B1, b2, B3]
    # repeats count toward the limit
    assert list(UniqueIterator([B1, B1, b2, b2, b2, B3], 4)) == [B1, b2]
    assert repr(UniqueIterator([], 4)) == "UniqueIterator(steps=0, max_iterations=4)"
    with pytest.raises(ValueError, match="max_iterations must be >= 0"):
        UniqueIterator([], -1)


def test_least_connections_prefers_the_smallest_load() -> None:
    b2 = Backend("1.0.0.1:80")
    sel = LeastConnections([B1, b2])
    sel.on_start(B1)
    assert list(sel.iter(b"")) == [b2, B1]


def test_least_connections_weighted_comparison() -> None:
    b0, b1 = Backend("1.1.1.0:80"), Backend("1.1.1.1:80", 2)
    b2, b3 = Backend("1.1.1.2:80"), Backend("1.1.1.3:80")
    sel = LeastConnections([b0, b1, b2, b3])
    for backend, n in ((b0, 5), (b1, 3), (b2, 7), (b3, 2)):
        for _ in range(n):
            sel.on_start(backend)
    # load per unit of weight: b1 = 1.5 < b3 = 2 < b0 = 5 < b2 = 7
    assert list(sel.iter(b"")) == [b1, b3, b0, b2]
    assert sel.inflight(b0) == 5
    assert repr(sel) == "LeastConnections(backends=4, inflight=17)"


def test_least_connections_ties_go_to_the_first_in_order() -> None:
    a, b, c = Backend("10.0.0.3:1"), Backend("10.0.0.1:1"), Backend("10.0.0.2:1")
    sel = LeastConnections([a, b, c])
    assert [first(sel, b"") for _ in range(4)] == [b] * 4
    sel.on_start(b)
    assert list(sel.iter(b"")) == [c, a, b]
    sel.on_start(c)
    assert list(sel.iter(b"")) == [a, b, c]


def test_least_connections_done_decrements_and_never_goes_negative() -> None:
    sel = LeastConnections([B1])
    assert sel.inflight(B1) == 0
    sel.on_start(B1)
    assert sel.inflight(B1) == 1
    sel.on_done(B1)
    sel.on_done(B1)
    assert sel.inflight(B1) == 0


def test_least_connections_counts_survive_rebuilds() -> None:
    v1 = LeastConnections.build([B1])
    v1.on_start(B1)
    fresh = Backend("1.1.1.1:80")
    v2 = LeastConnections.build([fresh, B3], v1)
    assert v2.inflight(fresh) == 1
    assert first(v2, b"") == B3
    v2.on_done(fresh)
    assert v1.inflight(B1) == 0
    assert LeastConnections.build([B1], RoundRobin([B1])).inflight(B1) == 0


def test_track_on_a_selection_pairs_start_and_done() -> None:
    sel = LeastConnections([B1, B3])
    with sel.track(B3) as lease:
        assert sel.inflight(B3) == 1
        assert repr(lease) == "SelectionLease(backend=Backend('1.0.0.255:80', weight=1), " \
            "released=False)"
    assert sel.inflight(B3) == 0
    with RoundRobin([B1]).track(B1):  # a no-op for algorithms that ignore load
        pass
    with pytest.raises(TypeError, match="backend must be a Backend"):
        sel.track("1.1.1.1:80")  # type: ignore[arg-type]
