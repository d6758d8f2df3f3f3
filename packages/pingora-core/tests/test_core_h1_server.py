"""`HttpSession` (HTTP/1 server side) over in-memory streams: Pingora's server.rs cases ported,
plus the conformance rows as they look on the wire. Every test runs on both backends."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from pingora_core.errors import Error, ErrorSource, ErrorType
from pingora_core.protocols.http.v1 import H1ServerSettings, HttpSession, available_h1_backends
from pingora_core.protocols.l4.stream import Stream
from pingora_core.testing import MemoryStream, memory_stream_pair
from pingora_http import HeaderMap, ResponseHeader

pytestmark = pytest.mark.anyio

H = b"Host: pingora.org\r\n"


@pytest.fixture(params=available_h1_backends())
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


def settings(backend: str, **kw: object) -> H1ServerSettings:
    return H1ServerSettings(backend=backend, **kw)  # type: ignore[arg-type]


async def read_all(client: MemoryStream) -> bytes:
    out = b""
    while True:
        data = await client.read()
        if not data:
            return out
        out += data


async def read_available(client: MemoryStream) -> bytes:
    return await client.read() if client.buffered else b""


def split_response(wire: bytes) -> tuple[bytes, dict[bytes, bytes], bytes]:
    head, _, body = wire.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    fields = {}
    for line in lines[1:]:
        name, _, value = line.partition(b": ")
        fields[name.lower()] = value
    return lines[0], fields, body


async def hello(session: HttpSession) -> None:
    resp = ResponseHeader(200)
    resp.append_header("Content-Length", 5)
    await session.write_response_header(resp)
    await session.write_response_body(b"hello", end=True)


# -- reading (Pingora tests_stream) -----------------------------------------------------------


async def test_read_basic(backend: str) -> None:
    client, server = memory_stream_pair()
    client.write(b"GET / HTTP/1.1\r\n" + H + b"\r\n")
    session = HttpSession(server, settings(backend))
    req = await session.read_request()
    assert req is not None
    assert req is session.req_header
    assert len(req.headers) == 1
    assert await session.read_request_body() is None
    assert session.is_body_done()


async def test_read_two_buffers(backend: str) -> None:
    client, server = memory_stream_pair()
    session = HttpSession(server, settings(backend))
    client.write(b"GET / HTTP/1.1\r\n")
    import anyio

    async with anyio.create_task_group() as tg:

        async def later() -> None:
            await anyio.wait_all_tasks_blocked()
            client.write(b"Host: pingora.org\r\n\r\n")

        tg.start_soon(later)
        req = await session.read_request()
    assert req is not None
    assert (req.method, req.raw_path, req.version) == ("GET", b"/", "HTTP/1.1")
    assert req.headers.get("host") == b"pingora.org"
    assert session.request_head is not None
    assert session.request_head.head_size == 37


async def test_read_body_content_length(backend: str) -> None:
    client, server = memory_stream_pair()
    client.write(b"GET / HTTP/1.1\r\n" + H + b"Content-Length: 3\r\n\r\n")
    session = HttpSession(server, settings(backend))
    await session.read_request()
    client.write(b"abc")
    assert await session.read_request_body() == b"abc"
    assert await session.read_request_body() is None
    assert session.body_bytes_read == 3


async def test_read_body_content_length_single_read(backend: str) -> None:
    client, server = memory_stream_pair()
    client.write(b"GET / HTTP/1.1\r\n" + H + b"Content-Length: 3\r\n\r\nabc")
    session = HttpSession(server, settings(backend))
    await session.read_request()
    assert session.is_body_done() is False
    assert await session.read_request_body() == b"abc"
    assert await session.read_request_body() is None


async def test_http10_without_length_has_no_body(backend: str) -> None:
    # Pingora reads an HTTP/1.0 request body until close; RFC 9112 6.3 says it is empty.
    client, server = memory_stream_pair()
    client.write(b"GET / HTTP/1.0\r\n" + H + b"\r\na")
    session = HttpSession(server, settings(backend))
    await session.read_request()
    assert await session.read_request_body() is None


async def test_read_chunked_zero(backend: str) -> None:
    client, server = memory_stream_pair()
    client.write(b"GET / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
    session = HttpSession(server, settings(backend))
    await session.read_request()
    assert await session.read_request_body() is None
    assert session.trailers is None


async def test_read_chunked_single_read_and_trailers(backend: str) -> None:
    client, server = memory_stream_pair()
    client.write(b"GET / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n1\r\na\r\n")
    session = HttpSession(server, settings(backend))
    await session.read_request()
    assert await session.read_request_body() == b"a"
    client.write(b"0\r\nX-Check: 7\r\n\r\n")
    assert await session.read_request_body() is None
    assert session.trailers is not None
    assert session.trailers.get("x-check") == b"7"
    assert session.body_bytes_read == 1


async def test_read_invalid_answers_400_and_closes(backend: str) -> None:
    client, server = memory_stream_pair()
    client.write(b"GET / HTP/1.1\r\n" + H + b"\r\n")
    session = HttpSession(server, settings(backend))
    with pytest.raises(Error) as info:
        await session.read_request()
    assert info.value.etype == ErrorType.InvalidHTTPHeader
    assert info.value.esource == ErrorSource.DOWNSTREAM
    assert await session.finish() is None
    await server.close()
    status, fields, body = split_response(await read_all(client))
    assert status == b"HTTP/1.1 400 Bad Request"
    assert fields[b"connection"] == b"close"
    assert fields[b"content-length"] == b"0"
    assert fields[b"cache-control"] == b"private, no-store"
    assert body == b""


async def test_closed_without_data_is_none(backend: str) -> None:
    client, server = memory_stream_pair()
    await client.close()
    assert await HttpSession(server, settings(backend)).read_request() is None


async def test_closed_inside_head_is_connection_closed(backend: str) -> None:
    client, server = memory_stream_pair()
    client.write(b"GET / HTTP/1.1\r\nHo")
    await client.shutdown()
    with pytest.raises(Error) as info:
        await HttpSession(server, settings(backend)).read_request()
    assert info.value.etype == ErrorType.ConnectionClosed


async def test_read_request_twice_is_refused(backend: str) -> None:
    client, server = memory_stream_pair()
    client.write(b"GET / HTTP/1.1\r\n" + H + b"\r\n")
    session = HttpSession(server, settings(backend))
    await session.read_request()
    with pytest.raises(Error, match="twice"):
        await session.read_request()


async def test_req_header_before_read_is_an_error(backend: str) -> None:
    _, server = memory_stream_pair()
    session = HttpSession(server, settings(backend))
    with pytest.raises(Error, match="not read yet"):
        session.req_header  # noqa: B018
    with pytest.raises(Error, match="not read yet"):
        await session.read_request_body()
    assert session.request_summary() == "- , Host: "
    assert not session.is_upgrade_req()


# -- timeouts ---------------------------------------------------------------------------------


async def test_body_read_timeout(backend: str) -> None:
    client, server = memory_stream_pair()
    client.write(b"GET / HTTP/1.1\r\n" + H + b"Content-Length: 3\r\n\r\n")
    session = HttpSession(server, settings(backend, read_timeout=0.05))
    await session.read_request()
    with pytest.raises(Error) as info:
        await session.read_request_body()
    assert info.value.etype == ErrorType.ReadTimedout
    assert not session.will_keepalive()


async def test_dribbled_head_hits_the_total_deadline(backend: str) -> None:
    import anyio

    client, server = memory_stream_pair()
    session = HttpSession(server, settings(backend, header_timeout=0.3))
    raw = b"GET / HTTP/1.1\r\nHost: pingora.org\r\nX-Slow: " + b"a" * 200
    sent = 0

    async def dribble() -> None:
        nonlocal sent
        for byte in raw:  # one byte every 20 ms: each read is quick, the whole is not
            client.write(bytes([byte]))
            sent += 1
            await anyio.sleep(0.02)

    async with anyio.create_task_group() as tg:
        tg.start_soon(dribble)
        with pytest.raises(Error) as info:
            await session.read_request()
        tg.cancel_scope.cancel()
    assert info.value.etype == ErrorType.ReadTimedout
    assert sent < len(raw)
    assert split_response(await read_available(client))[0] == b"HTTP/1.1 408 Request Timeout"
    assert await session.finish() is None


async def test_idle_keepalive_timeout_gives_none(backend: str) -> None:
    client, server = memory_stream_pair()
    client.write(b"GET / HTTP/1.1\r\n" + H + b"\r\n")
    first = HttpSession(server, settings(backend, keepalive_timeout=0.05))
    await first.read_request()
    await hello(first)
    stream = await first.finish()
    assert stream is server
    assert (
        await HttpSession(stream, settings(backend, keepalive_timeout=0.05)).read_request() is None
    )


async def test_write_timeout(backend: str) -> None:
    client, server = memory_stream_pair(max_buffer=16)
    client.write(b"GET / HTTP/1.1\r\n" + H + b"\r\n")
    session = HttpSession(server, settings(backend, write_timeout=0.05))
    await session.read_request()
    resp = ResponseHeader(200)
    resp.append_header("Content-Length", 1000)
    await session.write_response_header(resp)
    with pytest.raises(Error) as info:
        await session.write_response_body(b"x" * 1000)
    assert info.value.etype == ErrorType.WriteTimedout
    assert not session.will_keepalive()


# -- keep-alive ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_fields", "after_override"),
    [
        (b"Connection: close\r\n", False),  # the client's close wins over set_keepalive
        (b"Connection: keep-alive\r\n", True),
        (b"", True),
    ],
)
async def test_set_keepalive(backend: str, request_fields: bytes, after_override: bool) -> None:
    client, server = memory_stream_pair()
    client.write(b"GET / HTTP/1.1\r\n" + H + request_fields + b"\r\n")
    session = HttpSession(server, settings(backend))
    await session.read_request()
    session.set_keepalive(60)
    assert session.will_keepalive() is after_override
    session.set_keepalive(None)
    assert not session.will_keepalive()
    with pytest.raises(ValueError, match="keepalive"):
        session.set_keepalive(-1)


@pytest.mark.parametrize(
    ("raw", "connection", "reused"),
    [
        (b"GET / HTTP/1.1\r\n" + H + b"\r\n", b"keep-alive", True),
        (b"GET / HTTP/1.1\r\n" + H + b"Connection: close\r\n\r\n", b"close", False),
        (b"GET / HTTP/1.0\r\n\r\n", b"close", False),
        (b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", b"keep-alive", True),
        (
            b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"
            b"0\r\n\r\n",
            b"close",
            False,
        ),
    ],
)
async def test_connection_header_and_reuse(
    backend: str, raw: bytes, connection: bytes, reused: bool
) -> None:
    client, server = memory_stream_pair()
    client.write(raw)
    session = HttpSession(server, settings(backend))
    await session.read_request()
    while await session.read_request_body() is not None:
        pass
    await hello(session)
    assert (await session.finish() is server) is reused
    status, fields, body = split_response(await read_available(client))
    assert status == b"HTTP/1.1 200 OK"
    assert fields[b"connection"] == connection
    assert body == b"hello"
    assert b"date" in fields


async def test_keepalive_request_limit(backend: str) -> None:
    client, server = memory_stream_pair()
    client.write((b"GET / HTTP/1.1\r\n" + H + b"\r\n") * 2)
    limit = settings(backend, keepalive_request_limit=2)
    first = HttpSession(server, limit)
    await first.read_request()
    await hello(first)
    stream = await first.finish()
    assert stream is server
    second = HttpSession(stream, limit)
    await second.read_request()
    await hello(second)
    assert await second.finish() is None
    wire = await read_available(client)
    assert wire.count(b"Connection: keep-alive") == 1
    assert wire.count(b"Connection: close") == 1


async def test_unread_body_forbids_reuse(backend: str) -> None:
    client, server = memory_stream_pair()
    client.write(b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 10\r\n\r\nabc")
    session = HttpSession(server, settings(backend))
    await session.read_request()
    await hello(session)
    assert await session.finish() is None


async def test_pipelined_requests_answered_in_order(backend: str) -> None:
    client, server = memory_stream_pair()
    client.write(
        b"GET /1 HTTP/1.1\r\n" + H + b"\r\n"
        b"POST /2 HTTP/1.1\r\n" + H + b"Content-Length: 2\r\n\r\nhi"
        b"GET /3 HTTP/1.1\r\n" + H + b"\r\n"
    )
    stream: Stream | None = server
    paths = []
    for _ in range(3):
        assert stream is not None
        session = HttpSession(stream, settings(backend))
        req = await session.read_request()
        assert req is not None
        paths.append(req.uri)
        body = b""
        while (piece := await session.read_request_body()) is not None:
            body += piece
        resp = ResponseHeader(200)
        resp.append_header("Content-Length", len(req.uri) + len(body))
        await session.write_response_header(resp)
        await session.write_response_body(req.uri.encode() + body, end=True)
        stream = await session.finish()
    assert paths == ["/1", "/2", "/3"]
    wire = await read_available(client)
    bodies = [part.split(b"\r\n\r\n", 1)[1] for part in wire.split(b"HTTP/1.1 200 OK")[1:]]
    assert bodies == [b"/1", b"/2hi", b"/3"]


# -- writing (Pingora tests_stream) --------------------------------------------------------------


def plain(backend: str) -> H1ServerSettings:
    return settings(backend, update_response_headers=False)


async def with_request(
    backend: str, raw: bytes, act: Callable[[HttpSession], Awaitable[None]], **kw: object
) -> tuple[HttpSession, bytes]:
    client, server = memory_stream_pair()
    client.write(raw)
    session = HttpSession(server, settings(backend, **kw))
    await session.read_request()
    await act(session)
    return session, await read_available(client)


GET = b"GET / HTTP/1.1\r\n" + H + b"\r\n"


async def test_write(backend: str) -> None:
    async def act(session: HttpSession) -> None:
        resp = ResponseHeader(200)
        resp.append_header("Foo", "Bar")
        resp.append_header("Content-Length", "0")
        await session.write_response_header(resp)

    _, wire = await with_request(backend, GET, act, update_response_headers=False)
    assert wire == b"HTTP/1.1 200 OK\r\nFoo: Bar\r\nContent-Length: 0\r\n\r\n"


async def test_write_custom_reason(backend: str) -> None:
    async def act(session: HttpSession) -> None:
        resp = ResponseHeader(200)
        resp.set_reason_phrase("Just Fine")
        resp.append_header("Content-Length", "0")
        await session.write_response_header(resp)

    _, wire = await with_request(backend, GET, act, update_response_headers=False)
    assert wire.startswith(b"HTTP/1.1 200 Just Fine\r\n")


async def test_write_informational(backend: str) -> None:
    async def act(session: HttpSession) -> None:
        await session.write_response_header(ResponseHeader(100))
        early = ResponseHeader(103)
        early.append_header("Link", "</a.css>; rel=preload")
        await session.write_informational(early)
        resp = ResponseHeader(200)
        resp.append_header("Content-Length", "0")
        await session.write_response_header(resp)

    _, wire = await with_request(backend, GET, act, update_response_headers=False)
    assert wire == (
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
    )


async def test_informational_checks(backend: str) -> None:
    async def act(session: HttpSession) -> None:
        with pytest.raises(ValueError, match="1xx"):
            await session.write_informational(ResponseHeader(200))
        await hello(session)
        with pytest.raises(Error, match="already written"):
            await session.write_informational(ResponseHeader(100))
        with pytest.raises(Error, match="already written"):
            await hello(session)

    await with_request(backend, GET, act)


async def test_no_informational_to_http10(backend: str) -> None:
    async def act(session: HttpSession) -> None:
        await session.write_informational(ResponseHeader(103))
        await hello(session)

    _, wire = await with_request(backend, b"GET / HTTP/1.0\r\n\r\n", act)
    assert wire.startswith(b"HTTP/1.1 200 OK\r\n")


async def test_write_body_content_length(backend: str) -> None:
    async def act(session: HttpSession) -> None:
        resp = ResponseHeader(200)
        resp.append_header("Content-Length", "1")
        await session.write_response_header(resp)
        await session.write_response_body(b"a")
        await session.write_response_body(b"b")  # over Content-Length: dropped

    session, wire = await with_request(backend, GET, act, update_response_headers=False)
    assert wire == b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"
    assert session.body_bytes_sent == 1
    assert await session.finish() is session.stream


async def test_write_body_http10_is_close_delimited(backend: str) -> None:
    async def act(session: HttpSession) -> None:
        await session.write_response_header(ResponseHeader(200))
        await session.write_response_body(b"a", end=True)

    session, wire = await with_request(
        backend, b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", act
    )
    _status, fields, body = split_response(wire)
    assert fields[b"connection"] == b"close"
    assert b"transfer-encoding" not in fields
    assert body == b"a"
    assert await session.finish() is None


async def test_write_body_chunked_explicit(backend: str) -> None:
    async def act(session: HttpSession) -> None:
        resp = ResponseHeader(200)
        resp.append_header("Transfer-Encoding", "chunked")
        await session.write_response_header(resp)
        await session.write_response_body(b"a")
        await session.finish()

    session, wire = await with_request(backend, GET, act, update_response_headers=False)
    assert wire == b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n"
    assert session.body_bytes_sent == 1


async def test_write_chunked_chosen_for_http11(backend: str) -> None:
    async def act(session: HttpSession) -> None:
        await session.write_response_header(ResponseHeader(200))
        await session.write_response_body(b"abc")
        await session.write_trailers(HeaderMap([("X-Digest", "1")]))

    session, wire = await with_request(backend, GET, act)
    _status, fields, body = split_response(wire)
    assert fields[b"transfer-encoding"] == b"chunked"
    assert body == b"3\r\nabc\r\n0\r\nX-Digest: 1\r\n\r\n"
    assert await session.finish() is session.stream


async def test_response_te_wins_over_cl(backend: str) -> None:
    async def act(session: HttpSession) -> None:
        resp = ResponseHeader(200)
        resp.append_header("Content-Length", "3")
        resp.append_header("Transfer-Encoding", "chunked")
        await session.write_response_header(resp)
        await session.write_response_body(b"abc", end=True)

    _, wire = await with_request(backend, GET, act)
    _, fields, body = split_response(wire)
    assert b"content-length" not in fields
    assert body == b"3\r\nabc\r\n0\r\n\r\n"


async def test_bad_response_content_length(backend: str) -> None:
    async def act(session: HttpSession) -> None:
        resp = ResponseHeader(200)
        resp.append_header("Content-Length", "x1")
        with pytest.raises(Error) as info:
            await session.write_response_header(resp)
        assert info.value.esource == ErrorSource.INTERNAL

    await with_request(backend, GET, act)


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"HEAD / HTTP/1.1\r\n" + H + b"\r\n", 200),
        (GET, 204),
        (GET, 304),
    ],
)
async def test_head_204_304_carry_no_body(backend: str, raw: bytes, status: int) -> None:
    async def act(session: HttpSession) -> None:
        resp = ResponseHeader(status)
        if status == 200:
            resp.append_header("Content-Length", 5)
        await session.write_response_header(resp)
        await session.write_response_body(b"hello", end=True)

    session, wire = await with_request(backend, raw, act)
    _status_line, fields, body = split_response(wire)
    assert body == b""
    assert b"transfer-encoding" not in fields
    assert (fields.get(b"content-length") == b"5") is (status == 200)
    assert await session.finish() is session.stream


async def test_short_body_is_premature_and_closes(backend: str) -> None:
    async def act(session: HttpSession) -> None:
        resp = ResponseHeader(200)
        resp.append_header("Content-Length", 5)
        await session.write_response_header(resp)
        with pytest.raises(Error) as info:
            await session.write_response_body(b"hel", end=True)
        assert info.value.etype.name == "PrematureBodyEnd"

    session, wire = await with_request(backend, GET, act)
    assert wire.endswith(b"\r\n\r\nhel")
    assert await session.finish() is None


async def test_finish_without_response_closes(backend: str) -> None:
    client, server = memory_stream_pair()
    client.write(GET)
    session = HttpSession(server, settings(backend))
    await session.read_request()
    assert await session.finish() is None
    assert await session.finish() is None  # idempotent


async def test_write_before_header_is_refused(backend: str) -> None:
    async def act(session: HttpSession) -> None:
        with pytest.raises(Error, match="header first"):
            await session.write_response_body(b"x")
        with pytest.raises(Error, match="header first"):
            await session.write_trailers(HeaderMap())

    await with_request(backend, GET, act)


# -- 100-continue ----------------------------------------------------------------------------


EXPECT = b"POST / HTTP/1.1\r\n" + H + b"Expect: 100-continue\r\nContent-Length: 3\r\n\r\n"


async def test_continue_sent_on_first_body_read(backend: str) -> None:
    client, server = memory_stream_pair()
    client.write(EXPECT)
    session = HttpSession(server, settings(backend))
    await session.read_request()
    assert not client.buffered  # nothing until the body is asked for
    import anyio

    async with anyio.create_task_group() as tg:

        async def client_side() -> None:
            assert await client.read() == b"HTTP/1.1 100 Continue\r\n\r\n"
            client.write(b"abc")

        tg.start_soon(client_side)
        assert await session.read_request_body() == b"abc"
    assert await session.read_request_body() is None


async def test_no_continue_after_a_final_response(backend: str) -> None:
    async def act(session: HttpSession) -> None:
        await session.respond_error(417)

    _session, wire = await with_request(backend, EXPECT, act)
    assert wire.startswith(b"HTTP/1.1 417 Expectation Failed\r\n")
    assert b"100 Continue" not in wire


async def test_explicit_continue_is_sent_once(backend: str) -> None:
    client, server = memory_stream_pair()
    client.write(EXPECT + b"abc")
    session = HttpSession(server, settings(backend))
    await session.read_request()
    await session.write_informational(ResponseHeader(100))
    assert await session.read_request_body() == b"abc"
    assert await read_available(client) == b"HTTP/1.1 100 Continue\r\n\r\n"


# -- upgrade -------------------------------------------------------------------------------------


UPGRADE = b"GET /ws HTTP/1.1\r\n" + H + b"Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n"


async def test_upgrade_switches_to_raw_bytes(backend: str) -> None:
    client, server = memory_stream_pair()
    client.write(UPGRADE + b"early")
    session = HttpSession(server, settings(backend))
    await session.read_request()
    assert session.is_upgrade_req()
    with pytest.raises(Error, match="before a 101"):
        await session.read_raw()
    with pytest.raises(Error, match="before a 101"):
        await session.write_raw(b"x")
    resp = ResponseHeader(101)
    resp.append_header("Upgrade", "websocket")
    resp.append_header("Connection", "Upgrade")
    await session.write_response_header(resp)
    assert await session.read_raw() == b"early"
    client.write(b"\x81\x00 frame")
    assert await session.read_request_body() == b"\x81\x00 frame"
    await session.write_raw(b"server-bytes")
    await session.write_response_body(b" more")
    status, fields, body = split_response(await read_available(client))
    assert status == b"HTTP/1.1 101 Switching Protocols"
    assert fields[b"connection"] == b"Upgrade"
    assert body == b"server-bytes more"
    assert not session.will_keepalive()
    await client.shutdown()
    assert await session.read_raw() == b""
    assert await session.finish() is None


async def test_101_needs_an_upgrade_request(backend: str) -> None:
    async def act(session: HttpSession) -> None:
        with pytest.raises(Error, match="101"):
            await session.write_response_header(ResponseHeader(101))

    await with_request(backend, GET, act)


async def test_upgrade_refused_keeps_http(backend: str) -> None:
    async def act(session: HttpSession) -> None:
        await hello(session)

    session, wire = await with_request(backend, UPGRADE + GET, act)
    assert wire.startswith(b"HTTP/1.1 200 OK")
    assert await session.finish() is session.stream


async def test_upgrade_with_100_first_keeps_body_state(backend: str) -> None:
    async def act(session: HttpSession) -> None:
        await session.write_response_header(ResponseHeader(100))
        assert not session.will_keepalive() or session.is_upgrade_req()

    _session, wire = await with_request(backend, UPGRADE, act)
    assert wire == b"HTTP/1.1 100 Continue\r\n\r\n"


TOO_LARGE = b"431 Request Header Fields Too Large"

# -- errors on the wire ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"GET / HTTP/1.1\r\n\r\n", b"400 Bad Request"),
        (b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", b"400 Bad Request"),
        (b"GET / HTTP/1.1\r\n" + H + b"X: a\r\n b\r\n\r\n", b"400 Bad Request"),
        (GET[:-2] + b"Content-Length: 1\r\nContent-Length: 1\r\n\r\n", b"400 Bad Request"),
        (b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", b"400 Bad Request"),
        (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n" + H + b"\r\n", b"414 URI Too Long"),
        (GET[:-2] + b"X: " + b"a" * 70000 + b"\r\n\r\n", TOO_LARGE),
        (GET[:-2] + b"".join(b"X-%d: 1\r\n" % i for i in range(300)) + b"\r\n", TOO_LARGE),
        (b"GET / HTTP/2.0\r\n" + H + b"\r\n", b"505 HTTP Version Not Supported"),
    ],
)  # fmt: skip
async def test_bad_requests_on_the_wire(backend: str, raw: bytes, status: bytes) -> None:
    client, server = memory_stream_pair(max_buffer=1 << 20)
    client.write(raw)
    session = HttpSession(server, settings(backend))
    with pytest.raises(Error):
        await session.read_request()
    assert await session.finish() is None
    line, fields, body = split_response(await read_available(client))
    assert line == b"HTTP/1.1 " + status
    assert fields[b"connection"] == b"close"
    assert body == b""


async def test_bad_chunk_mid_body_answers_400(backend: str) -> None:
    client, server = memory_stream_pair()
    client.write(
        b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n2\r\nab\r\nZZ\r\n"
    )
    session = HttpSession(server, settings(backend))
    await session.read_request()
    assert await session.read_request_body() == b"ab"
    with pytest.raises(Error) as info:
        await session.read_request_body()
    assert info.value.etype.name == "InvalidChunk"
    assert info.value.esource == ErrorSource.DOWNSTREAM
    assert split_response(await read_available(client))[0] == b"HTTP/1.1 400 Bad Request"
    assert await session.finish() is None


async def test_body_cut_short(backend: str) -> None:
    client, server = memory_stream_pair()
    client.write(b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 5\r\n\r\nab")
    await client.shutdown()
    session = HttpSession(server, settings(backend))
    await session.read_request()
    assert await session.read_request_body() == b"ab"
    with pytest.raises(Error) as info:
        await session.read_request_body()
    assert info.value.etype == ErrorType.ConnectionClosed


async def test_respond_error_after_response_does_nothing(backend: str) -> None:
    async def act(session: HttpSession) -> None:
        await hello(session)
        await session.respond_error(500)

    _, wire = await with_request(backend, GET, act)
    assert wire.count(b"HTTP/1.1") == 1


# -- facts ------------------------------------------------------------------------------------


async def test_summary_addresses_and_repr(backend: str) -> None:
    client, server = memory_stream_pair(names=("10.0.0.1:5000", "10.0.0.2:80"))
    client.write(b"GET /path?q=1 HTTP/1.1\r\nHost: example.com\r\n\r\n")
    session = HttpSession(server, settings(backend))
    await session.read_request()
    assert session.request_summary() == "GET /path?q=1, Host: example.com"
    assert session.client_addr == "10.0.0.1:5000"
    assert session.server_addr == "10.0.0.2:80"
    await hello(session)
    assert session.response_written is not None
    assert session.response_written.status == 200
    assert session.body_bytes_sent == 5
    text = repr(session)
    assert "GET /path?q=1" in text
    assert "response=200" in text
    assert "sent=5" in text


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="read_timeout"):
        H1ServerSettings(read_timeout=0)
    with pytest.raises(ValueError, match="keepalive_request_limit"):
        H1ServerSettings(keepalive_request_limit=0)
    with pytest.raises(ValueError, match="read_size"):
        H1ServerSettings(read_size=0)
    with pytest.raises(TypeError, match="limits"):
        H1ServerSettings(limits=5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown"):
        HttpSession(memory_stream_pair()[1], H1ServerSettings(backend="nope"))


async def test_over_tcp(backend: str) -> None:
    from pingora_core.testing import tcp_stream_pair

    client, server = await tcp_stream_pair()
    try:
        client.write(GET * 2)
        stream: Stream | None = server
        for _ in range(2):
            assert stream is not None
            session = HttpSession(stream, settings(backend))
            assert await session.read_request() is not None
            await hello(session)
            stream = await session.finish()
        assert stream is server
        wire = b""
        while wire.count(b"hello") < 2:
            wire += await client.read()
        assert wire.count(b"HTTP/1.1 200 OK") == 2
    finally:
        await client.close()
        await server.close()
