"""HeaderMap semantics and the validation that keeps invalid bytes off the wire."""

from __future__ import annotations

from typing import Any

import pytest

from pingora_http import (
    CANONICAL_REASONS,
    HeaderMap,
    InvalidHeaderError,
    RequestHeader,
    ResponseHeader,
    canonical_reason,
)


def test_append_get_get_all_and_case_insensitive_lookup() -> None:
    headers = HeaderMap()
    assert headers.append("Set-Cookie", "a=1") is False
    assert headers.append(b"X-Other", b"x") is False
    assert headers.append("set-cookie", "b=2") is True
    assert headers.get("SET-COOKIE") == b"a=1"
    assert headers.get(b"set-cookie") == b"a=1"
    assert headers.get_all("Set-Cookie") == [b"a=1", b"b=2"]
    assert headers.get("missing") is None
    assert headers.get_all("missing") == []
    assert "x-OTHER" in headers
    assert 3 not in headers
    assert len(headers) == 3
    assert headers.keys() == [b"set-cookie", b"x-other", b"set-cookie"]
    assert headers.values() == [b"a=1", b"x", b"b=2"]
    assert list(headers) == [(b"Set-Cookie", b"a=1"), (b"X-Other", b"x"), (b"set-cookie", b"b=2")]


@pytest.mark.parametrize(
    ("start", "name", "expected"),
    [
        # replaces at the first one's place, drops the rest, remembers the new case
        ([("A", "1"), ("B", "2"), ("a", "3")], "A", [(b"A", b"new"), (b"B", b"2")]),
        ([("A", "1"), ("B", "2"), ("a", "3")], "a", [(b"a", b"new"), (b"B", b"2")]),
        ([("B", "2"), ("a", "1"), ("A", "3"), ("a", "4")], "A", [(b"B", b"2"), (b"A", b"new")]),
        # absent: appended at the end
        ([("B", "2")], "Z", [(b"B", b"2"), (b"Z", b"new")]),
        ([], "Z", [(b"Z", b"new")]),
    ],
)
def test_insert(
    start: list[tuple[str, str]], name: str, expected: list[tuple[bytes, bytes]]
) -> None:
    headers = HeaderMap(start)
    headers.insert(name, "new")
    assert headers.items() == expected
    assert headers.to_h1_wire() == b"".join(n + b": " + v + b"\r\n" for n, v in expected)


@pytest.mark.parametrize(
    ("start", "name", "returned", "left"),
    [
        ([("A", "1"), ("B", "2"), ("a", "3")], "a", b"1", [(b"B", b"2")]),
        ([("A", "1"), ("B", "2"), ("a", "3")], b"B", b"2", [(b"A", b"1"), (b"a", b"3")]),
        ([("A", "1")], "missing", None, [(b"A", b"1")]),
        ([], "A", None, []),
        ([("X", "1"), ("X", "2"), ("X", "3")], "x", b"1", []),
    ],
)
def test_remove(
    start: list[tuple[str, str]], name: str, returned: bytes | None, left: list[tuple[bytes, bytes]]
) -> None:
    headers = HeaderMap(start)
    assert headers.remove(name) == returned
    assert headers.items() == left


def test_values_accept_str_bytes_and_int() -> None:
    headers = HeaderMap()
    headers.append("A", "caf\xe9")
    headers.append("B", b"\xff\x80 obs-text\ttab")
    headers.append("C", 42)
    assert headers.items() == [(b"A", b"caf\xe9"), (b"B", b"\xff\x80 obs-text\ttab"), (b"C", b"42")]


def test_copy_is_independent_and_equality_is_by_content() -> None:
    headers = HeaderMap([("A", "1")])
    other = headers.copy()
    assert other == headers
    other.append("B", "2")
    assert other != headers
    assert headers.items() == [(b"A", b"1")]
    assert HeaderMap([("a", "1")]) != HeaderMap([("A", "1")])
    assert HeaderMap([("A", "1")], preserve_case=False) == HeaderMap(
        [("a", "1")], preserve_case=False
    )
    assert "A" in repr(headers)
    headers.clear()
    assert len(headers) == 0
    assert headers.to_h1_wire() == b""


def test_no_case_map_titles_common_names_only() -> None:
    headers = HeaderMap(preserve_case=False)
    for name in ("CONTENT-LENGTH", "content-type", "Host", "date", "X-Custom", "etag"):
        headers.append(name, "v")
    assert headers.keys() == [
        b"content-length",
        b"content-type",
        b"host",
        b"date",
        b"x-custom",
        b"etag",
    ]
    assert headers.to_h1_wire() == (
        b"Content-Length: v\r\nContent-Type: v\r\nHost: v\r\nDate: v\r\nx-custom: v\r\nETag: v\r\n"
    )


@pytest.mark.parametrize(
    "name",
    [
        "",
        "Bad Name",
        "Bad:Name",
        "Bad\r\nName",
        "Bad\x00",
        "Bad(",
        "caf\xe9",
        "\u20ac",
        b"a b",
        b"\x7f",
    ],
)
def test_invalid_names_are_refused(name: str | bytes) -> None:
    headers = HeaderMap()
    with pytest.raises(InvalidHeaderError, match="header name"):
        headers.append(name, "v")
    with pytest.raises(InvalidHeaderError, match="header name"):
        headers.insert(name, "v")
    assert len(headers) == 0


@pytest.mark.parametrize(
    "value",
    [
        "a\r\nInjected: 1",
        "a\nb",
        "a\rb",
        "a\x00b",
        "a\x01",
        "\x7f",
        b"a\r\n",
        b"\x00",
        b"\x1f",
        "\u20ac",
    ],
)
def test_invalid_values_are_refused(value: str | bytes) -> None:
    headers = HeaderMap()
    with pytest.raises(InvalidHeaderError, match="header value"):
        headers.append("X", value)
    with pytest.raises(InvalidHeaderError, match="header value"):
        headers.insert("X", value)
    if isinstance(value, bytes) or value.isascii():
        raw = value if isinstance(value, bytes) else value.encode("ascii")
        with pytest.raises(InvalidHeaderError, match="header value"):
            headers.append_raw(b"X", raw)
    assert len(headers) == 0


@pytest.mark.parametrize(
    ("name", "value"), [(3, "v"), (None, "v"), ("X", 1.5), ("X", None), ("X", True)]
)
def test_wrong_types_raise_type_error(name: Any, value: Any) -> None:
    with pytest.raises(TypeError):
        HeaderMap().append(name, value)


def test_append_raw_checks_names() -> None:
    headers = HeaderMap()
    with pytest.raises(InvalidHeaderError, match="header name"):
        headers.append_raw(b"Bad Name", b"v")
    headers.append_raw(b"Good-Name", b"v")
    assert headers.items() == [(b"Good-Name", b"v")]


@pytest.mark.parametrize("method", ["", "GE T", "GET\r\n", "G\x00", b"(GET)", "G\xc9T"])
def test_invalid_methods_are_refused(method: str | bytes) -> None:
    with pytest.raises(InvalidHeaderError, match="method"):
        RequestHeader.build(method, "/")
    req = RequestHeader.build("GET", "/")
    with pytest.raises(InvalidHeaderError, match="method"):
        req.set_method(method)
    assert req.method == "GET"


def test_extension_methods_are_kept_as_given() -> None:
    req = RequestHeader.build(b"PURGE", "/")
    assert req.method == "PURGE"
    req.method = "get"
    assert req.to_h1_wire() == b"get / HTTP/1.1\r\n\r\n"


@pytest.mark.parametrize("target", ["/a b", "/a\r\n", "/\x00", b"/\x7f", b"/a\tb", " "])
def test_invalid_targets_are_refused(target: str | bytes) -> None:
    with pytest.raises(InvalidHeaderError, match="request target"):
        RequestHeader.build("GET", target)


def test_str_targets_are_utf8() -> None:
    req = RequestHeader.build("GET", "/caf\xe9")
    assert req.raw_path == b"/caf\xc3\xa9"
    assert req.uri == "/caf\xe9"


@pytest.mark.parametrize("status", [99, 1000, -1, True, "20", "abc", b"2000", 200.0])
def test_invalid_statuses_are_refused(status: Any) -> None:
    with pytest.raises(InvalidHeaderError, match="status"):
        ResponseHeader.build(status)
    resp = ResponseHeader.build(200)
    with pytest.raises(InvalidHeaderError, match="status"):
        resp.set_status(status)
    assert resp.status == 200


@pytest.mark.parametrize(("status", "code"), [(100, 100), (999, 999), ("404", 404), (b"503", 503)])
def test_statuses(status: int | str | bytes, code: int) -> None:
    assert ResponseHeader.build(status).status == code


def test_unknown_status_has_no_canonical_reason() -> None:
    resp = ResponseHeader.build(599)
    assert resp.reason_phrase is None
    assert resp.to_h1_wire() == b"HTTP/1.1 599 \r\n\r\n"
    assert canonical_reason(404) == "Not Found" == CANONICAL_REASONS[404]


@pytest.mark.parametrize("reason", ["a\r\nb", "\x00", b"\n", "\u20ac"])
def test_invalid_reason_phrases_are_refused(reason: str | bytes) -> None:
    resp = ResponseHeader.build(200)
    with pytest.raises(InvalidHeaderError, match="reason phrase"):
        resp.set_reason_phrase(reason)
    assert resp.reason_phrase == "OK"


@pytest.mark.parametrize(
    ("version", "expected", "wire"),
    [
        ("HTTP/1.1", "HTTP/1.1", b"HTTP/1.1"),
        ("HTTP/1.0", "HTTP/1.0", b"HTTP/1.0"),
        (b"1.0", "HTTP/1.0", b"HTTP/1.0"),
        ("HTTP/2", "HTTP/2", b"HTTP/1.1"),
        ("HTTP/2.0", "HTTP/2", b"HTTP/1.1"),
    ],
)
def test_versions(version: str | bytes, expected: str, wire: bytes) -> None:
    req = RequestHeader.build("GET", "/")
    req.set_version(version)
    assert req.version == expected
    assert req.to_h1_wire() == b"GET / " + wire + b"\r\n\r\n"
    resp = ResponseHeader.build(204)
    resp.version = version
    assert resp.version == expected
    assert resp.to_h1_wire() == wire + b" 204 No Content\r\n\r\n"


@pytest.mark.parametrize("version", ["HTTP/3", "1.2", "http/1.1", b"HTTP/0.9", 11])
def test_invalid_versions_are_refused(version: Any) -> None:
    with pytest.raises(InvalidHeaderError, match="version"):
        RequestHeader.build("GET", "/").set_version(version)


@pytest.mark.parametrize("hint", [-1, 1.5, "8", True])
def test_invalid_size_hints_are_refused(hint: Any) -> None:
    with pytest.raises(InvalidHeaderError, match="size hint"):
        RequestHeader.build("GET", "/", hint)
    with pytest.raises(InvalidHeaderError, match="size hint"):
        ResponseHeader.build(200, hint)


@pytest.mark.parametrize("length", [-1, 1.0, "5", True])
def test_invalid_content_lengths_are_refused(length: Any) -> None:
    with pytest.raises(InvalidHeaderError, match="content length"):
        ResponseHeader.build(200).set_content_length(length)


def test_repr_shows_state() -> None:
    req = RequestHeader.build("POST", "/x")
    req.append_header("Host", "h")
    assert repr(req) == (
        "RequestHeader(method='POST', raw_path=b'/x', version='HTTP/1.1', "
        "headers=[(b'Host', b'h')])"
    )
    resp = ResponseHeader.build(201)
    assert repr(resp) == (
        "ResponseHeader(status=201, reason_phrase='Created', version='HTTP/1.1', headers=[])"
    )


def test_response_copy_and_equality() -> None:
    resp = ResponseHeader.build(200)
    resp.set_reason_phrase("Fine")
    resp.append_header("A", "1")
    other = resp.copy()
    assert other == resp
    other.set_status(201)
    assert other != resp
    assert resp != RequestHeader.build("GET", "/")
