"""Bucket address parsing, the bytes hashed for a server, and clear errors for bad input."""

from __future__ import annotations

import dataclasses

import pytest

from pingora_ketama import Bucket, Continuum, LibketamaContinuum


@pytest.mark.parametrize(
    ("address", "host", "port"),
    [
        ("127.0.0.1:80", "127.0.0.1", 80),
        ("0.0.0.0:0", "0.0.0.0", 0),
        ("255.255.255.255:65535", "255.255.255.255", 65535),
        ("10.0.0.1:080", "10.0.0.1", 80),
        ("[::1]:7777", "::1", 7777),
        ("[::]:1", "::", 1),
        ("[2001:DB8:0:0:1:0:0:1]:443", "2001:db8::1:0:0:1", 443),  # longest zero run wins
        ("[2001:db8:0:1:1:1:1:1]:443", "2001:db8:0:1:1:1:1:1", 443),  # one zero: not compressed
        ("[2001:0:0:1:0:0:0:1]:443", "2001:0:0:1::1", 443),
        ("[2001:db8:0:0:1:0:0:1]:1", "2001:db8::1:0:0:1", 1),  # tie: the first run
        ("[::ffff:1.2.3.4]:80", "::ffff:1.2.3.4", 80),  # IPv4-mapped: mixed notation
        ("[::FFFF:0102:0304]:80", "::ffff:1.2.3.4", 80),
        ("[fe80::0001]:8080", "fe80::1", 8080),
    ],
)
def test_canonical_host_and_port(address: str, host: str, port: int) -> None:
    b = Bucket(address, 2)
    assert (b.host, b.port, b.address, b.weight) == (host, port, address, 2)
    assert b.hash_input == f"{host}\0{port}".encode()


def test_bucket_is_a_frozen_value() -> None:
    b = Bucket("127.0.0.1:80", 3)
    assert b == Bucket("127.0.0.1:80", 3)
    assert b != Bucket("127.0.0.1:80", 4)
    assert hash(b) == hash(Bucket("127.0.0.1:80", 3))
    assert repr(b) == "Bucket(address='127.0.0.1:80', weight=3)"
    with pytest.raises(dataclasses.FrozenInstanceError):
        b.weight = 5  # type: ignore[misc]


def test_same_server_written_differently_hashes_the_same() -> None:
    a = Continuum([Bucket("[::ffff:1.2.3.4]:80", 1), Bucket("[2001:db8::1]:80", 1)])
    b = Continuum([Bucket("[::FFFF:102:304]:080", 1), Bucket("[2001:DB8:0::0:1]:80", 1)])
    assert [a.point_hash(i) for i in range(len(a))] == [b.point_hash(i) for i in range(len(b))]


@pytest.mark.parametrize("weight", [0, -1, -160])
def test_weight_below_one_is_rejected(weight: int) -> None:
    with pytest.raises(ValueError, match="weight must be at least 1"):
        Bucket("127.0.0.1:80", weight)


def test_weight_too_big_is_rejected() -> None:
    with pytest.raises(ValueError, match="32 bits"):
        Bucket("127.0.0.1:80", 2**32)


@pytest.mark.parametrize("weight", [1.0, "1", True, None])
def test_weight_must_be_an_int(weight: object) -> None:
    with pytest.raises(TypeError, match="weight must be an int"):
        Bucket("127.0.0.1:80", weight)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "missing ':port'"),
        ("", "missing ':port'"),
        ("localhost:80", "not an IPv4 address"),
        ("example.com:443", "host names are not resolved"),
        ("127.0.0.256:80", "not an IPv4 address"),
        ("127.000.0.1:80", "not an IPv4 address"),
        (" 127.0.0.1:80", "not an IPv4 address"),
        (":80", "not an IPv4 address"),
        ("127.0.0.1:", "port '' is not a number"),
        ("127.0.0.1:65536", "port '65536' is not a number"),
        ("127.0.0.1:-1", "port '-1' is not a number"),
        ("127.0.0.1:+80", "port '\\+80' is not a number"),
        ("127.0.0.1:80 ", "port '80 ' is not a number"),
        ("127.0.0.1:http", "port 'http' is not a number"),
        ("127.0.0.1:000080", "port '000080' is not a number"),
        ("::1:80", "must be in brackets"),
        ("[::1]", "missing ':port' after"),
        ("[::1]80", "missing ':port' after"),
        ("[::1:80", "missing '\\]'"),
        ("[127.0.0.1]:80", "not an IPv6 address"),
        ("[::g]:80", "not an IPv6 address"),
        ("[fe80::1%eth0]:80", "zone ids are not supported"),
        ("unix:/tmp/sock", "not an IPv4 address"),
    ],
)
def test_bad_address_is_a_clear_value_error(address: str, why: str) -> None:
    with pytest.raises(ValueError, match=f"bad bucket address .*: .*{why}") as info:
        Bucket(address, 1)
    assert repr(address) in str(info.value)
    assert "ip:port" in str(info.value)


def test_address_must_be_a_str() -> None:
    with pytest.raises(TypeError, match="address must be a str"):
        Bucket(b"127.0.0.1:80", 1)  # type: ignore[arg-type]


@pytest.mark.parametrize("ring_type", [Continuum, LibketamaContinuum])
def test_rings_reject_things_that_are_not_buckets(
    ring_type: type[Continuum] | type[LibketamaContinuum],
) -> None:
    with pytest.raises(TypeError, match=r"buckets\[1\] must be a Bucket, not str"):
        ring_type([Bucket("127.0.0.1:80", 1), "127.0.0.2:80"])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="not a string"):
        ring_type("127.0.0.1:80")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ring_type(None)  # type: ignore[arg-type]


@pytest.mark.parametrize("ring_type", [Continuum, LibketamaContinuum])
def test_keys_must_be_bytes_like(ring_type: type[Continuum] | type[LibketamaContinuum]) -> None:
    c = ring_type([Bucket("127.0.0.1:80", 1)])
    with pytest.raises(TypeError):
        c.node("a str key")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        c.node_iter(42)  # type: ignore[arg-type]
    assert c.node(bytearray(b"k")) == c.node(memoryview(b"k")) == c.node(b"k")
