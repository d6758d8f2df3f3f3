"""Consistent hashing moves only the new backend's share of keys when one is added."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pingora_load_balancing import Backend, Consistent

KEYS = [f"key-{i}".encode() for i in range(3000)]


@settings(max_examples=25)
@given(
    n=st.integers(min_value=2, max_value=12),
    base=st.integers(min_value=1, max_value=200),
    port=st.integers(min_value=1, max_value=65535),
)
def test_adding_a_backend_moves_about_one_nth_of_keys(n: int, base: int, port: int) -> None:
    backends = [Backend(f"10.{base}.{i}.1:{port}") for i in range(n)]
    added = Backend(f"10.{base}.{n}.1:{port}")
    before = Consistent(backends)
    after = Consistent([*backends, added])
    moved = 0
    for key in KEYS:
        old, new = next(before.iter(key)), next(after.iter(key))
        if old != new:
            assert new == added  # a key only ever moves to the new backend
            moved += 1
    share = moved / len(KEYS)
    expected = 1 / (n + 1)
    assert expected / 2.5 <= share <= expected * 2.5
