"""LibketamaContinuum answers exactly as uhashring's ketama-compatible HashRing does."""

from __future__ import annotations

from collections import Counter
from hashlib import md5
from itertools import islice

import pytest
from hypothesis import given
from hypothesis import strategies as st
from uhashring import HashRing

from pingora_ketama import Bucket, LibketamaContinuum

BUCKETS = [
    Bucket("10.0.0.1:11211", 1),
    Bucket("10.0.0.2:11211", 2),
    Bucket("10.0.0.3:11211", 3),
    Bucket("[2001:db8::7]:11211", 5),
    Bucket("10.0.0.1:11212", 1),
]


def reference(buckets: list[Bucket]) -> HashRing:
    return HashRing(nodes={b.address: {"weight": b.weight} for b in buckets}, hash_fn="ketama")


def ipv4_bucket(ip: object, port: int, weight: int) -> Bucket:
    return Bucket(f"{ip}:{port}", weight)


bucket_lists = st.lists(
    st.builds(ipv4_bucket, st.ip_addresses(v=4), st.integers(0, 65535), st.integers(1, 5)),
    min_size=1,
    max_size=10,
    unique_by=lambda b: b.address,
)


def test_same_points_as_uhashring() -> None:
    ring = LibketamaContinuum(BUCKETS)
    ref = reference(BUCKETS)
    points = ref.get_points()
    assert len(ring) == len(points)
    assert [ring.point_hash(i) for i in range(len(ring))] == [h for h, _ in points]


def test_same_nodes_as_uhashring_for_many_keys() -> None:
    ring = LibketamaContinuum(BUCKETS)
    ref = reference(BUCKETS)
    for i in range(5000):
        key = f"user:{i}"
        assert ring.node(key.encode()) == ref.get_node(key), key
        assert ring.node_idx(key.encode()) == ref.get_node_pos(key), key


@given(bucket_lists, st.lists(st.text(max_size=40), min_size=1, max_size=20))
def test_matches_uhashring(buckets: list[Bucket], keys: list[str]) -> None:
    ring = LibketamaContinuum(buckets)
    ref = reference(buckets)
    for key in keys:
        assert ring.node(key.encode()) == ref.get_node(key)


def test_a_key_equal_to_a_point_maps_to_the_next_point() -> None:
    # "address-0" hashes (first four digest bytes) exactly to one of that node's points;
    # like uhashring, the lookup takes the first point strictly greater.
    ring = LibketamaContinuum(BUCKETS)
    ref = reference(BUCKETS)
    for b in BUCKETS:
        key = f"{b.address}-0"
        h = int.from_bytes(md5(key.encode()).digest()[:4], "little")
        idx = ring.node_idx(key.encode())
        assert ring.point_hash(idx - 1) == h
        assert ring.node(key.encode()) == ref.get_node(key)


def test_keys_need_not_be_utf8() -> None:
    ring = LibketamaContinuum(BUCKETS)
    for key in [b"\xff\xfe", b"\x80abc", bytes(range(256))]:
        h = int.from_bytes(md5(key).digest()[:4], "little")
        hashes = [ring.point_hash(i) for i in range(len(ring))]
        first_greater = next((i for i, p in enumerate(hashes) if p > h), 0)
        assert ring.node_idx(key) == first_greater
        assert ring.node(key) == next(ring.node_iter(key))


@pytest.mark.parametrize("key", ["", "a", "doghash", "user:42", "ключ"])
def test_node_iter_distinct_walk_matches_uhashring(key: str) -> None:
    ring = LibketamaContinuum(BUCKETS)
    ref = reference(BUCKETS)
    walk = list(islice(ring.node_iter(key.encode()), len(ring)))
    assert walk[0] == ring.node(key.encode())
    assert list(dict.fromkeys(walk)) == list(ref.iterate_nodes(key, distinct=True))
    assert walk == list(ref.iterate_nodes(key, distinct=False))


def test_node_iter_wraps_forever() -> None:
    ring = LibketamaContinuum(BUCKETS)
    n = len(ring)
    walk = list(islice(ring.node_iter(b"doghash"), 2 * n + 1))
    assert walk[:n] == walk[n : 2 * n]
    assert walk[2 * n] == walk[0]
    counts = Counter(walk[:n])
    assert counts == dict(reference(BUCKETS).distribution)


def test_weight_shares_follow_libketama() -> None:
    # 40 × node count × weight / total weight digests per node, four points each.
    ring = LibketamaContinuum([Bucket("10.0.0.1:1", 1), Bucket("10.0.0.2:1", 3)])
    lap = Counter(islice(ring.node_iter(b"x"), len(ring)))
    assert lap == {"10.0.0.1:1": 80, "10.0.0.2:1": 240}


def test_empty_ring() -> None:
    ring = LibketamaContinuum([])
    assert ring.node(b"k") is None
    assert ring.node_idx(b"k") == 0
    assert list(ring.node_iter(b"k")) == []
    assert len(ring) == 0


def test_duplicate_addresses_are_rejected() -> None:
    with pytest.raises(ValueError, match=r"duplicate bucket address '10\.0\.0\.1:1'"):
        LibketamaContinuum([Bucket("10.0.0.1:1", 1), Bucket("10.0.0.1:1", 2)])


def test_buckets_are_kept_in_order() -> None:
    assert LibketamaContinuum(BUCKETS).buckets == tuple(BUCKETS)
