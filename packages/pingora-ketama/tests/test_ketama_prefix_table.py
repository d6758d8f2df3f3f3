"""The lookup shortcut table never disagrees with a bisect, at every edge of every slice."""

from __future__ import annotations

from bisect import bisect_left, bisect_right

from hypothesis import given
from hypothesis import strategies as st

from pingora_ketama import Bucket, Continuum
from pingora_ketama._prefix_table import prefix_table

MAX = 0xFFFF_FFFF

rings = st.lists(
    st.tuples(st.integers(0, MAX), st.sampled_from(["a", "b", "c"])),
    max_size=300,
    unique_by=lambda p: p[0],
).map(sorted)


def probes(hashes: list[int], shift: int) -> set[int]:
    """Hash values at every point and slice edge, and next to them."""
    values = {0, MAX}
    for h in hashes:
        values.update((h - 1, h, h + 1))
    for s in range((MAX >> shift) + 1):
        values.update((s << shift, ((s + 1) << shift) - 1))
    return {v for v in values if 0 <= v <= MAX}


@given(rings)
def test_table_agrees_with_bisect(points: list[tuple[int, str]]) -> None:
    hashes = [h for h, _ in points]
    lookup: list[str | None] = [addr for _, addr in points]
    lookup.append(lookup[0] if lookup else None)
    shift, table = prefix_table(hashes, lookup)
    assert len(table) == 1 << (32 - shift)
    for h in probes(hashes, shift):
        entry = table[h >> shift]
        if entry is not None:
            assert entry == lookup[bisect_left(hashes, h)]
            assert entry == lookup[bisect_right(hashes, h)]


def test_table_answers_most_lookups() -> None:
    c = Continuum([Bucket(f"10.0.0.{i}:80", 1 + i % 3) for i in range(1, 11)])
    _, table = prefix_table([c.point_hash(i) for i in range(len(c))], c._lookup)
    assert sum(entry is not None for entry in table) > 0.8 * len(table)
    assert len(table) <= 4 * 2 ** len(c).bit_length()


def test_empty_ring_table_sends_every_lookup_to_the_bisect() -> None:
    _, table = prefix_table([], [None])
    assert set(table) == {None}
