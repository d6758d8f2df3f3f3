"""The HTTP/1 client session against scripted response bytes, on both parser backends
(cases ported from Pingora's v1/client.rs tests, plus our framing and keep-alive rules)."""

from __future__ import annotations

import pytest

from pingora_core.errors import Error, ErrorSource, ErrorType, RetryType
from pingora_core.protocols.http.v1 import client as client_module
from pingora_core.protocols.http.v1.client import HttpSession
from pingora_core.protocols.http.v1.client_parse import BACKENDS, find_head_end
from pingora_core.protocols.http.v1.client_rules import keepalive_values
from pingora_core.testing import MemoryStream, memory_stream_pair
from pingora_http import RequestHeader

pytestmark = pytest.mark.anyio


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def exchange(
    backend: str, response: bytes, *, method: str = "GET", headers: dict[str, str] | None = None,
    eof: bool = False,
) -> tuple[HttpSession, MemoryStream]:
    """A session that sent a request and has `response` waiting to be read."""
    ours, theirs = memory_stream_pair()
    session = HttpSession(ours, backend=backend)
    req = RequestHeader(method, "/")
    for name, value in (headers or {}).items():
        req.append_header(name, value)
    await session.write_request_header(req)
    theirs.write(response)
    if eof:
        await theirs.shutdown()
    return session, theirs


async def read_all(session: HttpSession) -> bytes:
    out = b""
    while (piece := await session.read_response_body()) is not None:
        out += piece
    return out


def test_module_exports() -> None:
    assert set(client_module.__all__) == {"MAX_HEADERS", "MAX_HEAD_SIZE", "HttpSession"}


async def test_read_basic_response(backend: str) -> None:
    session, _ = await exchange(backend, b"HTTP/1.1 200 OK\r\n\r\n", eof=True)
    resp = await session.read_response_header()
    assert resp.status == 200
    assert len(resp.headers) == 0


async def test_read_response_custom_reason(backend: str) -> None:
    session, _ = await exchange(backend, b"HTTP/1.1 200 Just Fine\r\n\r\n")
    resp = await session.read_response_header()
    assert resp.reason_phrase == "Just Fine"


async def test_read_response_default_until_close(backend: str) -> None:
    session, theirs = await exchange(backend, b"HTTP/1.1 200 OK\r\n\r\n")
    await session.read_response_header()
    theirs.write(b"abc")
    assert await session.read_response_body() == b"abc"
    await theirs.shutdown()
    assert await session.read_response_body() is None
    assert session.is_body_done()
    assert not session.can_reuse()  # close-delimited: the connection is spent


async def test_read_resp_header_with_space(backend: str) -> None:
    session, _ = await exchange(backend, b"HTTP/1.1 200 OK\r\nServer : pingora\r\n\r\n")
    resp = await session.read_response_header()
    assert len(resp.headers) == 1
    assert resp.get("Server") == b"pingora"


async def test_read_2_buf(backend: str) -> None:
    ours, theirs = memory_stream_pair()
    session = HttpSession(ours, backend=backend)
    await session.write_request_header(RequestHeader("GET", "/"))
    theirs.write(b"HTTP/1.1 200 OK\r\n")
    import asyncio

    task = asyncio.ensure_future(session.read_response_header())
    await asyncio.sleep(0)
    assert not task.done()
    theirs.write(b"Server: pingora\r\n\r\n")
    resp = await task
    assert resp.get("server") == b"pingora"
    assert resp.status == 200
    assert resp.version == "HTTP/1.1"


async def test_read_invalid(backend: str) -> None:
    session, _ = await exchange(backend, b"HTP/1.1 200 OK\r\nServer: pingora\r\n\r\n")
    with pytest.raises(Error) as info:
        await session.read_response_header()
    assert info.value.etype == ErrorType.InvalidHTTPHeader
    assert info.value.esource is ErrorSource.UPSTREAM
    assert not session.can_reuse()


async def test_write_request_header(backend: str) -> None:
    ours, theirs = memory_stream_pair()
    session = HttpSession(ours, backend=backend)
    req = RequestHeader("GET", "/test")
    req.insert_header("Foo", "Bar")
    wire = b"GET /test HTTP/1.1\r\nFoo: Bar\r\n\r\n"
    assert await session.write_request_header(req) == len(wire)
    assert await theirs.read() == wire
    with pytest.raises(Error):
        await session.write_request_header(req)


async def test_write_timeout(backend: str) -> None:
    ours, _theirs = memory_stream_pair(max_buffer=4)
    session = HttpSession(ours, backend=backend)
    session.write_timeout = 0.05
    with pytest.raises(Error) as info:
        await session.write_request_header(RequestHeader("GET", "/test"))
    assert info.value.etype == ErrorType.WriteTimedout


async def test_write_body_timeout(backend: str) -> None:
    ours, _theirs = memory_stream_pair(max_buffer=64)
    session = HttpSession(ours, backend=backend)
    session.write_timeout = 0.05
    req = RequestHeader("POST", "/test")
    req.set_content_length(100)
    await session.write_request_header(req)
    with pytest.raises(Error) as info:
        await session.write_body(b"a" * 100)
    assert info.value.etype == ErrorType.WriteTimedout
    assert ours.unread_by_peer > 64


async def test_read_timeout(backend: str) -> None:
    session, _ = await exchange(backend, b"")
    session.read_timeout = 0.05
    with pytest.raises(Error) as info:
        await session.read_response_header()
    assert info.value.etype == ErrorType.ReadTimedout


async def test_read_informational_surfaced(backend: str) -> None:
    session, _ = await exchange(
        backend, b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 OK\r\nServer: pingora\r\n\r\n"
    )
    first = await session.read_response_header()
    assert first.status == 100
    assert not session.is_body_done()
    second = await session.read_response_header()
    assert second.status == 204
    assert session.is_body_done()
    assert await session.read_response_body() is None
    assert session.can_reuse()


async def test_read_informational_skipped_but_103_surfaced(backend: str) -> None:
    session, _ = await exchange(
        backend,
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"
        b"HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    )
    hints = await session.read_response_header(skip_informational=True)
    assert hints.status == 103
    assert hints.get("link") == b"</a.css>"
    final = await session.read_response_header(skip_informational=True)
    assert final.status == 200
    assert await read_all(session) == b"ok"
    assert session.can_reuse()


async def test_read_switching_protocol(backend: str) -> None:
    session, theirs = await exchange(
        backend, b"HTTP/1.1 101 Continue\r\n\r\nPAYLOAD", headers={"Upgrade": "websocket",
                                                                 "Connection": "Upgrade"}
    )
    resp = await session.read_response_header()
    assert resp.status == 101
    assert session.upgraded
    assert await session.read_response_body() == b"PAYLOAD"
    await theirs.shutdown()
    assert await session.read_response_body() is None
    assert not session.can_reuse()


async def test_into_stream_after_101_keeps_early_bytes(backend: str) -> None:
    session, theirs = await exchange(
        backend, b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: ws\r\n\r\nhello",
        headers={"Upgrade": "ws", "Connection": "upgrade"},
    )
    await session.read_response_header()
    assert (await theirs.read()).startswith(b"GET / HTTP/1.1\r\n")
    raw = session.into_stream()
    assert await raw.read() == b"hello"
    raw.write(b"ping")
    assert await theirs.read() == b"ping"
    with pytest.raises(Error):
        session.into_stream()


async def test_101_without_upgrade_request_is_an_error(backend: str) -> None:
    session, _ = await exchange(backend, b"HTTP/1.1 101 Switching Protocols\r\n\r\n")
    with pytest.raises(Error) as info:
        await session.read_response_header()
    assert info.value.etype == ErrorType.H1Error


async def test_upgrade_request_body_is_raw(backend: str) -> None:
    ours, theirs = memory_stream_pair()
    session = HttpSession(ours, backend=backend)
    req = RequestHeader("GET", "/")
    req.insert_header("Connection", "Upgrade")
    req.insert_header("Upgrade", "WS")
    req.insert_header("Content-Length", "0")  # ignored when upgrading
    await session.write_request_header(req)
    await session.write_body(b"raw bytes")
    data = await theirs.read()
    assert data.endswith(b"\r\n\r\nraw bytes")


async def test_read_obsolete_multiline_headers(backend: str) -> None:
    session, _ = await exchange(
        backend, b"HTTP/1.1 200 OK\r\nServer : pingora\r\n Foo: Bar\r\n\r\n"
    )
    resp = await session.read_response_header()
    assert len(resp.headers) == 1
    assert resp.get("Server") == b"pingora Foo: Bar"
    session, _ = await exchange(
        backend, b"HTTP/1.1 200 OK\r\nServer : pingora\r\n\t  Fizz: Buzz\r\n\r\n"
    )
    resp = await session.read_response_header()
    assert resp.get("Server") == b"pingora Fizz: Buzz"


@pytest.mark.parametrize(
    ("connection", "keepalive"),
    [
        ("close", False),
        ("keep-alive", True),
        ("foo", True),
        ("upgrade,close", False),
        ("upgrade, close", False),
        ("Upgrade, close", False),
        ("Upgrade,close", False),
        ("close,upgrade", False),
        ("close, upgrade", False),
        ("close,Upgrade", False),
        ("close, Upgrade", False),
    ],
)
async def test_read_keepalive_headers(backend: str, connection: str, keepalive: bool) -> None:
    session, _ = await exchange(
        backend, f"HTTP/1.1 200 OK\r\nConnection: {connection}\r\n\r\n".encode()
    )
    await session.read_response_header()
    session.respect_keepalive()
    assert session.will_keepalive is keepalive


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("timeout=5, max=1000", (5, 1000)),
        ("max=1000, timeout=5", (5, 1000)),
        (" timeout = 5, max = 1000 ", (5, 1000)),
        ("timeout=5", (5, None)),
        ("max=1000", (None, 1000)),
        ("a=b", (None, None)),
        ("", (None, None)),
    ],
)
async def test_keepalive_values(
    backend: str, value: str, expected: tuple[int | None, int | None]
) -> None:
    assert keepalive_values(value.encode()) == expected
    session, _ = await exchange(
        backend, f"HTTP/1.1 200 OK\r\nKeep-Alive: {value}\r\nContent-Length: 0\r\n\r\n".encode()
    )
    await session.read_response_header()
    assert session.will_keepalive
    assert session.keepalive_timeout == expected[0]


@pytest.mark.parametrize(
    ("version", "connection", "request_connection", "keepalive"),
    [
        ("HTTP/1.1", None, None, True),
        ("HTTP/1.0", None, None, False),
        ("HTTP/1.0", "keep-alive", None, True),
        ("HTTP/1.1", None, "close", False),
        ("HTTP/1.1", "keep-alive", "close", False),
    ],
)
async def test_keepalive_by_version_and_request(
    backend: str, version: str, connection: str | None, request_connection: str | None,
    keepalive: bool,
) -> None:
    head = f"{version} 200 OK\r\nContent-Length: 2\r\n"
    if connection:
        head += f"Connection: {connection}\r\n"
    headers = {"Connection": request_connection} if request_connection else None
    session, _ = await exchange(backend, head.encode() + b"\r\nok", headers=headers)
    await session.read_response_header()
    assert await read_all(session) == b"ok"
    assert session.will_keepalive is keepalive
    assert session.can_reuse() is keepalive
    stream = await session.reuse()
    assert (stream is not None) is keepalive


async def test_content_length_body_and_reuse(backend: str) -> None:
    session, _ = await exchange(backend, b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel")
    await session.read_response_header()
    assert not session.can_reuse()  # body not read yet
    assert await session.read_response_body() == b"hel"
    theirs_rest = b"lo"
    session.stream.unread(theirs_rest)
    assert await session.read_response_body() == b"lo"
    assert await session.read_response_body() is None
    assert session.body_bytes_received == 5
    assert session.can_reuse()


async def test_extra_bytes_after_body_prevent_reuse(backend: str) -> None:
    session, _ = await exchange(backend, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA")
    await session.read_response_header()
    assert await read_all(session) == b"ok"
    assert session.is_body_done()
    assert not session.can_reuse()
    assert await session.reuse() is None


async def test_chunked_body(backend: str) -> None:
    session, theirs = await exchange(
        backend, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n"
    )
    await session.read_response_header()
    assert await session.read_response_body() == b"abc"
    theirs.write(b"2\r\nde\r\n0\r\n\r\n")
    assert await session.read_response_body() == b"de"
    assert await session.read_response_body() is None
    assert session.can_reuse()


async def test_chunked_body_cut_short(backend: str) -> None:
    session, _ = await exchange(
        backend, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab", eof=True
    )
    await session.read_response_header()
    assert await session.read_response_body() == b"ab"
    with pytest.raises(Error) as info:
        await session.read_response_body()
    assert info.value.etype == ErrorType.ConnectionClosed
    assert info.value.esource is ErrorSource.UPSTREAM


async def test_content_length_cut_short(backend: str) -> None:
    session, _ = await exchange(
        backend, b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nab", eof=True
    )
    await session.read_response_header()
    assert await session.read_response_body() == b"ab"
    with pytest.raises(Error) as info:
        await session.read_response_body()
    assert info.value.etype == ErrorType.ConnectionClosed


@pytest.mark.parametrize("status", [204, 304])
async def test_no_body_statuses(backend: str, status: int) -> None:
    session, _ = await exchange(
        backend, f"HTTP/1.1 {status} X\r\nContent-Length: 10\r\n\r\n".encode()
    )
    await session.read_response_header()
    assert session.is_body_done()
    assert await session.read_response_body() is None
    assert session.can_reuse()


async def test_head_has_no_body(backend: str) -> None:
    session, _ = await exchange(
        backend, b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", method="HEAD"
    )
    await session.read_response_header()
    assert await session.read_response_body() is None
    assert session.can_reuse()


@pytest.mark.parametrize(
    ("head", "etype"),
    [
        (b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n", ErrorType.H1Error),
        (b"Transfer-Encoding: chunked\r\nContent-Length: 3\r\n", ErrorType.H1Error),
        (b"Content-Length: 3\r\nContent-Length: 4\r\n", ErrorType.InvalidHTTPHeader),
        (b"Content-Length: 3\r\nContent-Length: 3\r\n", ErrorType.InvalidHTTPHeader),
        (b"Content-Length: -1\r\n", ErrorType.InvalidHTTPHeader),
        (b"Content-Length: 0x10\r\n", ErrorType.InvalidHTTPHeader),
        (b"X: a\rb\r\n", ErrorType.InvalidHTTPHeader),
    ],
)
async def test_ambiguous_framing_is_an_error(backend: str, head: bytes, etype: ErrorType) -> None:
    session, _ = await exchange(backend, b"HTTP/1.1 200 OK\r\n" + head + b"\r\nabc")
    with pytest.raises(Error) as info:
        await session.read_response_header()
    assert info.value.etype == etype
    assert info.value.esource is ErrorSource.UPSTREAM
    assert await session.reuse() is None


async def test_bare_lf_head_is_refused(backend: str) -> None:
    session, _ = await exchange(backend, b"HTTP/1.1 200 OK\nA: b\n\n")
    with pytest.raises(Error) as info:
        await session.read_response_header()
    assert info.value.etype == ErrorType.InvalidHTTPHeader


async def test_closed_before_response_retry_only_if_reused(backend: str) -> None:
    session, _ = await exchange(backend, b"HTTP/1.1 2", eof=True)
    with pytest.raises(Error) as info:
        await session.read_response_header()
    assert info.value.etype == ErrorType.ConnectionClosed
    assert info.value.retry is RetryType.REUSED_ONLY
    assert "bytes already read: 10" in str(info.value)


async def test_request_body_content_length(backend: str) -> None:
    ours, theirs = memory_stream_pair()
    session = HttpSession(ours, backend=backend)
    req = RequestHeader("POST", "/")
    req.set_content_length(5)
    await session.write_request_header(req)
    assert await session.write_body(b"abc") == 3
    with pytest.raises(Error):
        await session.write_body(b"xyz")  # past Content-Length
    assert await session.write_body(b"de") == 2
    assert await session.write_body(b"more") is None
    await session.finish_body()
    assert (await theirs.read()).endswith(b"\r\n\r\nabcde")
    assert session.body_bytes_sent == 5


async def test_request_body_premature_end(backend: str) -> None:
    ours, _ = memory_stream_pair()
    session = HttpSession(ours, backend=backend)
    req = RequestHeader("POST", "/")
    req.set_content_length(5)
    await session.write_request_header(req)
    await session.write_body(b"abc")
    with pytest.raises(Error):
        await session.finish_body()


async def test_request_body_chunked(backend: str) -> None:
    ours, theirs = memory_stream_pair()
    session = HttpSession(ours, backend=backend)
    req = RequestHeader("POST", "/")
    req.insert_header("Transfer-Encoding", "chunked")
    await session.write_request_header(req)
    await session.write_body(b"hello")
    await session.write_body(b"")
    await session.finish_body()
    assert (await theirs.read()).endswith(b"\r\n\r\n5\r\nhello\r\n0\r\n\r\n")


async def test_body_without_framing_is_refused(backend: str) -> None:
    ours, _ = memory_stream_pair()
    session = HttpSession(ours, backend=backend)
    await session.write_request_header(RequestHeader("GET", "/"))
    with pytest.raises(Error):
        await session.write_body(b"x")


async def test_misuse_is_an_error(backend: str) -> None:
    ours, _ = memory_stream_pair()
    session = HttpSession(ours, backend=backend)
    with pytest.raises(Error):
        await session.read_response_header()
    with pytest.raises(Error):
        await session.write_body(b"x")
    with pytest.raises(Error):
        await session.read_response_body()
    with pytest.raises(ValueError, match="unknown HTTP/1 parser backend"):
        HttpSession(ours, backend="nope")
    with pytest.raises(TypeError):
        HttpSession(object())  # type: ignore[arg-type]


async def test_header_too_large(backend: str) -> None:
    session, _ = await exchange(backend, b"HTTP/1.1 200 OK\r\n" + b"X: " + b"a" * 1100000)
    with pytest.raises(Error) as info:
        await session.read_response_header()
    assert info.value.etype == ErrorType.InvalidHTTPHeader


async def test_shutdown_and_repr(backend: str) -> None:
    session, theirs = await exchange(backend, b"")
    assert "GET /" in repr(session)
    assert session.digest.peer_addr == "memory:server"
    await session.shutdown()
    assert await theirs.read() == b"GET / HTTP/1.1\r\n\r\n"
    assert await theirs.read() == b""
    assert await session.reuse() is None


def test_find_head_end() -> None:
    assert find_head_end(b"HTTP/1.1 200 OK\r\n\r\nbody") == 19
    assert find_head_end(b"HTTP/1.1 200 OK\r\n") == -1
    assert find_head_end(b"HTTP/1.1 200 OK\n\nx") == 17


def test_default_backend_follows_the_codec_selection() -> None:
    from pingora_core.protocols.http.v1.codec import current_h1_backend, select_h1_backend

    previous = current_h1_backend()
    ours, _ = memory_stream_pair()
    try:
        select_h1_backend("h11")
        assert HttpSession(ours).backend == "h11"
    finally:
        select_h1_backend(previous)
    assert HttpSession(ours).backend == previous
