"""The parsers' and servers' fast paths into the header types give what the public, checked
calls give: `RequestHeader._from_h1` (checked in bulk), `RequestHeader._from_h1_checked`
(for heads the caller validated), `HeaderMap._put`, and the short ways through
`ResponseHeader(...)`, `append_header` and `to_h1_wire`."""

from __future__ import annotations

import pytest

from pingora_http import HeaderMap, InvalidHeaderError, RequestHeader, ResponseHeader


def public_request(
    method: str, target: bytes, version: str, fields: list[tuple[bytes, bytes]]
) -> RequestHeader:
    request = RequestHeader(method, target, version=version)
    for name, value in fields:
        request.append_raw(name, value)
    return request


FIELDS = [(b"Host", b"example.com"), (b"X-Case", b"Kept"), (b"x-case", b"caf\xe9"), (b"E", b"")]


@pytest.mark.parametrize(
    ("method", "target", "version"),
    [
        (b"GET", b"/a?b", b"1.1"),
        (b"PURGE", b"/", b"1.0"),
        (b"GET", b"http://example.com/x", b"1.1"),
        (b"CONNECT", b"example.com:443", b"1.1"),
        (b"OPTIONS", b"*", b"1.1"),
        (b"GET", b"/\xff", b"1.1"),
    ],
)
def test_from_h1_equals_the_public_construction(
    method: bytes, target: bytes, version: bytes
) -> None:
    names = [n for n, _ in FIELDS]
    values = [v for _, v in FIELDS]
    fast = RequestHeader._from_h1(method, target, version, names, values)
    slow = public_request(method.decode(), target, "HTTP/" + version.decode(), FIELDS)
    assert fast == slow
    assert fast.headers.items() == slow.headers.items()
    assert (fast.uri, fast.raw_path, fast.raw_path_is_utf8) == (
        slow.uri,
        slow.raw_path,
        slow.raw_path_is_utf8,
    )
    assert fast.to_h1_wire() == slow.to_h1_wire()


@pytest.mark.parametrize(
    ("names", "values", "match"),
    [
        ([b"Host", b"Bad Name"], [b"a", b"b"], "name"),
        ([b"Host", b""], [b"a", b"b"], "name"),
        ([b"Host", b"X"], [b"a", b"b\r\nInjected: 1"], "value"),
        ([b"Host", b"X"], [b"a", b"\x00"], "value"),
        ([b"Host", b"X"], [b"a", b"\x7f"], "value"),
    ],
)
def test_from_h1_checks_names_and_values_in_bulk(
    names: list[bytes], values: list[bytes], match: str
) -> None:
    with pytest.raises(InvalidHeaderError, match=match):
        RequestHeader._from_h1(b"GET", b"/", b"1.1", names, values)


def test_from_h1_checks_method_target_and_version() -> None:
    with pytest.raises(InvalidHeaderError, match="method"):
        RequestHeader._from_h1(b"G(T", b"/", b"1.1", [], [])
    with pytest.raises(InvalidHeaderError, match="target"):
        RequestHeader._from_h1(b"GET", b"/a b", b"1.1", [], [])
    with pytest.raises(InvalidHeaderError, match="version"):
        RequestHeader._from_h1(b"GET", b"/", b"3.0", [], [])


def test_from_h1_checked_equals_the_public_construction() -> None:
    for method in (b"GET", b"HEAD", b"POST", b"PURGE"):
        names = [n for n, _ in FIELDS]  # the lists are taken over: fresh ones each time
        keys = [n.lower() for n in names]
        values = [v for _, v in FIELDS]
        fast = RequestHeader._from_h1_checked(method, b"/p?q", "HTTP/1.1", names, keys, values)
        slow = public_request(method.decode(), b"/p?q", "HTTP/1.1", FIELDS)
        assert fast == slow
        assert fast.method == method.decode()
        assert (fast.uri, fast.path, fast.query) == ("/p?q", "/p", "q")
        assert fast.headers.keys() == [n.lower() for n, _ in FIELDS]
        assert fast.to_h1_wire() == slow.to_h1_wire()
        fast.append_header("X-More", "1")  # the map it got is a working one
        assert fast.get("x-more") == b"1"


def test_put_appends_a_new_field_and_replaces_an_old_one() -> None:
    headers = HeaderMap([("Server", "a")])
    headers._put(b"date", b"Date", b"Sun, 06 Nov 1994 08:49:37 GMT")
    assert headers.wire_items() == [(b"Server", b"a"), (b"Date", b"Sun, 06 Nov 1994 08:49:37 GMT")]
    headers.append("connection", "x")
    headers.append("CONNECTION", "y")
    headers._put(b"connection", b"Connection", b"close")  # one field left, at the first place
    assert headers.wire_items() == [
        (b"Server", b"a"),
        (b"Date", b"Sun, 06 Nov 1994 08:49:37 GMT"),
        (b"Connection", b"close"),
    ]
    no_case = HeaderMap(preserve_case=False)
    no_case._put(b"date", b"date", b"today")
    assert no_case.to_h1_wire() == b"Date: today\r\n"


@pytest.mark.parametrize("status", [200, "200", b"200"])
def test_response_short_way_equals_the_long_one(status: int | str | bytes) -> None:
    resp = ResponseHeader(status)
    assert resp.status == 200
    assert resp.version == "HTTP/1.1"
    assert ResponseHeader(status, version=b"HTTP/1.1") == resp


@pytest.mark.parametrize("status", [True, 99, 1000, "20", 200.0])
def test_response_status_still_checked(status: object) -> None:
    with pytest.raises((InvalidHeaderError, TypeError)):
        ResponseHeader(status)  # type: ignore[arg-type]


def test_append_header_text_values() -> None:
    resp = ResponseHeader(200)
    resp.append_header("X-Ascii", "plain text")
    resp.append_header("X-Latin", "caf\xe9")  # not ASCII: the checked way, latin-1
    resp.append_header("X-Tab", "a\tb")  # not printable but valid: the checked way
    resp.append_header("X-Int", 5)
    assert resp.headers.values() == [b"plain text", b"caf\xe9", b"a\tb", b"5"]
    for bad in ("a\r\nInjected: 1", "a\x00", "a\x7f", "\u20ac"):
        with pytest.raises(InvalidHeaderError):
            resp.append_header("X-Bad", bad)


@pytest.mark.parametrize(
    ("build", "line"),
    [
        (lambda: ResponseHeader(200), b"HTTP/1.1 200 OK\r\n"),
        (lambda: ResponseHeader(404, version="HTTP/1.0"), b"HTTP/1.0 404 Not Found\r\n"),
        (lambda: ResponseHeader(599), b"HTTP/1.1 599 \r\n"),
    ],
)
def test_to_h1_wire_status_lines(build: object, line: bytes) -> None:
    resp = build()  # type: ignore[operator]
    resp.append_header("Content-Length", "0")
    assert resp.to_h1_wire() == line + b"Content-Length: 0\r\n\r\n"


def test_to_h1_wire_custom_reason() -> None:
    resp = ResponseHeader(200)
    resp.set_reason_phrase("Fine")
    assert resp.to_h1_wire() == b"HTTP/1.1 200 Fine\r\n\r\n"
