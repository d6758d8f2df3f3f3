"""The server session's one-step answer (`HttpSession._respond`, what `HttpServer` sends every
whole response with) against the three public calls it stands for: the same bytes on the wire,
the same errors, the same verdict on reuse. Also the idle sweeper of `HttpServerApp` on real
transport streams, and `TransportStream.write_paused`."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Callable

import pytest

from pingora_core.apps.http_server import HttpServer, ServeHttp
from pingora_core.errors import Error
from pingora_core.protocols.http.v1.body import BodyWriter
from pingora_core.protocols.http.v1.server import HttpSession
from pingora_core.protocols.l4 import TransportStream
from pingora_core.server import ShutdownTrigger, ShutdownWatch
from pingora_core.testing import memory_stream_pair, tcp_stream_pair
from pingora_http import ResponseHeader

pytestmark = pytest.mark.anyio

H = b"Host: example.com\r\n"
_DATE = re.compile(rb"\r\nDate: [^\r]*\r\n")


def header(status: int, *fields: tuple[str, str]) -> Callable[[], ResponseHeader]:
    def build() -> ResponseHeader:
        resp = ResponseHeader(status)
        for name, value in fields:
            resp.append_header(name, value)
        return resp

    return build


CASES = [
    ("exact length", b"GET / HTTP/1.1\r\n" + H + b"\r\n", header(200, ("Content-Length", "5")),
     b"hello"),
    ("body short of length", b"GET / HTTP/1.1\r\n" + H + b"\r\n",
     header(200, ("Content-Length", "10")), b"hello"),
    ("body beyond length", b"GET / HTTP/1.1\r\n" + H + b"\r\n",
     header(200, ("Content-Length", "3")), b"hello"),
    ("no length: chunked", b"GET / HTTP/1.1\r\n" + H + b"\r\n", header(200), b"hello"),
    ("empty chunked", b"GET / HTTP/1.1\r\n" + H + b"\r\n", header(200), b""),
    ("http/1.0: until close", b"GET / HTTP/1.0\r\n\r\n", header(200), b"hello"),
    ("head", b"HEAD / HTTP/1.1\r\n" + H + b"\r\n", header(200, ("Content-Length", "5")),
     b"hello"),
    ("204", b"GET / HTTP/1.1\r\n" + H + b"\r\n", header(204), b"ignored"),
    ("304 with length", b"GET / HTTP/1.1\r\n" + H + b"\r\n",
     header(304, ("Content-Length", "5")), b"hello"),
    ("chunked given", b"GET / HTTP/1.1\r\n" + H + b"\r\n",
     header(200, ("Transfer-Encoding", "chunked"), ("Content-Length", "5")), b"hello"),
    ("client close", b"GET / HTTP/1.1\r\n" + H + b"Connection: close\r\n\r\n",
     header(200, ("Content-Length", "5")), b"hello"),
    ("unread request body", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 4\r\n\r\nab",
     header(200, ("Content-Length", "2")), b"ok"),
    ("custom reason", b"GET / HTTP/1.1\r\n" + H + b"\r\n",
     header(299, ("Content-Length", "1")), b"x"),
    ("pipelined next", b"GET /1 HTTP/1.1\r\n" + H + b"\r\nGET /2 HTTP/1.1\r\n" + H + b"\r\n",
     header(200, ("Content-Length", "1")), b"1"),
    ("bad length", b"GET / HTTP/1.1\r\n" + H + b"\r\n",
     header(200, ("Content-Length", "five")), b"hello"),
]  # fmt: skip


async def answer(
    request: bytes,
    build: Callable[[], ResponseHeader],
    body: bytes,
    one_step: bool,
    started: bool = False,
) -> tuple[bytes, bool, str | None, int, bytes]:
    """Serve `request` one way; returns (wire, stream handed back, error, bytes sent, unread).

    `started`: the session starts with the request's bytes read already, as the keep-alive
    loop of `HttpServerApp` makes it (a body-less head is parsed right there)."""
    client, server = memory_stream_pair()
    client.write(request)
    if started:
        session = HttpSession._starting_with(server, await server.read())
    else:
        session = HttpSession(server)
    assert await session.read_request() is not None
    session.set_keepalive(60)
    resp = build()
    error = None
    reused = None
    try:
        if one_step:
            reused = await session._respond(resp, body)
        else:
            await session.write_response_header(resp)
            await session.write_response_body(body, True)
            reused = await session.finish()
    except Error as exc:
        error = str(exc.etype)
    unread = b""
    if reused is not None and server.buffered:
        unread = await reused.read()  # the next pipelined request, put back
    await server.shutdown()
    wire = b""
    while data := await client.read():
        wire += data
    return _DATE.sub(b"\r\nDate: -\r\n", wire), reused is not None, error, (
        session.body_bytes_sent
    ), unread


@pytest.mark.parametrize(
    ("request_bytes", "build", "body"),
    [(r, b, d) for _, r, b, d in CASES],
    ids=[i for i, _, _, _ in CASES],
)
async def test_one_step_answer_is_the_three_calls(
    request_bytes: bytes, build: Callable[[], ResponseHeader], body: bytes
) -> None:
    three = await answer(request_bytes, build, body, one_step=False)
    one = await answer(request_bytes, build, body, one_step=True)
    assert one == three
    assert await answer(request_bytes, build, body, one_step=True, started=True) == three
    assert await answer(request_bytes, build, body, one_step=False, started=True) == three
    assert three[0] or three[2] is not None  # something was sent, or the header was refused


async def test_one_step_answer_sets_date_and_connection_on_the_header() -> None:
    client, server = memory_stream_pair()
    client.write(b"GET / HTTP/1.1\r\n" + H + b"\r\n")
    session = HttpSession(server)
    await session.read_request()
    session.set_keepalive(60)
    resp = ResponseHeader(200)
    resp.append_header("connection", "upgrade")  # replaced, in place, by our own
    resp.append_header("Content-Length", "2")
    assert await session._respond(resp, b"ok") is server
    assert resp.headers.keys() == [b"connection", b"content-length", b"date"]
    assert resp.get("Connection") == b"keep-alive"
    assert session.response_written is resp
    with pytest.raises(Error, match="already written"):
        await session._respond(ResponseHeader(200), b"")


# -- the idle sweeper (transport streams) ---------------------------------------------------------


class Hello(ServeHttp):
    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay

    async def response(self, session: HttpSession) -> tuple[ResponseHeader, bytes]:
        if self.delay:
            await asyncio.sleep(self.delay)  # a slow app: busy, not idle
        resp = ResponseHeader(200)
        resp.append_header("Content-Length", "5")
        return resp, b"hello"


async def read_response(stream: TransportStream) -> bytes:
    data = b""
    async with asyncio.timeout(10):
        while not data.endswith(b"hello"):
            chunk = await stream.read()
            if not chunk:
                raise EOFError(data)
            data += chunk
    return data


async def test_sweeper_closes_an_idle_transport_connection() -> None:
    server = HttpServer(Hello(), keepalive_timeout=0.05)
    client, stream = await tcp_stream_pair()
    trigger = ShutdownTrigger()
    task = asyncio.create_task(server.process_new(stream, trigger.watch))
    try:
        client.write(b"GET / HTTP/1.1\r\n" + H + b"\r\n")
        assert (await read_response(client)).startswith(b"HTTP/1.1 200 OK\r\n")
        assert await asyncio.wait_for(task, 5) is None  # idle past 50 ms: closed by the sweeper
        assert await asyncio.wait_for(client.read(), 5) == b""
        sweeper = server._sweeper
        assert sweeper is not None
        await asyncio.wait_for(sweeper, 5)  # ends once no connection is left to watch
        assert server._swept == 0
        assert server.idle_connections == 0
    finally:
        await client.close()
        await stream.close()
        await server.cleanup()


async def test_sweeper_leaves_a_busy_connection_alone() -> None:
    server = HttpServer(Hello(delay=0.3), keepalive_timeout=0.05)
    client, stream = await tcp_stream_pair()
    trigger = ShutdownTrigger()
    task = asyncio.create_task(server.process_new(stream, trigger.watch))
    try:
        client.write(b"GET / HTTP/1.1\r\n" + H + b"\r\n")
        # the app takes six timeouts to answer: it is busy, so the answer still comes
        assert (await read_response(client)).startswith(b"HTTP/1.1 200 OK\r\n")
        assert await asyncio.wait_for(task, 5) is None
    finally:
        await client.close()
        await stream.close()
        await server.cleanup()


async def test_cleanup_stops_the_sweeper() -> None:
    server = HttpServer(Hello(), keepalive_timeout=30)
    client, stream = await tcp_stream_pair()
    task = asyncio.create_task(server.process_new(stream, ShutdownTrigger().watch))
    try:
        client.write(b"GET / HTTP/1.1\r\n" + H + b"\r\n")
        await read_response(client)
        sweeper = server._sweeper
        assert sweeper is not None
        assert not sweeper.done()
        await server.cleanup()
        assert sweeper.done()
    finally:
        task.cancel()
        await asyncio.wait([task], timeout=5)
        await client.close()
        await stream.close()


# -- TransportStream.write_paused -----------------------------------------------------------------


def paused(stream: TransportStream) -> bool:
    return stream.write_paused


async def test_write_paused_follows_the_transport() -> None:
    client, server = await tcp_stream_pair()
    try:
        server.transport.set_write_buffer_limits(high=1024)
        # small kernel buffers on both ends (no autotuning), so the 4 MiB below fill them
        client.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        server.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
        assert not paused(server)
        chunk = b"x" * 65536
        for _ in range(64):  # 4 MiB the client does not read: the kernel buffers fill up
            server.write(chunk)
            if paused(server):
                break
        assert paused(server)
        drained = asyncio.create_task(server.drain())
        async with asyncio.timeout(10):
            while not drained.done():
                await client.read()
        assert not paused(server)
    finally:
        await client.close()
        await server.close()


# -- BodyWriter.content_length's short way ------------------------------------------------------


def test_content_length_writer_short_way_keeps_the_checks() -> None:
    writer = BodyWriter.content_length(5)
    assert (writer.mode, writer.length, writer.bytes_written, writer.finished) == (
        "length",
        5,
        0,
        False,
    )
    assert [bytes(part) for part in writer.frame(b"hello!")] == [b"hello"]  # cut at 5
    assert writer.complete
    for bad in (-1, 1.5, "5"):
        with pytest.raises(ValueError, match="length"):
            BodyWriter.content_length(bad)  # type: ignore[arg-type]


# -- bytes read ahead by the keep-alive loop ----------------------------------------------------


class RawPeek(HttpServer):
    """An app that reads the connection itself instead of calling read_request()."""

    seen: bytes = b""

    async def process_new_http(self, session: HttpSession, shutdown: ShutdownWatch) -> None:
        self.seen = await session.stream.read()


async def test_reading_the_stream_itself_gets_the_bytes_read_ahead() -> None:
    app = RawPeek(Hello())
    client, server = memory_stream_pair()
    client.write(b"GET /peek HTTP/1.1\r\n" + H + b"\r\n")
    assert await asyncio.wait_for(app.process_new(server, ShutdownTrigger().watch), 5) is None
    assert app.seen == b"GET /peek HTTP/1.1\r\n" + H + b"\r\n"
    await app.cleanup()
