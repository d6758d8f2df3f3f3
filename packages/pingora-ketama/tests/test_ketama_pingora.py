"""Pingora's ketama crate test cases, ported: exact nodes and failover sequences for given rings."""

from __future__ import annotations

from collections import Counter
from itertools import islice

from pingora_ketama import Bucket, Continuum


def ring(*addresses: str, weight: int = 1) -> Continuum:
    return Continuum([Bucket(a, weight) for a in addresses])


def take(c: Continuum, key: bytes, n: int) -> list[str]:
    return list(islice(c.node_iter(key), n))


def test_readme_example() -> None:
    c = Continuum(
        [
            Bucket("127.0.0.1:12345", 1),
            Bucket("127.0.0.2:12345", 2),
            Bucket("127.0.0.3:12345", 3),
        ]
    )
    assert c.node(b"some_key") == "127.0.0.3:12345"
    assert c.node(b"another_key") == "127.0.0.3:12345"
    assert c.node(b"last_key") == "127.0.0.2:12345"


def test_consistency_after_adding_host() -> None:
    def assert_hosts(c: Continuum) -> None:
        assert c.node(b"a") == "127.0.0.10:6443"
        assert c.node(b"b") == "127.0.0.5:6443"

    assert_hosts(ring(*(f"127.0.0.{u}:6443" for u in range(1, 11))))
    # One more host must not reshuffle the keys that stayed.
    assert_hosts(ring(*(f"127.0.0.{u}:6443" for u in range(1, 12))))


def test_matches_nginx_sample() -> None:
    c = ring("127.0.0.1:7777", "127.0.0.1:7778")
    assert c.node(b"/some/path") == "127.0.0.1:7778"
    assert c.node(b"/some/longer/path") == "127.0.0.1:7777"
    assert c.node(b"/sad/zaidoon") == "127.0.0.1:7778"
    assert c.node(b"/g") == "127.0.0.1:7777"
    assert c.node(b"/pingora/team/is/cool/and/this/is/a/long/uri") == "127.0.0.1:7778"
    assert c.node(b"/i/am/not/confident/in/this/code") == "127.0.0.1:7777"


# The first rows of Pingora's nginx trace: nine servers 10.0.0.1-9:443, each weight=100.
NGINX_SAMPLE_ROWS = [
    ("/81fa1d251d605775d647b5b55565e71526d4cef6", "10.0.0.7:443"),
    ("/2fec328e6ccdda6a7edf329f9f780e546ea183b4", "10.0.0.5:443"),
    ("/19fb835d90883a6263ec4279c6da184e3f1a79b2", "10.0.0.4:443"),
    ("/da7a88e542f7aaddc074f988164b9df7e5f7fea6", "10.0.0.4:443"),
    ("/8f87cfd8005306643b6528b3d4125cf005139a7e", "10.0.0.5:443"),
    ("/26d2769eab098458bc3e4e641a4b7d8abffd0aea", "10.0.0.6:443"),
    ("/aa5b5323980f2d3e21246212ebd820c3949c1e88", "10.0.0.7:443"),
    ("/d9c4bc3cc4517c629e8f4c911c2fd8baf260ae65", "10.0.0.1:443"),
    ("/28c1c069a2904bb3b3e0f9731b1ff8de9ab7a76d", "10.0.0.4:443"),
    ("/fe5199bdfeee5cd431ae7e9f77f178164f9995a0", "10.0.0.9:443"),
    ("/43992eee187920c5e8695332f71ca6e23ef6ac4b", "10.0.0.3:443"),
    ("/38528aab753a6f32de86b5a7acdbb0c885137a81", "10.0.0.9:443"),
    ("/12d4b9155ff599c0ac554226796b58a2278b450f", "10.0.0.7:443"),
    ("/9c34c9a4f9009997dd29c6e6a627b0aca7beb6e5", "10.0.0.5:443"),
    ("/eb5a2ab55796afd673874fd7560f1329be5540bd", "10.0.0.9:443"),
    ("/ad7b5395766b77098c3f212043650a805b622ffe", "10.0.0.3:443"),
    ("/c72fedf4177499635302849496898fe4f3409cc1", "10.0.0.9:443"),
    ("/77766138aaf0c016bdd1f6b996177fc8ca1d2204", "10.0.0.8:443"),
    ("/860c86b94e04f2648fb164c87fd6166707fd08ff", "10.0.0.6:443"),
    ("/1b419454e4eb63ef915e8e06cc11110a3ccd607e", "10.0.0.7:443"),
    ("/a8762dc488e1a1af31e53af8ddb887d4f3cca990", "10.0.0.8:443"),
    ("/2e8e8e8fdeada0bbd33ba57d20209b4d9343f965", "10.0.0.4:443"),
    ("/0220fa8b9a256e7fcf823097759aa3c44e6390e3", "10.0.0.6:443"),
    ("/418c1c554186b78c11de89227fbc24ef128bce54", "10.0.0.8:443"),
    ("/bc86e565b76f8e6f560064b02ab26529b6064571", "10.0.0.3:443"),
    ("/5c6a9b50df69956bd2b937ce7871ba6d67678db6", "10.0.0.5:443"),
    ("/5726f95dd0b1b145ad1a06755580f42fea41ac2a", "10.0.0.9:443"),
    ("/db601a7f7e24504b820e5ef5276b2653ec6c17d9", "10.0.0.4:443"),
    ("/f428a38a0d3dbbb12d475aa8f5be917147175eaf", "10.0.0.6:443"),
    ("/b815ca5871d52098946eded8a3382d086747818f", "10.0.0.1:443"),
    ("/fc61e21e21c6c0a9e03807a2cad7c1e79a104786", "10.0.0.1:443"),
    ("/8278c52b97c1e805c1c7c1a62123ca0a87e2ea2a", "10.0.0.8:443"),
    ("/668fd6d99bfb50b85b0928a8915761be2ca19089", "10.0.0.2:443"),
    ("/fefbfb22035c938b44d305dbb71b11d531257af8", "10.0.0.2:443"),
]


def test_matches_nginx_sample_data() -> None:
    c = ring(*(f"10.0.0.{i}:443" for i in range(1, 10)), weight=100)
    assert len(c) == 9 * 100 * 160  # no collisions in this ring
    for uri, upstream in NGINX_SAMPLE_ROWS:
        assert c.node(uri.encode()) == upstream, uri


def test_node_iter() -> None:
    c = ring("127.0.0.1:7777", "127.0.0.1:7778", "127.0.0.1:7779")
    assert take(c, b"doghash", 8) == [
        "127.0.0.1:7778",
        "127.0.0.1:7779",
        "127.0.0.1:7779",
        "127.0.0.1:7777",
        "127.0.0.1:7777",
        "127.0.0.1:7778",
        "127.0.0.1:7778",
        "127.0.0.1:7779",
    ]

    # Drop 127.0.0.1:7778: its points vanish and the rest of the walk is unchanged.
    c = ring("127.0.0.1:7777", "127.0.0.1:7779")
    assert take(c, b"doghash", 5) == [
        "127.0.0.1:7779",
        "127.0.0.1:7779",
        "127.0.0.1:7777",
        "127.0.0.1:7777",
        "127.0.0.1:7779",
    ]


def test_node_iter_wraps_forever() -> None:
    c = ring("127.0.0.1:7777", "127.0.0.1:7778")
    n = len(c)
    walked = take(c, b"doghash", 2 * n + 1)
    assert walked[0] == c.node(b"doghash")
    assert walked[:n] == walked[n : 2 * n]  # after len(c) steps the walk is back at its start
    assert walked[2 * n] == walked[0]
    assert Counter(walked[:n]) == {"127.0.0.1:7777": 160, "127.0.0.1:7778": 160}

    single = ring("127.0.0.1:7777")
    assert take(single, b"doghash", 2 * len(single) + 1) == ["127.0.0.1:7777"] * 321


def test_empty() -> None:
    c = Continuum([])
    assert c.node(b"doghash") is None
    assert c.node_idx(b"doghash") == 0
    assert list(c.node_iter(b"doghash")) == []
    assert len(c) == 0


def test_ipv6_ring() -> None:
    c = ring("[::1]:7777", "[::1]:7778", "[::1]:7779")
    assert take(c, b"doghash", 7) == [
        "[::1]:7777",
        "[::1]:7778",
        "[::1]:7777",
        "[::1]:7778",
        "[::1]:7778",
        "[::1]:7777",
        "[::1]:7779",
    ]
