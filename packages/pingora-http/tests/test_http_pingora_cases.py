"""Cases ported from Pingora's pingora-http unit tests (lib.rs, case_header_name.rs, authority.rs).

Each table row is one of Pingora's assertions; the expected bytes are Pingora's.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pingora_http import (
    RawTargetAuthority,
    RequestHeader,
    ResponseHeader,
    raw_target_authority,
)

Message = RequestHeader | ResponseHeader
MAKERS: list[tuple[str, Callable[[], Message]]] = [
    ("request", lambda: RequestHeader.build("GET", b"/")),
    ("response", lambda: ResponseHeader.build(200)),
]
NO_CASE_MAKERS: list[tuple[str, Callable[[], Message]]] = [
    ("request", lambda: RequestHeader.build_no_case("GET", b"/")),
    ("response", lambda: ResponseHeader.build_no_case(200)),
]


def fields_wire(message: Message) -> bytes:
    """The header lines of `message`'s HTTP/1 head (start line and blank line removed)."""
    head = message.to_h1_wire()
    start_end = head.index(b"\r\n") + 2
    assert head.endswith(b"\r\n\r\n") or head[start_end:] == b"\r\n"
    return head[start_end:-2]


@pytest.mark.parametrize(("kind", "make"), MAKERS, ids=[k for k, _ in MAKERS])
def test_single_header(kind: str, make: Callable[[], Message]) -> None:
    message = make()
    message.insert_header("foo", "bar")
    message.insert_header("FoO", "Bar")
    assert fields_wire(message) == b"FoO: Bar\r\n"
    assert message.headers.items() == [(b"FoO", b"Bar")]


@pytest.mark.parametrize(("kind", "make"), NO_CASE_MAKERS, ids=[k for k, _ in NO_CASE_MAKERS])
def test_single_header_no_case(kind: str, make: Callable[[], Message]) -> None:
    message = make()
    message.insert_header("foo", "bar")
    message.insert_header("FoO", "Bar")
    assert fields_wire(message) == b"foo: Bar\r\n"
    assert not message.has_case()


@pytest.mark.parametrize(("kind", "make"), MAKERS, ids=[k for k, _ in MAKERS])
def test_multiple_header(kind: str, make: Callable[[], Message]) -> None:
    message = make()
    for name, value in [("FoO", "Bar"), ("fOO", "bar"), ("BAZ", "baR")]:
        message.append_header(name, value)
    message.set_content_length(0)
    message.append_header("a", "b")
    message.remove_header("a")
    assert fields_wire(message) == b"FoO: Bar\r\nfOO: bar\r\nBAZ: baR\r\nContent-Length: 0\r\n"
    assert message.headers.items() == [
        (b"FoO", b"Bar"),
        (b"fOO", b"bar"),
        (b"BAZ", b"baR"),
        (b"Content-Length", b"0"),
    ]


def test_case_header_name() -> None:
    # A name keeps the case it was given; a name without case comes out titled when common.
    req = RequestHeader.build("GET", "/")
    req.append_header("FoO", "1")
    req.append_header(b"FoO", "2")
    assert req.headers.wire_items() == [(b"FoO", b"1"), (b"FoO", b"2")]
    no_case = ResponseHeader.build_no_case(200)
    no_case.append_header("server", "x")
    no_case.append_header("SERVER", "y")
    assert no_case.headers.wire_items() == [(b"Server", b"x"), (b"Server", b"y")]
    assert no_case.headers.items() == [(b"server", b"x"), (b"server", b"y")]


def test_reason_phrase() -> None:
    resp = ResponseHeader.build(200)
    steps: list[tuple[str | None, str]] = [
        ("FooBar", "FooBar"),
        ("OK", "OK"),
        (None, "OK"),
    ]
    assert resp.reason_phrase == "OK"
    for new, expected in steps:
        resp.set_reason_phrase(new)
        assert resp.reason_phrase == expected
    # Setting the canonical phrase stores nothing, so a later status change shows its own.
    resp.set_reason_phrase("OK")
    resp.set_status(404)
    assert resp.reason_phrase == "Not Found"
    assert resp.to_h1_wire() == b"HTTP/1.1 404 Not Found\r\n\r\n"
    resp.set_reason_phrase("Nope")
    assert resp.to_h1_wire() == b"HTTP/1.1 404 Nope\r\n\r\n"


def test_set_content_length() -> None:
    resp = ResponseHeader.build(200)
    resp.set_content_length(10)
    assert resp.get("content-length") == b"10"
    resp.set_content_length(11)
    assert resp.get_all("Content-Length") == [b"11"]


@pytest.mark.parametrize(
    ("target", "uri", "raw", "utf8"),
    [
        # test_invalid_path: no leading slash, not UTF-8: rooted uri, raw kept
        (b"Hello\xf0\x90\x80World", "/", b"Hello\xf0\x90\x80World", False),
        # test_invalid_path_with_leading_slash_reaches_the_uri
        (b"/Hello\xf0\x90\x80World", "/Hello\ufffdWorld", b"/Hello\xf0\x90\x80World", False),
        (b"/Hello\xf0\x90\x80World?q=1", "/Hello\ufffdWorld?q=1", None, False),
        (b"/\xf0\x90\x80", "/\ufffd", None, False),
        # test_absolute_form_*
        (b"http://host/path?query=1", "/path?query=1", None, True),
        (b"https://example.com/a/b/c?d=e", "/a/b/c?d=e", None, True),
        (b"http://host", "/", b"http://host", True),
        (b"http://host/", "/", None, True),
        (b"http://host?query=1", "/?query=1", b"http://host?query=1", True),
        (b"http://host:8080/path?q=1", "/path?q=1", None, True),
        (b"http://host:8080/path", "/path", None, True),
        (b"HTTP://HOST/path", "/path", None, True),
        (b"ftp://host/path", "/path", None, True),
        # test_origin_form_* and asterisk-form
        (b"/path?q=1", "/path?q=1", None, True),
        (b"/redir?url=http://other", "/redir?url=http://other", None, True),
        (b"*", "*", None, True),
        # test_fragment_is_not_forwarded
        (b"http://host/p#frag", "/p", b"http://host/p", True),
        (b"http://host#frag", "/", b"http://host", True),
        (b"http://host?q=1#frag", "/?q=1", b"http://host?q=1", True),
        (b"http://host#@evil.example/", "/", b"http://host", True),
        (b"/p#frag", "/p", b"/p", True),
        (b"http://host/p\xff#frag", "/p\ufffd", b"http://host/p\xff", False),
        (b"/a\xff#frag", "/a\ufffd", b"/a\xff", False),
        # test_target_that_is_only_a_fragment_falls_back_to_root
        (b"", "/", b"/", True),
        (b"#", "/", b"/", True),
        (b"#frag", "/", b"/", True),
        (b"#/admin", "/", b"/", True),
        (b"*#frag", "*", b"*", True),
        (b"?q=1#frag", "/?q=1", b"?q=1", True),
        # test_query_only_target_keeps_its_query
        (b"?q=1", "/?q=1", b"?q=1", True),
        # test_unclassifiable_targets_are_anchored_to_the_root
        (b"foo:bar://evil.example/admin", "/", None, True),
        (b"myproto:x://evil.example/admin", "/", None, True),
        (b"myproto:opaque", "/", None, True),
        (b"http:///path", "/", None, True),
        # test_relative_target_without_a_scheme_is_anchored_to_the_root
        (b"foo/bar", "/", None, True),
        (b"host/admin", "/", None, True),
        (b"foo", "/", None, True),
        (b"foo?q=1", "/", None, True),
        # test_origin_form_raw_path_is_byte_identical
        (b"/", "/", None, True),
        (b"/index.html", "/index.html", None, True),
        (b"/a/b/c?d=e&f=g", "/a/b/c?d=e&f=g", None, True),
        (b"/%2e%2e/x", "/%2e%2e/x", None, True),
        (b"/a+b/c%20d", "/a+b/c%20d", None, True),
    ],
)
def test_request_target_forms(target: bytes, uri: str, raw: bytes | None, utf8: bool) -> None:
    req = RequestHeader.build("GET", target)
    assert req.uri == uri
    assert req.raw_path == (target if raw is None else raw)
    assert req.raw_path_is_utf8 is utf8
    # The wire always carries raw_path.
    assert req.to_h1_wire().split(b" ")[1] == req.raw_path


@pytest.mark.parametrize(
    "target",
    [
        b"example.com:443",
        b"[v7.x]:443",
        b"[vF.a:b~!$&'()*+,;=]:8443",
        b"[::1]:443",
        b"[2001:db8::1]:8443",
        b"127.0.0.1:443",
        b"sub.example.com:8080",
        b"host-with-dash:1",
        b"a_b:443",
    ],
)
def test_connect_authority_form_shapes_pass_through(target: bytes) -> None:
    req = RequestHeader.build("CONNECT", target)
    assert req.raw_path == target
    assert req.uri == "/"
    assert req.to_h1_wire() == b"CONNECT " + target + b" HTTP/1.1\r\n\r\n"


def test_connect_fragment_and_non_utf8() -> None:
    req = RequestHeader.build("CONNECT", b"host:443#x")
    assert req.raw_path == b"host:443"
    req = RequestHeader.build("CONNECT", b"ho\xffst:443")
    assert req.raw_path == b"ho\xffst:443"
    assert req.uri == "/"
    assert not req.raw_path_is_utf8


def test_set_uri_and_set_raw_path_replace_all_target_state() -> None:
    # test_override_invalid_path / test_set_uri_clears_non_origin_form_target /
    # test_set_raw_path_replaces_all_target_state / test_set_raw_path_clears_stale_connect_fallback
    req = RequestHeader.build("GET", b"Hello\xf0\x90\x80World")
    req.set_uri("/HelloWorld")
    assert (req.uri, req.raw_path, req.raw_path_is_utf8) == ("/HelloWorld", b"/HelloWorld", True)

    req = RequestHeader.build("GET", b"http://host/abs?q=1")
    req.set_uri("/replaced")
    assert req.raw_path == b"/replaced"

    req = RequestHeader.build("GET", b"/path-\xff")
    assert not req.raw_path_is_utf8
    req.set_raw_path(b"/plain")
    assert (req.raw_path, req.uri, req.raw_path_is_utf8) == (b"/plain", "/plain", True)
    req.set_raw_path(b"http://host/abs?q=1")
    assert (req.raw_path, req.path) == (b"http://host/abs?q=1", "/abs")

    req = RequestHeader.build("CONNECT", b"example.com:443")
    req.set_method("GET")
    req.set_raw_path(b"/ok")
    assert (req.raw_path, req.uri) == (b"/ok", "/ok")

    req = RequestHeader.build("GET", b"/original")
    req.set_raw_path(b"http://host/mutated?q=1")
    assert (req.uri, req.path, req.query) == ("/mutated?q=1", "/mutated", "q=1")


def test_copy_keeps_non_origin_form_target() -> None:
    req = RequestHeader.build("GET", b"http://host:8080/p?q=1")
    req.append_header("X-A", "1")
    cloned = req.copy()
    assert cloned == req
    assert (cloned.raw_path, cloned.uri, cloned.raw_path_is_utf8) == (
        req.raw_path,
        req.uri,
        req.raw_path_is_utf8,
    )
    cloned.append_header("X-B", "2")
    assert req.get("x-b") is None


NONE = RawTargetAuthority(kind="none")
AMBIGUOUS = RawTargetAuthority(kind="ambiguous")


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (
            b"http://authority.example/test",
            RawTargetAuthority(
                kind="absolute",
                scheme=b"http",
                authority=b"authority.example",
                path_and_query=b"/test",
            ),
        ),
        (
            b"http://user@authority.example:8443/test?a=b",
            RawTargetAuthority(
                kind="absolute",
                scheme=b"http",
                authority=b"user@authority.example:8443",
                path_and_query=b"/test?a=b",
            ),
        ),
        (
            b"http://authority.example",
            RawTargetAuthority(kind="absolute", scheme=b"http", authority=b"authority.example"),
        ),
        (b"http:/\\/\\authority.example/test", AMBIGUOUS),
        (b"https:authority.example/test", AMBIGUOUS),
        (b"http://good.example\\evil.example/", AMBIGUOUS),
        (b"ht_tp://other.example/admin", AMBIGUOUS),
        (b"9x://other.example/admin", AMBIGUOUS),
        (b"http:///path", AMBIGUOUS),
        (b"https://?query", AMBIGUOUS),
        (b"ws://good.example\\evil.example/", AMBIGUOUS),
        (b"wss://good.example\\evil.example/", AMBIGUOUS),
        (
            b"file:///path",
            RawTargetAuthority(kind="absolute", scheme=b"file", path_and_query=b"/path"),
        ),
        (
            b"ftp://good.example\\evil.example/",
            RawTargetAuthority(
                kind="absolute",
                scheme=b"ftp",
                authority=b"good.example\\evil.example",
                path_and_query=b"/",
            ),
        ),
        (b"/test", NONE),
        (b":opaque", NONE),
        (b"/redirect?next=http://user@evil.example/", NONE),
        (b"/test#http://user@evil.example/", NONE),
        (b"foo:bar://user@example/path", NONE),
    ],
)
def test_classify_raw_target_authority(target: bytes, expected: RawTargetAuthority) -> None:
    assert raw_target_authority(target) == expected


def test_host_lookup_order() -> None:
    req = RequestHeader.build("GET", b"http://target.example/x")
    assert req.host() == "target.example"
    req.append_header("Host", "header.example")
    assert req.host() == "header.example"
    req.authority = "pseudo.example"
    assert req.host() == "pseudo.example"
    assert RequestHeader.build("GET", "/").host() is None
