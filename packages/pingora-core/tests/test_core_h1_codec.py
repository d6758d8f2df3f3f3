"""The HTTP/1 request codec seam: the conformance table (both backends give the same answer),
backend selection, and the public names."""

from __future__ import annotations

import pytest

from pingora_core.protocols.http import v1
from pingora_core.protocols.http.v1 import (
    BodyData,
    H1Limits,
    MessageEnd,
    ParseError,
    RequestHead,
    RequestParser,
    available_h1_backends,
    current_h1_backend,
    select_h1_backend,
)
from pingora_core.protocols.http.v1 import codec as codec_module

BACKENDS = available_h1_backends()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


def parse(raw: bytes, backend: str, limits: H1Limits | None = None) -> list[object]:
    return list(RequestParser(backend, limits).feed(raw))


def status_of(raw: bytes, backend: str, limits: H1Limits | None = None) -> int:
    events = parse(raw, backend, limits)
    assert events, "the head should be complete"
    first = events[0]
    if isinstance(first, ParseError):
        return first.status
    assert isinstance(first, RequestHead)
    return 200


H = b"Host: example.com\r\n"
P = b"POST / HTTP/1.1\r\n" + H
TE = b"Transfer-Encoding: "
CL = b"Content-Length: "

# (id, raw request, expected status: 200 = accepted)
TABLE: list[tuple[str, bytes, int]] = [
    ("simple", b"GET / HTTP/1.1\r\n" + H + b"\r\n", 200),
    ("http10 no host", b"GET / HTTP/1.0\r\n\r\n", 200),
    ("custom method", b"PURGE /x HTTP/1.1\r\n" + H + b"\r\n", 200),
    ("unknown token method", b"FROB /x HTTP/1.1\r\n" + H + b"\r\n", 200),
    ("absolute form", b"GET http://example.com/a?b HTTP/1.1\r\n" + H + b"\r\n", 200),
    ("connect", b"CONNECT example.com:443 HTTP/1.1\r\n" + H + b"\r\n", 200),
    ("options asterisk", b"OPTIONS * HTTP/1.1\r\n" + H + b"\r\n", 200),
    ("leading empty line", b"\r\nGET / HTTP/1.1\r\n" + H + b"\r\n", 200),
    ("obs-text value", b"GET / HTTP/1.1\r\n" + H + b"X: caf\xe9\r\n\r\n", 200),
    ("empty value", b"GET / HTTP/1.1\r\n" + H + b"X:\r\n\r\n", 200),
    # request line
    ("bad version", b"GET / HTP/1.1\r\n" + H + b"\r\n", 400),
    ("lowercase version", b"GET / http/1.1\r\n" + H + b"\r\n", 400),
    ("double space", b"GET  / HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("trailing space", b"GET / HTTP/1.1 \r\n" + H + b"\r\n", 400),
    ("missing target", b"GET HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("space in target", b"GET /a b HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("control in target", b"GET /a\x01b HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("non-ascii target", b"GET /\xf0\x90 HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("relative target", b"GET foo HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("asterisk not options", b"GET * HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("connect with path", b"CONNECT /x HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("bad method char", b"G(T / HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("http/2.0 on h1", b"GET / HTTP/2.0\r\n" + H + b"\r\n", 505),
    ("http/1.2", b"GET / HTTP/1.2\r\n" + H + b"\r\n", 505),
    ("http/0.9 style", b"GET /\r\n\r\n", 400),
    # header syntax
    ("space before colon", b"GET / HTTP/1.1\r\nHost : example.com\r\n\r\n", 400),
    ("tab before colon", b"GET / HTTP/1.1\r\n" + H + b"X\t: 1\r\n\r\n", 400),
    ("no colon", b"GET / HTTP/1.1\r\n" + H + b"Broken\r\n\r\n", 400),
    ("empty name", b"GET / HTTP/1.1\r\n" + H + b": v\r\n\r\n", 400),
    ("obs-fold space", b"GET / HTTP/1.1\r\n" + H + b"X: a\r\n b\r\n\r\n", 400),
    ("obs-fold tab", b"GET / HTTP/1.1\r\n" + H + b"X: a\r\n\tb\r\n\r\n", 400),
    ("bare CR in value", b"GET / HTTP/1.1\r\n" + H + b"X: a\rb\r\n\r\n", 400),
    ("bare LF line end", b"GET / HTTP/1.1\n" + H + b"\r\n", 400),
    ("bare LF in value", b"GET / HTTP/1.1\r\n" + H + b"X: a\nb\r\n\r\n", 400),
    ("NUL in value", b"GET / HTTP/1.1\r\n" + H + b"X: a\x00b\r\n\r\n", 400),
    ("DEL in value", b"GET / HTTP/1.1\r\n" + H + b"X: a\x7fb\r\n\r\n", 400),
    ("control in value", b"GET / HTTP/1.1\r\n" + H + b"X: a\x01b\r\n\r\n", 400),
    ("non-token name", b"GET / HTTP/1.1\r\n" + H + b"X(y): 1\r\n\r\n", 400),
    # Host
    ("1.1 without host", b"GET / HTTP/1.1\r\n\r\n", 400),
    ("two hosts", b"GET / HTTP/1.1\r\n" + H + H + b"\r\n", 400),
    ("1.0 two hosts", b"GET / HTTP/1.0\r\n" + H + H + b"\r\n", 400),
    # Content-Length
    ("cl ok", P + b"Content-Length: 3\r\n\r\n", 200),
    ("cl duplicated same", P + CL + b"3\r\n" + CL + b"3\r\n\r\n", 400),
    ("cl duplicated differ", P + CL + b"3\r\n" + CL + b"4\r\n\r\n", 400),
    ("cl list", P + b"Content-Length: 3, 3\r\n\r\n", 400),
    ("cl plus", P + b"Content-Length: +3\r\n\r\n", 400),
    ("cl negative", P + b"Content-Length: -1\r\n\r\n", 400),
    ("cl hex", P + b"Content-Length: 0x10\r\n\r\n", 400),
    ("cl empty", P + b"Content-Length:\r\n\r\n", 400),
    ("cl huge", P + b"Content-Length: 1" + b"0" * 30 + b"\r\n\r\n", 400),
    ("cl unicode digit", P + b"Content-Length: \xd9\xa3\r\n\r\n", 400),
    # Transfer-Encoding
    ("te chunked", P + TE + b"chunked\r\n\r\n", 200),
    ("te chunked case", P + TE + b"Chunked\r\n\r\n", 200),
    ("te on http10", b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
    ("te gzip", P + TE + b"gzip\r\n\r\n", 400),
    ("te chunked then gzip", P + TE + b"chunked, gzip\r\n\r\n", 400),
    ("te chunked twice", P + TE + b"chunked, chunked\r\n\r\n", 400),
    ("te two fields chunked twice", P + TE + b"chunked\r\n" + TE + b"chunked\r\n\r\n", 400),
    ("te gzip then chunked", P + TE + b"gzip, chunked\r\n\r\n", 501),
    ("te empty", P + b"Transfer-Encoding:\r\n\r\n", 400),
    ("te trailing comma", P + TE + b"chunked,\r\n\r\n", 400),
    ("te and cl", P + TE + b"chunked\r\nContent-Length: 3\r\n\r\n", 200),
]  # fmt: skip


@pytest.mark.parametrize(
    ("raw", "expected"), [(r, s) for _, r, s in TABLE], ids=[i for i, _, _ in TABLE]
)
def test_conformance_table(raw: bytes, expected: int, backend: str) -> None:
    assert status_of(raw, backend) == expected


@pytest.mark.parametrize(
    ("raw", "expected"), [(r, s) for _, r, s in TABLE], ids=[i for i, _, _ in TABLE]
)
def test_conformance_table_byte_by_byte(raw: bytes, expected: int, backend: str) -> None:
    parser = RequestParser(backend)
    events: list[object] = []
    for i in range(len(raw)):
        events += parser.feed(raw[i : i + 1])
    assert events
    first = events[0]
    got = first.status if isinstance(first, ParseError) else 200
    assert got == expected


def test_backends_agree_on_every_row() -> None:
    for _, raw, _ in TABLE:
        answers = {status_of(raw, name) for name in BACKENDS}
        assert len(answers) == 1, raw


def test_head_too_large_is_431(backend: str) -> None:
    limits = H1Limits(max_head_size=1024)
    big = b"GET / HTTP/1.1\r\n" + H + b"X: " + b"a" * 2000 + b"\r\n\r\n"
    assert status_of(big, backend, limits) == 431
    # also while the head is still incomplete: no waiting for its end
    events = RequestParser(backend, limits).feed(big[:1500])
    assert events == [ParseError(status=431, reason=events[0].reason)]  # type: ignore[union-attr]


def test_long_uri_is_414(backend: str) -> None:
    limits = H1Limits(max_request_line=100)
    raw = b"GET /" + b"a" * 200 + b" HTTP/1.1\r\n" + H + b"\r\n"
    assert status_of(raw, backend, limits) == 414
    events = RequestParser(backend, limits).feed(raw[:150])
    assert isinstance(events[0], ParseError)
    assert events[0].status == 414


def test_too_many_headers_is_431(backend: str) -> None:
    fields = b"".join(b"X-%d: v\r\n" % i for i in range(256))
    assert status_of(b"GET / HTTP/1.1\r\n" + H + fields + b"\r\n", backend) == 431
    ok = b"".join(b"X-%d: v\r\n" % i for i in range(255))
    assert status_of(b"GET / HTTP/1.1\r\n" + H + ok + b"\r\n", backend) == 200


def test_head_facts(backend: str) -> None:
    raw = (
        b"POST /up?x=1 HTTP/1.1\r\nHost: example.com\r\nX-Case: Kept\r\n"
        b"Content-Length: 3\r\nExpect: 100-continue\r\n\r\nabc"
    )
    events = parse(raw, backend)
    head = events[0]
    assert isinstance(head, RequestHead)
    req = head.request
    assert (req.method, req.uri, req.version) == ("POST", "/up?x=1", "HTTP/1.1")
    assert req.headers.items()[1] == (b"X-Case", b"Kept")
    assert head.body == "length"
    assert head.content_length == 3
    assert head.expect_continue
    assert head.keep_alive
    assert not head.upgrade
    assert head.head_size == len(raw) - 3
    assert events[1:] == [BodyData(data=b"abc"), MessageEnd()]


def test_te_with_cl_drops_cl_and_forbids_reuse(backend: str) -> None:
    raw = b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"
    raw += b"3\r\nabc\r\n0\r\n\r\n"
    events = parse(raw, backend)
    head = events[0]
    assert isinstance(head, RequestHead)
    assert head.body == "chunked"
    assert head.must_close
    assert head.request.headers.get("content-length") is None
    assert events[1:] == [BodyData(data=b"abc"), MessageEnd()]


@pytest.mark.parametrize(
    ("raw", "keep_alive"),
    [
        (b"GET / HTTP/1.1\r\n" + H + b"\r\n", True),
        (b"GET / HTTP/1.1\r\n" + H + b"Connection: close\r\n\r\n", False),
        (b"GET / HTTP/1.1\r\n" + H + b"Connection: Keep-Alive, Close\r\n\r\n", False),
        (b"GET / HTTP/1.0\r\n\r\n", False),
        (b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", True),
        (b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", True),
    ],
)
def test_keep_alive_wish(raw: bytes, keep_alive: bool, backend: str) -> None:
    head = parse(raw, backend)[0]
    assert isinstance(head, RequestHead)
    assert head.keep_alive is keep_alive


@pytest.mark.parametrize(
    ("raw", "upgrade"),
    [
        (b"GET / HTTP/1.0\r\n" + H + b"Upgrade: websocket\r\nConnection: upgrade\r\n\r\n", False),
        (b"POST / HTTP/1.1\r\n" + H + b"Upgrade: websocket\r\nConnection: upgrade\r\n\r\n", True),
        (b"GET / HTTP/1.1\r\n" + H + b"Connection: upgrade\r\n\r\n", False),
        (b"GET / HTTP/1.1\r\n" + H + b"Upgrade: WebSocket\r\n\r\n", True),
    ],
)
def test_upgrade_request(raw: bytes, upgrade: bool, backend: str) -> None:
    # Pingora's read_upgrade_req cases
    head = parse(raw, backend)[0]
    assert isinstance(head, RequestHead)
    assert head.upgrade is upgrade


def test_no_length_means_empty_body_and_pipelined_leftover(backend: str) -> None:
    first = b"GET /1 HTTP/1.1\r\n" + H + b"\r\n"
    second = b"GET /2 HTTP/1.1\r\n" + H + b"\r\n"
    parser = RequestParser(backend)
    events = parser.feed(first + second)
    assert isinstance(events[0], RequestHead)
    assert events[1:] == [MessageEnd()]
    assert parser.leftover == second
    assert parser.feed(b"more") == []
    assert parser.take_leftover() == second + b"more"
    assert parser.leftover == b""


def test_chunked_body_with_trailers(backend: str) -> None:
    raw = b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n"
    body = b"5;ext=1\r\nhello\r\n0\r\nX-Sum: 1\r\n\r\nNEXT"
    parser = RequestParser(backend)
    events = parser.feed(raw)
    for i in range(len(body)):
        events += parser.feed(body[i : i + 1])
    data = b"".join(e.data for e in events if isinstance(e, BodyData))
    assert data == b"hello"
    end = events[-1]
    assert isinstance(end, MessageEnd)
    assert end.trailers is not None
    assert end.trailers.get("x-sum") == b"1"
    assert parser.leftover == b"NEXT"


@pytest.mark.parametrize(
    "body",
    [
        b"zz\r\nhello\r\n0\r\n\r\n",  # not hex
        b"-1\r\n",  # sign
        b"5 \r\nhello\r\n0\r\n\r\n",  # space without extension
        b"11111111111111111\r\n",  # 17 hex digits
        b"5\r\nhelloXX0\r\n\r\n",  # data not followed by CRLF
        b"5\nhello\r\n",  # bare LF in the size line
        b"\r\n",  # empty size
        b"0\r\nBad Trailer\r\n\r\n",  # trailer without colon
        b"0\r\nX: 1\r\n folded\r\n\r\n",  # obs-fold in trailers
        b"1;" + b"a" * 9000,  # oversized chunk head
        b"0\r\n" + b"X: " + b"a" * 20000 + b"\r\n\r\n",  # trailers over the limit
    ],
)
def test_bad_chunked_body_is_400(body: bytes, backend: str) -> None:
    raw = b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n"
    parser = RequestParser(backend)
    events = parser.feed(raw) + parser.feed(body)
    assert isinstance(events[-1], ParseError)
    assert events[-1].status == 400
    assert parser.state == "error"
    assert parser.error is not None


def test_eof_inside_head_and_body(backend: str) -> None:
    parser = RequestParser(backend)
    assert parser.feed(b"GET / HTTP/1.1\r\nHo") == []
    assert isinstance(parser.feed_eof()[0], ParseError)
    parser = RequestParser(backend)
    assert parser.feed_eof() == []
    parser = RequestParser(backend)
    parser.feed(b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 5\r\n\r\nab")
    events = parser.feed_eof()
    assert isinstance(events[0], ParseError)
    assert parser.error is not None
    assert str(parser.error.etype) == "ConnectionClosed"


def test_backend_selection(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "h11" in BACKENDS
    monkeypatch.setattr(codec_module, "_selected", None)
    monkeypatch.setenv("PINGORA_H1_BACKEND", "h11")
    assert current_h1_backend() == "h11"
    assert RequestParser().backend == "h11"
    expected_auto = "httptools" if "httptools" in BACKENDS else "h11"
    assert select_h1_backend("auto") == expected_auto
    assert current_h1_backend() == expected_auto
    assert select_h1_backend("H11") == "h11"
    with pytest.raises(ValueError, match="unknown HTTP/1 backend"):
        select_h1_backend("picohttp")
    with pytest.raises(TypeError):
        select_h1_backend(11)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown"):
        RequestParser("nope")


def test_missing_httptools_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(codec_module._PARSERS, "httptools", None)
    assert available_h1_backends() == ("h11",)
    with pytest.raises(ValueError, match="speedups"):
        select_h1_backend("httptools")
    monkeypatch.setattr(codec_module, "_selected", None)
    monkeypatch.setenv("PINGORA_H1_BACKEND", "auto")
    assert current_h1_backend() == "h11"


def test_limits_are_checked() -> None:
    with pytest.raises(ValueError, match="max_headers"):
        H1Limits(max_headers=0)
    with pytest.raises(ValueError, match="max_head_size"):
        H1Limits(max_head_size=True)


def test_repr_shows_state(backend: str) -> None:
    parser = RequestParser(backend)
    parser.feed(b"GET / HT")
    assert "state=head" in repr(parser)
    assert "buffered=8" in repr(parser)


def test_public_names() -> None:
    assert set(v1.__all__) == {
        "INVALID_CHUNK",
        "PREMATURE_BODY_END",
        "BodyData",
        "BodyReader",
        "BodyWriter",
        "H1Limits",
        "H1ServerSettings",
        "HttpSession",
        "MessageEnd",
        "ParseError",
        "RequestHead",
        "RequestParser",
        "available_h1_backends",
        "current_h1_backend",
        "select_h1_backend",
    }
    for name in v1.__all__:
        assert getattr(v1, name) is not None
    from pingora_core.protocols import http

    assert http.__all__ == ["get_cached_date"]
