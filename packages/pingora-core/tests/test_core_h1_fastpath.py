"""The HTTP/1 request codec's fast path: heads in the common shape (`rules.simple_head`) are
decided by one regex and a field read, and must get exactly the answer the full rules give;
llhttp parsers reused from the pool must read every later head as a fresh one would; a
body-less request keeps its pipelined bytes without a body reader."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pingora_core.protocols.http.v1 import H1Limits, MessageEnd, RequestHead, RequestParser
from pingora_core.protocols.http.v1 import codec as codec_module
from pingora_core.protocols.http.v1.codec import available_h1_backends
from pingora_core.protocols.http.v1.rules import (
    BackendReject,
    HeadError,
    build_head,
    check_head,
    naive_split,
    simple_head,
)

BACKENDS = available_h1_backends()
LIMITS = H1Limits()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


def full_rules(backend: str, head: bytes) -> RequestHead | int:
    """The answer of the full path alone (no regex): the RequestHead, or the status refused."""
    parse = codec_module._PARSERS[backend]
    assert parse is not None
    try:
        check_head(head[:-4], LIMITS)
        try:
            parsed = parse(head)
        except BackendReject:
            if backend != "h11":
                return full_rules("h11", head)
            build_head(naive_split(head[:-4]), len(head), LIMITS)
            return 400
        return build_head(parsed, len(head), LIMITS)
    except HeadError as exc:
        return exc.status


def seam(backend: str, head: bytes) -> RequestHead | int:
    """The answer of the codec as it runs (fast path first)."""
    events = RequestParser(backend).feed(head)
    first = events[0]
    return first if isinstance(first, RequestHead) else first.status  # type: ignore[union-attr]


def same_answer(a: RequestHead | int, b: RequestHead | int) -> bool:
    if isinstance(a, int) or isinstance(b, int):
        return a == b
    return a == b and a.request.headers.items() == b.request.headers.items()


# -- which heads take the fast path -------------------------------------------------------------


def test_simple_head_takes_the_common_shape() -> None:
    head = b"GET /a?b=c HTTP/1.1\r\nHost: example.com\r\nX-Case: Kept\r\n\r\n"
    assert simple_head(head, LIMITS) == (b"GET", b"/a?b=c", b"1.1")
    assert simple_head(b"POST / HTTP/1.0\r\n\r\n", LIMITS) == (b"POST", b"/", b"1.0")


@pytest.mark.parametrize(
    "head",
    [
        b"CONNECT /x HTTP/1.1\r\nHost: a\r\n\r\n",  # CONNECT needs authority-form
        b"GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n",  # absolute-form
        b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET /#frag HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET / HTTP/2.0\r\nHost: a\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a \r\n\r\n",  # trailing whitespace in a value
        b"GET / HTTP/1.1\r\nHost: a\r\n b\r\n\r\n",  # obs-fold
        b"GET / HTTP/1.1\nHost: a\r\n\r\n",  # bare LF
        b"GET / HTTP/1.1\r\nHo st: a\r\n\r\n",
        b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n",
    ],
)
def test_simple_head_leaves_the_rest_to_the_full_rules(head: bytes) -> None:
    assert simple_head(head, LIMITS) is None


def test_simple_head_respects_the_size_limits() -> None:
    head = b"GET /" + b"a" * 100 + b" HTTP/1.1\r\nHost: a\r\n\r\n"
    assert simple_head(head, LIMITS) is not None
    assert simple_head(head, H1Limits(max_request_line=50)) is None
    assert simple_head(head, H1Limits(max_head_size=64)) is None


# -- the fast path answers as the full rules do ---------------------------------------------------

_FIELDS = [
    (b"Host", b"example.com"),
    (b"host", b"other.example"),
    (b"Content-Length", b"3"),
    (b"Content-Length", b"+3"),
    (b"content-length", b"4"),
    (b"Transfer-Encoding", b"chunked"),
    (b"Transfer-Encoding", b"gzip, chunked"),
    (b"Connection", b"close"),
    (b"Connection", b"keep-alive, Upgrade"),
    (b"Upgrade", b"websocket"),
    (b"Expect", b"100-continue"),
    (b"X-Case", b"Kept"),
    (b"X-Empty", b""),
    (b"X-Obs", b"caf\xe9"),
    (b"Cookie", b"a=1; b=2"),
]


@given(
    method=st.sampled_from([b"GET", b"HEAD", b"POST", b"PUT", b"PURGE", b"OPTIONS"]),
    target=st.sampled_from([b"/", b"/a/b?c=d&e", b"//x", b"/%20", b"/a;b"]),
    version=st.sampled_from([b"1.1", b"1.0"]),
    fields=st.lists(st.sampled_from(_FIELDS), max_size=6),
    leading=st.sampled_from([b"", b" ", b"\t"]),
)
def test_fast_path_gives_the_full_rules_answer(
    method: bytes,
    target: bytes,
    version: bytes,
    fields: list[tuple[bytes, bytes]],
    leading: bytes,
) -> None:
    lines = b"".join(name + b":" + leading + value + b"\r\n" for name, value in fields)
    head = method + b" " + target + b" HTTP/" + version + b"\r\n" + lines + b"\r\n"
    # (an empty value after OWS is trailing whitespace: such heads go the full way)
    assert (simple_head(head, LIMITS) is None) == (leading != b"" and b"" in (v for _, v in fields))
    for name in BACKENDS:
        assert same_answer(seam(name, head), full_rules(name, head)), (name, head)


def test_fast_path_builds_the_same_request(backend: str) -> None:
    head = b"GET /x?y HTTP/1.1\r\nHost: example.com\r\nX-Case: Kept\r\nx-case: again\r\n\r\n"
    fast = seam(backend, head)
    assert isinstance(fast, RequestHead)
    assert fast == full_rules(backend, head)
    request = fast.request
    assert (request.method, request.uri, request.raw_path, request.version) == (
        "GET",
        "/x?y",
        b"/x?y",
        "HTTP/1.1",
    )
    assert request.headers.items() == [
        (b"Host", b"example.com"),
        (b"X-Case", b"Kept"),
        (b"x-case", b"again"),
    ]
    assert fast.body == "empty"
    assert fast.keep_alive


def test_repeated_names_are_all_kept(backend: str) -> None:
    # the same name in the same spelling twice: the httptools field reader must not merge them
    head = b"GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nX-A: 2\r\n\r\n"
    fast = seam(backend, head)
    assert isinstance(fast, RequestHead)
    assert fast.request.headers.get_all("x-a") == [b"1", b"2"]


# -- parsers reused from the pool read like fresh ones ---------------------------------------------

_SEQUENCE = [
    b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n",  # leaves llhttp in the body
    b"GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
    b"GET /c HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",  # llhttp: no more messages
    b"GET /old HTTP/1.0\r\n\r\n",
    b"POST /t HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"GET /bad HTTP/1.1\r\nHost: a\r\nX: a\x01b\r\n\r\n",  # refused
    b"GET /dup HTTP/1.1\r\nHost: a\r\nX: 1\r\nX: 2\r\n\r\n",
    b"HEAD /h HTTP/1.1\r\nHost: b\r\nX-Case: Kept\r\n\r\n",
]


def test_pooled_parsers_read_every_head_like_fresh_ones(backend: str) -> None:
    expected = [full_rules(backend, head) for head in _SEQUENCE]
    for _round in range(3):
        for head, answer in zip(_SEQUENCE, expected, strict=True):
            assert same_answer(seam(backend, head), answer), head


# -- body-less requests: no reader, pipelined bytes kept ------------------------------------------


def test_body_less_request_keeps_the_next_pipelined_one(backend: str) -> None:
    first = b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
    second = b"GET /2 HTTP/1.1\r\nHost: a\r\n\r\n"
    parser = RequestParser(backend)
    events = parser.feed(first + second[:10])
    assert isinstance(events[0], RequestHead)
    assert events[1:] == [MessageEnd()]
    assert parser.state == "done"
    assert parser.leftover == second[:10]
    assert parser.feed(second[10:]) == []
    assert parser.leftover == second
    reader = parser.reader  # made on demand, holding the leftover
    assert reader is not None
    assert reader.done
    assert parser.take_leftover() == second
    assert parser.leftover == b""
    follow = RequestParser(backend).feed(second)
    assert isinstance(follow[0], RequestHead)
    assert follow[0].request.uri == "/2"


def test_take_leftover_without_a_reader(backend: str) -> None:
    parser = RequestParser(backend)
    parser.feed(b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /next")
    assert parser.take_leftover() == b"GET /next"
    assert parser.take_leftover() == b""
