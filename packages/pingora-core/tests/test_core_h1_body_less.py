"""`body_less_head`, the quick parse of a whole body-less request head that `HttpServerApp`'s
keep-alive loop makes before a session starts: where it accepts a head it gives exactly what the
parser gives, on either backend; everything else (bodies, pipelining, bad heads, odd shapes) is
left to the parser. Also the session that starts from such a head, and `simple_fields`."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pingora_core.protocols.http.v1 import (
    H1Limits,
    H1ServerSettings,
    HttpSession,
    MessageEnd,
    RequestHead,
    RequestParser,
    available_h1_backends,
)
from pingora_core.protocols.http.v1.codec import _PARSERS, body_less_head
from pingora_core.protocols.http.v1.rules import naive_split, simple_fields, simple_head
from pingora_core.testing import memory_stream_pair

BACKENDS = available_h1_backends()
LIMITS = H1Limits()


def facts(head: RequestHead) -> tuple[object, ...]:
    request = head.request
    return (
        request.method,
        request.raw_path,
        request.version,
        request.headers.items(),
        head.body,
        head.content_length,
        head.keep_alive,
        head.must_close,
        head.upgrade,
        head.expect_continue,
        head.head_size,
    )


def parsed(data: bytes, backend: str) -> RequestHead | None:
    """The parser's head for `data` if `data` is exactly one body-less request, else None."""
    parser = RequestParser(backend, LIMITS)
    events = parser.feed(data)
    whole = len(events) == 2 and not parser.leftover and events[1] == MessageEnd()
    return events[0] if whole and isinstance(events[0], RequestHead) else None


ACCEPTED = [
    b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /p?q=1 HTTP/1.0\r\n\r\n",
    b"HEAD /x HTTP/1.1\r\nHost: a\r\nUser-Agent: curl/8\r\nAccept: */*\r\n\r\n",
    b"DELETE /x HTTP/1.1\r\nhost:a\r\nX-Empty:\r\nX-Tab:\tv\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    b"GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nX-A: 2\r\n\r\n",
]
LEFT_TO_THE_PARSER = [
    b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",  # a body reader, if empty
    b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n",  # a body follows
    b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc",
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",  # pipelined
    b"GET / HTTP/1.1\r\nHost: a\r\n",  # not whole yet
    b"\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",  # an empty line first
    b"GET / HTTP/1.1\r\n\r\n",  # no Host: 400
    b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",  # two: 400
    b"GET / HTTP/1.1\r\nHost : a\r\n\r\n",  # space before the colon: 400
    b"GET / HTTP/1.1\r\nHost: a \r\n\r\n",  # trailing space: the parser trims it
    b"GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n",  # absolute form
    b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n",
    b"GET / HTTP/1.1\nHost: a\n\n",  # bare LF
    b"GET / HTTP/2.0\r\nHost: a\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n",
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("data", ACCEPTED)
def test_an_accepted_head_is_what_the_parser_reads(backend: str, data: bytes) -> None:
    head = body_less_head(data, LIMITS)
    assert head is not None
    expected = parsed(data, backend)
    assert expected is not None
    assert facts(head) == facts(expected)


@pytest.mark.parametrize("data", LEFT_TO_THE_PARSER)
def test_anything_else_is_left_to_the_parser(data: bytes) -> None:
    assert body_less_head(data, LIMITS) is None


@pytest.mark.parametrize("data", ACCEPTED)
def test_simple_fields_split_like_the_plain_reading(data: bytes) -> None:
    assert simple_head(data, LIMITS) is not None
    assert simple_fields(data) == naive_split(data[:-4])[3:]


def test_a_backend_that_cannot_be_used_is_refused_with_the_settings() -> None:
    # the quick parse needs no backend: a wrong name is caught when the settings are made
    with pytest.raises(ValueError, match="unknown HTTP/1 backend"):
        H1ServerSettings(backend="nonesuch")
    with pytest.raises(TypeError, match="must be a str"):
        H1ServerSettings(backend=1)  # type: ignore[arg-type]
    assert H1ServerSettings(backend=" H11 ").backend == " H11 "  # resolved by each parser


def test_limits_apply() -> None:
    data = b"GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nX-B: 2\r\n\r\n"
    assert body_less_head(data, H1Limits(max_headers=2)) is None
    assert body_less_head(data, H1Limits(max_head_size=len(data) - 1)) is None
    assert body_less_head(data, H1Limits(max_headers=3)) is not None


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "closing",
    [b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", b"GET / HTTP/1.0\r\n\r\n"],
)
def test_a_head_that_ends_its_connection_leaves_the_next_one_readable(
    backend: str, closing: bytes
) -> None:
    # llhttp refuses anything after a message that closes the connection: such a parser must
    # not be kept for the next head (of any connection)
    parse = _PARSERS[backend]
    assert parse is not None
    nxt = b"GET /n HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nX-A: 2\r\n\r\n"
    for _ in range(3):
        parse(closing)
        assert parse(nxt)[3] == [b"Host", b"X-A", b"X-A"]


lines = st.sampled_from(
    [b"Host: a", b"host:b", b"Connection: close", b"Connection: keep-alive", b"X-A: 1",
     b"Content-Length: 0", b"Content-Length: 2", b"Transfer-Encoding: chunked", b"Upgrade: h2c",
     b"Expect: 100-continue", b"X-B:", b"X-C: \tv", b"Bad Name: x", b"X-D: v ", b"X-E: a\x01b"]
)  # fmt: skip
request_lines = st.sampled_from(
    [b"GET / HTTP/1.1", b"HEAD /a?b HTTP/1.0", b"POST /p HTTP/1.1", b"GET * HTTP/1.1",
     b"OPTIONS * HTTP/1.1", b"GET /%7e HTTP/1.1", b"get / HTTP/1.1"]
)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=request_lines, fields=st.lists(lines, max_size=6), tail=st.sampled_from([b"", b"x"]))
def test_the_quick_parse_never_disagrees_with_the_parser(
    first: bytes, fields: list[bytes], tail: bytes
) -> None:
    data = b"\r\n".join([first, *fields]) + b"\r\n\r\n" + tail
    head = body_less_head(data, LIMITS)
    for backend in BACKENDS:
        if head is not None:
            expected = parsed(data, backend)
            assert expected is not None
            assert facts(head) == facts(expected)


# -- the session started from a parsed head ------------------------------------------------------


@pytest.mark.anyio
async def test_a_session_starting_with_a_whole_head_reads_it_without_its_parser() -> None:
    client, server = memory_stream_pair()
    data = b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
    session = HttpSession._starting_with(server, data)
    assert session.request_head is None  # not read yet
    request = await session.read_request()
    assert request is not None
    assert request.raw_path == b"/a"
    assert session.is_body_done()
    assert await session.read_request_body() is None
    assert session.will_keepalive()
    with pytest.raises(Exception, match="called twice"):
        await session.read_request()
    await client.close()


@pytest.mark.anyio
async def test_taking_the_stream_first_gives_its_bytes_back() -> None:
    client, server = memory_stream_pair()
    data = b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
    session = HttpSession._starting_with(server, data)
    assert await session.stream.read() == data  # as if never read: no request was taken
    client.write(b"GET /b HTTP/1.1\r\nHost: h\r\n\r\n")
    request = await session.read_request()  # the parser reads what comes next
    assert request is not None
    assert request.raw_path == b"/b"
    await client.close()


@pytest.mark.anyio
async def test_a_session_starting_with_anything_else_parses_it_on_reading() -> None:
    client, server = memory_stream_pair()
    client.write(b"cd")
    data = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nab"
    session = HttpSession._starting_with(server, data)
    request = await session.read_request()
    assert request is not None
    body = b""
    while (piece := await session.read_request_body()) is not None:
        body += piece
    assert body == b"abcd"
    await client.close()


def test_importing_the_server_leaves_the_backend_choice_open() -> None:
    # PINGORA_H1_BACKEND and select_h1_backend() are read when the first parser is made, not
    # when the modules are imported
    import subprocess
    import sys

    code = (
        "import pingora_core, pingora_core.protocols.http.v1.server\n"
        "from pingora_core.protocols.http.v1 import codec\n"
        "print(codec._selected)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "None"
