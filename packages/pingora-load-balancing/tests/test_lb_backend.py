"""Backend: parsing, bad addresses, identity without ext, Pingora's order and hash keys."""

from __future__ import annotations

import pytest

from pingora_load_balancing import MAX_WEIGHT, Backend

# Computed by Rust 1.95's DefaultHasher over Pingora's `Backend` Hash (address, then weight).
RUST_HASH_KEYS = [
    ("1.1.1.1:80", 1, 11065692268170661718),
    ("1.1.1.1:80", 3, 1694405786241862438),
    ("1.0.0.1:80", 1, 6475974581532769140),
    ("1.0.0.1:80", 3, 6258552154693829797),
    ("1.0.0.255:80", 1, 15443851141828634275),
    ("127.0.0.1:79", 1, 2280495325417540267),
    ("127.0.0.1:79", 3, 11796547760614979398),
    ("[::1]:8080", 1, 8778752791230573409),
    ("[::1]:8080", 3, 10754976405850103670),
    ("[2001:db8::5]:443", 1, 14072879784980010113),
    ("[2001:db8::5]:443", 3, 15460314090048785598),
    ("unix:/tmp/my.sock", 1, 95813085559438994),
    ("unix:/run//x/./y.sock", 1, 461775423922854623),
    ("unix:rel/a.sock", 1, 16007401261299710369),
    ("unix:/a/b/", 1, 4395818287904575263),
    ("unix:/./a", 1, 15685708719957865249),
    ("unix:./a", 1, 11749325727021440653),
    ("unix:a/./b", 1, 4395818287904575263),
    ("unix:/a/../b", 1, 10092665804380037241),
]


@pytest.mark.parametrize(("addr", "weight", "expected"), RUST_HASH_KEYS)
def test_hash_key_matches_pingora(addr: str, weight: int, expected: int) -> None:
    assert Backend(addr, weight).hash_key() == expected


def test_parsing_keeps_the_address_and_exposes_parts() -> None:
    b = Backend("10.0.0.1:8080", weight=3)
    assert (b.addr, b.weight, b.host, b.port, b.is_unix, b.uds_path) == (
        "10.0.0.1:8080", 3, "10.0.0.1", 8080, False, None,
    )
    v6 = Backend("[2001:DB8:0::1]:443")
    assert v6.addr == "[2001:DB8:0::1]:443"
    assert v6.host == "2001:db8::1"
    assert v6.canonical_addr == "[2001:db8::1]:443"
    assert str(v6) == "[2001:db8::1]:443"
    uds = Backend("unix:/run/app.sock")
    assert (uds.is_unix, uds.uds_path, uds.host, uds.port) == (True, "/run/app.sock", None, None)
    assert repr(Backend("1.2.3.4:5", 2, ext={"zone": "a"})) == (
        "Backend('1.2.3.4:5', weight=2, ext={'zone': 'a'})"
    )


@pytest.mark.parametrize(
    ("addr", "message"),
    [
        ("1.2.3.4", "missing ':port'"),
        ("example.com:80", "not an IP address"),
        ("1.2.3.4:", "is not a number"),
        ("1.2.3.4:http", "is not a number"),
        ("1.2.3.4:65536", "not in 1..=65535"),
        ("1.2.3.4:0", "not in 1..=65535"),
        ("1.2.3.256:80", "not an IP address"),
        ("::1:80", "must be in brackets"),
        ("[::1]80", "missing ':port'"),
        ("[::1:80", "missing ']'"),
        ("[1.2.3.4]:80", "not an IPv6 address"),
        ("[fe80::1%eth0]:80", "zone ids"),
        ("unix:", "path is empty"),
        ("unix:/a\0b", "NUL byte"),
        ("", "missing ':port'"),
    ],
)
def test_bad_addresses_are_clear_errors(addr: str, message: str) -> None:
    with pytest.raises(ValueError, match="invalid backend address") as info:
        Backend(addr)
    assert message in str(info.value)


def test_bad_types_and_weights() -> None:
    with pytest.raises(TypeError, match="address must be a str"):
        Backend(b"1.2.3.4:80")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="weight must be an int"):
        Backend("1.2.3.4:80", 1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="weight must be an int"):
        Backend("1.2.3.4:80", True)
    with pytest.raises(ValueError, match="weight must be in"):
        Backend("1.2.3.4:80", 0)
    with pytest.raises(ValueError, match="weight must be in"):
        Backend("1.2.3.4:80", MAX_WEIGHT + 1)
    with pytest.raises(TypeError, match="ext must be a dict"):
        Backend("1.2.3.4:80", ext=[])  # type: ignore[arg-type]


def test_ext_does_not_affect_identity() -> None:
    a = Backend("1.1.1.1:80", ext={"name": "a"})
    b = Backend("1.1.1.1:80")
    b.ext["name"] = "b"
    assert a == b
    assert hash(a) == hash(b)
    assert a.hash_key() == b.hash_key()
    assert not a < b
    assert not b < a
    assert len({a, b}) == 1
    assert Backend("1.1.1.1:80", 2) != a


def test_equal_addresses_in_different_spellings_are_one_backend() -> None:
    assert Backend("[::1]:80") == Backend("[0:0::1]:80")
    assert Backend("unix:/a//b") == Backend("unix:/a/./b") == Backend("unix:/a/b/")
    assert Backend("unix:/a//b").hash_key() == Backend("unix:/a/b").hash_key()
    assert Backend("unix:/a/b") != Backend("unix:/a/c")
    assert Backend("1.1.1.1:80") != "1.1.1.1:80"


def test_order_is_pingoras() -> None:
    expected = [
        Backend("1.0.0.1:80"),
        Backend("1.0.0.1:80", 2),
        Backend("1.0.0.1:81"),
        Backend("1.0.0.255:80"),
        Backend("9.9.9.9:1"),
        Backend("10.0.0.1:80"),  # numeric, not text order
        Backend("255.255.255.255:1"),
        Backend("[::1]:80"),  # IPv6 after every IPv4
        Backend("[::2]:1"),
        Backend("[2001:db8::1]:80"),
        Backend("unix:/a"),  # unix after IP
        Backend("unix:/a/b"),
        Backend("unix:/b"),
        Backend("unix:./rel"),
        Backend("unix:rel"),
    ]
    backwards = list(reversed(expected))
    assert sorted(backwards) == expected
    assert sorted(expected[::3] + expected[1::3] + expected[2::3]) == expected
    assert Backend("1.1.1.1:80") <= Backend("1.1.1.1:80") < Backend("[::1]:1")
    assert Backend("unix:/x") > Backend("[::1]:1") >= Backend("[::1]:1")
