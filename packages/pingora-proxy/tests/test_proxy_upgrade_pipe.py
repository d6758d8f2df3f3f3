"""Protocol switches: an Upgrade request answered 101 becomes a raw pipe both ways with
half-closes passed on; an upgrade the upstream declines stays plain HTTP; CONNECT is refused
(405) unless allowed (argument or ServerConf key), then it is a tunnel to the peer."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from pingora_core.apps import ServerApp
from pingora_core.errors import Error, ErrorType
from pingora_core.protocols.l4 import Stream
from pingora_core.server import ServerConf, ShutdownWatch
from pingora_core.upstreams import HttpPeer
from pingora_proxy import ALLOW_CONNECT_KEY, HttpProxy, ProxyHttp, Session
from pingora_proxy.testing import InMemoryUpstream, ProxyTestClient, read_head

pytestmark = pytest.mark.anyio

UPGRADE = (
    b"GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Keep-Alive: 5\r\n\r\n"
)


class ToPeer(ProxyHttp[None]):
    def __init__(self, peer: HttpPeer) -> None:
        self.peer = peer
        self.logged: list[Error | None] = []
        self.raw_up: list[bytes | None] = []
        self.raw_down: list[bytes | None] = []

    async def upstream_peer(self, session: Session, ctx: None) -> HttpPeer:
        return self.peer

    async def logging(self, session: Session, error: Error | None, ctx: None) -> None:
        self.logged.append(error)


class Filtering(ToPeer):
    """Body filters see the raw bytes of the pipe (and None at each side's EOF)."""

    async def request_body_filter(
        self, session: Session, body: bytes | None, end_of_stream: bool, ctx: None
    ) -> bytes | None:
        self.raw_up.append(body)
        return body

    async def response_body_filter(
        self, session: Session, body: bytes | None, end_of_stream: bool, ctx: None
    ) -> bytes | None:
        self.raw_down.append(body)
        return None if body is None else body.replace(b"O", b"0")


class WebSocketish(ServerApp):
    """101 + "hi", then echoes in upper case; after the client's EOF sends "bye" and closes.
    Records the request head and what it received."""

    def __init__(self, refuse: bool = False) -> None:
        self.refuse = refuse
        self.head = b""
        self.received = bytearray()

    async def process_new(self, stream: Stream, shutdown: ShutdownWatch) -> Stream | None:
        try:
            self.head, rest = await read_head(stream)
        except EOFError:
            return None
        if self.refuse:
            stream.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nno")
            await stream.drain()
            return stream
        stream.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
            b"\r\nhi"
        )
        if rest:
            self.received += rest
            stream.write(rest.upper())
        while data := await stream.read():
            self.received += data
            stream.write(data.upper())
            await stream.drain()
        stream.write(b"bye")
        await stream.close()
        return None


async def read_until(stream: Stream, marker: bytes, buf: bytearray) -> bytes:
    while marker not in buf:
        data = await stream.read()
        assert data, f"EOF before {marker!r}: {bytes(buf)!r}"
        buf += data
    end = buf.index(marker) + len(marker)
    out = bytes(buf[:end])
    del buf[:end]
    return out


async def read_to_eof(stream: Stream, buf: bytearray) -> bytes:
    while data := await stream.read():
        buf += data
    out = bytes(buf)
    buf.clear()
    return out


async def test_upgrade_pipes_raw_bytes_both_ways_and_passes_closes_on() -> None:
    origin = WebSocketish()
    async with InMemoryUpstream(origin) as upstream:
        app = ToPeer(upstream.peer())
        async with ProxyTestClient(app) as client:
            stream = await client.open_connection()
            stream.write(UPGRADE)
            buf = bytearray()
            head = await read_until(stream, b"\r\n\r\n", buf)
            assert head.startswith(b"HTTP/1.1 101")
            assert b"Upgrade: websocket" in head
            assert b"Connection: upgrade" in head
            assert await read_until(stream, b"hi", buf) == b"hi"
            stream.write(b"ping")
            assert await read_until(stream, b"PING", buf) == b"PING"
            await stream.shutdown()  # the half close reaches the origin, which says bye
            assert await read_to_eof(stream, buf) == b"bye"
            await stream.close()
    # the upgrade pair went upstream; other hop-by-hop fields did not
    assert b"Upgrade: websocket" in origin.head
    assert b"Connection: Upgrade" in origin.head
    assert b"Keep-Alive" not in origin.head
    assert bytes(origin.received) == b"ping"
    assert app.logged == [None]


async def test_upgrade_bytes_sent_with_the_request_are_not_lost() -> None:
    origin = WebSocketish()
    async with (
        InMemoryUpstream(origin) as upstream,
        ProxyTestClient(ToPeer(upstream.peer())) as client,
    ):
        stream = await client.open_connection()
        stream.write(UPGRADE + b"early")  # bytes right behind the head
        buf = bytearray()
        await read_until(stream, b"\r\n\r\n", buf)
        assert await read_until(stream, b"EARLY", buf) == b"hiEARLY"
        await stream.shutdown()
        assert await read_to_eof(stream, buf) == b"bye"
        await stream.close()


async def test_body_filters_see_the_raw_pipe() -> None:
    origin = WebSocketish()
    async with InMemoryUpstream(origin) as upstream:
        app = Filtering(upstream.peer())
        async with ProxyTestClient(app) as client:
            stream = await client.open_connection()
            stream.write(UPGRADE)
            buf = bytearray()
            await read_until(stream, b"\r\n\r\n", buf)
            await read_until(stream, b"hi", buf)
            stream.write(b"foo")
            assert await read_until(stream, b"F00", buf) == b"F00"  # echoed FOO, filtered
            await stream.shutdown()
            assert await read_to_eof(stream, buf) == b"bye"
            await stream.close()
    assert app.raw_up[0] is None  # the request had no body before the switch
    assert app.raw_up[1:] == [b"foo", None]
    assert app.raw_down[-1] is None
    assert b"".join(piece for piece in app.raw_down if piece) == b"hiFOObye"


async def test_a_declined_upgrade_is_a_plain_response() -> None:
    origin = WebSocketish(refuse=True)
    async with (
        InMemoryUpstream(origin) as upstream,
        ProxyTestClient(ToPeer(upstream.peer())) as client,
    ):
        resp = await client.request(
            "GET", "/ws", [("Upgrade", "websocket"), ("Connection", "Upgrade")]
        )
        assert resp.status == 200
        assert resp.body == b"no"
        again = await client.get("/")
        assert again.status == 200
        assert client.connections == 1


# -- CONNECT -------------------------------------------------------------------------------------


class Echo(ServerApp):
    """A raw TCP-like echo: "ready\\n", then everything back, then close at EOF."""

    def __init__(self) -> None:
        self.connections = 0

    async def process_new(self, stream: Stream, shutdown: ShutdownWatch) -> Stream | None:
        self.connections += 1
        stream.write(b"ready\n")
        while data := await stream.read():
            stream.write(data)
            await stream.drain()
        await stream.close()
        return None


CONNECT = b"CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n"


async def test_connect_is_refused_by_default() -> None:
    echo = Echo()
    async with InMemoryUpstream(echo) as upstream:
        app = ToPeer(upstream.peer())
        async with ProxyTestClient(app) as client:
            stream = await client.open_connection()
            stream.write(CONNECT)
            buf = bytearray()
            head = await read_until(stream, b"\r\n\r\n", buf)
            assert head.startswith(b"HTTP/1.1 405")
            await read_to_eof(stream, buf)
            await stream.close()
    assert echo.connections == 0
    error = app.logged[0]
    assert error is not None
    assert error.etype == ErrorType.HTTPStatus(405)


async def tunnel(client: ProxyTestClient) -> None:
    stream = await client.open_connection()
    stream.write(CONNECT + b"\x16\x03")  # tunnel bytes right behind the CONNECT head
    buf = bytearray()
    head = await read_until(stream, b"\r\n\r\n", buf)
    assert head.startswith(b"HTTP/1.1 200")
    assert b"Content-Length" not in head
    assert b"Transfer-Encoding" not in head
    assert await read_until(stream, b"\x16\x03", buf) == b"ready\n\x16\x03"
    stream.write(b"more")
    assert await read_until(stream, b"more", buf) == b"more"
    await stream.shutdown()
    assert await read_to_eof(stream, buf) == b""
    await stream.close()


@pytest.mark.parametrize("how", ["argument", "conf"])
async def test_connect_allowed_opens_a_tunnel(how: str) -> None:
    echo = Echo()
    async with InMemoryUpstream(echo) as upstream:
        app = ToPeer(upstream.peer())
        if how == "argument":
            proxy = HttpProxy(app, allow_connect=True)
        else:
            proxy = HttpProxy(app, ServerConf(extra={ALLOW_CONNECT_KEY: True}))
        assert proxy.allow_connect
        async with ProxyTestClient(proxy) as client:
            await tunnel(client)
    assert echo.connections == 1
    assert app.logged == [None]


async def test_connect_retries_a_failed_connect() -> None:
    echo = Echo()
    async with InMemoryUpstream(echo) as upstream:
        upstream.fail_connects = 2
        app = ToPeer(upstream.peer())
        async with ProxyTestClient(app, allow_connect=True) as client:
            await tunnel(client)
    assert echo.connections == 1


async def test_a_failing_pipe_aborts_both_sides() -> None:
    class Resets(ServerApp):
        async def process_new(self, stream: Stream, shutdown: ShutdownWatch) -> Stream | None:
            await stream.read()
            stream.write(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n"
            )
            await stream.drain()
            await stream.read()
            stream.abort()
            return None

    async with InMemoryUpstream(Resets()) as upstream:
        app: Any = ToPeer(upstream.peer())
        async with ProxyTestClient(app) as client:
            stream = await client.open_connection()
            stream.write(UPGRADE)
            buf = bytearray()
            await read_until(stream, b"\r\n\r\n", buf)
            stream.write(b"boom")
            with pytest.raises(Error):
                async with asyncio.timeout(10):
                    await read_to_eof(stream, buf)
            await stream.close()
    error = app.logged[0]
    assert error is not None
