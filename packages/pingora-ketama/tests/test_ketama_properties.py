"""Properties of Continuum over generated rings, and agreement with a naive model of the spec."""

from __future__ import annotations

import binascii
from itertools import islice

from hypothesis import given
from hypothesis import strategies as st

from pingora_ketama import Bucket, Continuum

KEYS = [f"/key/{i}".encode() for i in range(2000)]


def ipv4_address(ip: object, port: int) -> str:
    return f"{ip}:{port}"


def any_address(ip: object, port: int) -> str:
    return f"[{ip}]:{port}" if ":" in str(ip) else f"{ip}:{port}"


addresses = st.builds(any_address, st.ip_addresses(), st.integers(0, 65535))
ipv4_addresses = st.builds(ipv4_address, st.ip_addresses(v=4), st.integers(0, 65535))
buckets = st.builds(Bucket, addresses, st.integers(1, 4))
bucket_lists = st.lists(buckets, min_size=1, max_size=12)
distinct_bucket_lists = st.lists(
    buckets, min_size=1, max_size=12, unique_by=lambda b: b.hash_input
)
keys = st.binary(max_size=64)


class NaiveRing:
    """The spec spelled out slowly: CRC-32 over the whole concatenation, a linear scan."""

    def __init__(self, bucket_list: list[Bucket]) -> None:
        points: list[tuple[int, str]] = []
        for b in bucket_list:
            prev = 0
            for _ in range(160 * b.weight):
                prev = binascii.crc32(b.hash_input + prev.to_bytes(4, "little"))
                points.append((prev, b.address))
        points.sort(key=lambda p: p[0])  # stable
        self.points: list[tuple[int, str]] = []
        for h, addr in points:
            if not self.points or self.points[-1][0] != h:
                self.points.append((h, addr))

    def index(self, key: bytes) -> int:
        h = binascii.crc32(key)
        for i, (point, _) in enumerate(self.points):
            if point >= h:
                return i
        return 0


@given(bucket_lists, st.lists(keys, min_size=1, max_size=20))
def test_matches_the_naive_model(bucket_list: list[Bucket], key_list: list[bytes]) -> None:
    c = Continuum(bucket_list)
    model = NaiveRing(bucket_list)
    assert len(c) == len(model.points)
    assert [c.point_hash(i) for i in range(len(c))] == [h for h, _ in model.points]
    n = len(c)
    for key in key_list:
        i = model.index(key)
        assert c.node_idx(key) == i
        assert c.node(key) == model.points[i][1]
        expected = [model.points[(i + j) % n][1] for j in range(n + 3)]
        assert list(islice(c.node_iter(key), n + 3)) == expected


@given(bucket_lists, keys)
def test_node_is_always_one_of_the_buckets(bucket_list: list[Bucket], key: bytes) -> None:
    c = Continuum(bucket_list)
    assert c.node(key) in {b.address for b in bucket_list}


@given(bucket_lists, keys)
def test_node_iter_starts_at_node(bucket_list: list[Bucket], key: bytes) -> None:
    c = Continuum(bucket_list)
    it = c.node_iter(key)
    assert next(it) == c.node(key)
    # A full lap visits every bucket that has points.
    lap = {next(it) for _ in range(len(c))}
    assert lap == {b.address for b in bucket_list}


@given(distinct_bucket_lists)
def test_points_are_sorted_unique_and_weighted(bucket_list: list[Bucket]) -> None:
    c = Continuum(bucket_list)
    hashes = [c.point_hash(i) for i in range(len(c))]
    assert hashes == sorted(set(hashes))
    total = 160 * sum(b.weight for b in bucket_list)
    assert total - 2 <= len(c) <= total  # CRC-32 collisions are rare in rings this small


@given(st.lists(ipv4_addresses, min_size=1, max_size=20, unique=True), ipv4_addresses)
def test_adding_a_bucket_moves_about_one_in_n_keys(existing: list[str], new: str) -> None:
    if new in existing:
        return
    before = Continuum([Bucket(a, 1) for a in existing])
    after = Continuum([*(Bucket(a, 1) for a in existing), Bucket(new, 1)])
    moved = [key for key in KEYS if before.node(key) != after.node(key)]
    # Consistent hashing: a key either stays or moves to the new bucket...
    assert all(after.node(key) == new for key in moved)
    # ...and about 1/(n+1) of the keys move.
    share = 1 / (len(existing) + 1)
    assert abs(len(moved) / len(KEYS) - share) <= 0.5 * share + 0.03


@given(st.lists(ipv4_addresses, min_size=2, max_size=20, unique=True), st.data())
def test_removing_a_bucket_moves_only_its_keys(existing: list[str], data: st.DataObject) -> None:
    gone = data.draw(st.sampled_from(existing))
    before = Continuum([Bucket(a, 1) for a in existing])
    after = Continuum([Bucket(a, 1) for a in existing if a != gone])
    for key in KEYS[:500]:
        if before.node(key) != gone:
            assert after.node(key) == before.node(key)
        else:
            # The failover order skipping the removed bucket is where its keys go.
            nxt = next(a for a in before.node_iter(key) if a != gone)
            assert after.node(key) == nxt


def test_equal_hashes_keep_the_first_bucket() -> None:
    # The same server written two ways: the first 160 points of both are equal, and the
    # earlier bucket keeps them; only the second bucket's extra points are its own.
    c = Continuum([Bucket("10.0.0.1:80", 1), Bucket("10.0.0.1:080", 3)])
    lap = list(islice(c.node_iter(b""), len(c)))
    assert len(c) == 480
    assert lap.count("10.0.0.1:80") == 160
    assert lap.count("10.0.0.1:080") == 320
    flipped = Continuum([Bucket("10.0.0.1:080", 3), Bucket("10.0.0.1:80", 1)])
    assert set(islice(flipped.node_iter(b""), len(flipped))) == {"10.0.0.1:080"}
