"""Retries and failover as Pingora does them: connect errors go back through upstream_peer, a
request that failed on a reused (stale) connection is replayed from the 64 KiB retry buffer,
larger bodies are not, `max_retries` counts attempts; timeouts answer 504, broken upstreams
502, and an upstream dying mid-body never leaves the client a body that looks complete."""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from pingora_core.apps import ServerApp
from pingora_core.errors import Error, ErrorSource, ErrorType
from pingora_core.protocols.http.v1.client import HttpSession as ClientSession
from pingora_core.protocols.l4 import Stream
from pingora_core.server import ServerConf, ShutdownWatch
from pingora_core.testing.mock_origin import MockOrigin, download_body
from pingora_core.upstreams import HttpPeer, PeerOptions
from pingora_http import RequestHeader
from pingora_proxy import HttpProxy, ProxyHttp, Session
from pingora_proxy.testing import InMemoryUpstream, ProxyTestClient

pytestmark = pytest.mark.anyio


class Failover(ProxyHttp[None]):
    """Hands out `peers` in turn (the last one repeats); records calls and logged errors."""

    def __init__(self, *peers: HttpPeer, retry_connect: bool | None = None) -> None:
        self.peers = peers
        self.retry_connect = retry_connect
        self.peer_calls = 0
        self.logged: list[Error | None] = []

    async def upstream_peer(self, session: Session, ctx: None) -> HttpPeer:
        peer = self.peers[min(self.peer_calls, len(self.peers) - 1)]
        self.peer_calls += 1
        return peer

    async def fail_to_connect(
        self, session: Session, peer: HttpPeer, ctx: None, error: Error
    ) -> Error:
        if self.retry_connect is not None:
            error.set_retry(self.retry_connect)
        return error

    async def logging(self, session: Session, error: Error | None, ctx: None) -> None:
        self.logged.append(error)


def refused_address() -> str:
    """A loopback port nobody listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"127.0.0.1:{port}"


# -- connect failures ----------------------------------------------------------------------------


async def test_connect_refused_goes_to_the_next_peer() -> None:
    async with MockOrigin() as origin:
        app = Failover(HttpPeer(refused_address()), HttpPeer(origin.address))
        async with ProxyTestClient(app) as client:
            resp = await client.get("/")
    assert resp.status == 200
    assert app.peer_calls == 2
    assert app.logged == [None]


async def test_fail_to_connect_can_refuse_the_retry() -> None:
    async with MockOrigin() as origin:
        app = Failover(HttpPeer(refused_address()), HttpPeer(origin.address), retry_connect=False)
        async with ProxyTestClient(app) as client:
            resp = await client.get("/")
    assert resp.status == 502
    assert app.peer_calls == 1
    error = app.logged[0]
    assert error is not None
    assert error.etype == ErrorType.ConnectRefused
    assert error.esource is ErrorSource.UPSTREAM


async def test_max_retries_counts_attempts() -> None:
    app = Failover(HttpPeer(refused_address()))
    proxy = HttpProxy(app, ServerConf(max_retries=4))
    async with ProxyTestClient(proxy) as client:
        resp = await client.get("/")
    assert resp.status == 502
    assert app.peer_calls == 4
    assert len(app.logged) == 1


async def test_connect_timeout_answers_504() -> None:
    class SlowConnector(InMemoryUpstream):
        async def connect(self, peer_address: str) -> Stream:
            import asyncio

            await asyncio.Event().wait()  # never connects; the connect timeout must fire
            raise AssertionError("unreachable")

    async with SlowConnector(ServerAppNeverUsed()) as slow:
        app = Failover(slow.peer(connection_timeout=0.05))
        proxy = HttpProxy(app, ServerConf(max_retries=2))
        async with ProxyTestClient(proxy) as client:
            resp = await client.get("/")
    assert resp.status == 504
    assert app.peer_calls == 2  # connect timeouts are retryable
    error = app.logged[0]
    assert error is not None
    assert error.etype == ErrorType.ConnectTimedout


class ServerAppNeverUsed(ServerApp):
    async def process_new(self, stream: Stream, shutdown: ShutdownWatch) -> Stream | None:
        raise AssertionError("no connection was expected")


# -- scripted in-memory upstreams ------------------------------------------------------------------

Script = Callable[[int, Stream], Awaitable[None]]


class Scripted(ServerApp):
    """Runs `script(connection_number, stream)` on each connection (1-based)."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.count = 0
        self.requests: list[tuple[int, bytes]] = []

    async def process_new(self, stream: Stream, shutdown: ShutdownWatch) -> Stream | None:
        self.count += 1
        await self.script(self.count, stream)
        return None


async def read_request(stream: Stream, buf: bytearray) -> tuple[bytes, bytes] | None:
    """(head, body) of the next request on `stream` (Content-Length bodies), None at EOF."""
    while b"\r\n\r\n" not in buf:
        data = await stream.read()
        if not data:
            return None
        buf += data
    end = buf.index(b"\r\n\r\n") + 4
    head = bytes(buf[:end])
    del buf[:end]
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(buf) < length:
        data = await stream.read()
        if not data:
            return None
        buf += data
    body = bytes(buf[:length])
    del buf[:length]
    return head, body


def response(body: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


def drop_second_request_on_first_connection(app: Scripted) -> Script:
    async def script(number: int, stream: Stream) -> None:
        buf = bytearray()
        served = 0
        while (request := await read_request(stream, buf)) is not None:
            served += 1
            app.requests.append((number, request[1]))
            if number == 1 and served == 2:
                await stream.close()  # a stale keep-alive connection: read, then gone
                return
            stream.write(response(b"echo:" + request[1]))
            await stream.drain()

    return script


async def proxy_twice(method: str, body: bytes) -> tuple[Any, Failover, Scripted, int]:
    scripted = Scripted(lambda n, s: s.close())
    scripted.script = drop_second_request_on_first_connection(scripted)
    async with InMemoryUpstream(scripted) as upstream:
        app = Failover(upstream.peer())
        async with ProxyTestClient(app) as client:
            first = await client.get("/load-the-pool")
            assert first.status == 200
            resp = await client.request(method, "/again", body=body)
        return resp, app, scripted, upstream.connections


@pytest.mark.parametrize(
    ("method", "body"), [("GET", b""), ("POST", b""), ("POST", b"cat!\n"), ("PUT", b"x" * 65536)]
)
async def test_a_dropped_reused_connection_is_retried_transparently(
    method: str, body: bytes
) -> None:
    resp, app, scripted, connections = await proxy_twice(method, body)
    assert resp.status == 200
    assert resp.body == b"echo:" + body  # the body was replayed from the retry buffer
    assert app.peer_calls == 3  # upstream_peer was asked again for the retry
    assert connections == 2  # the retry went over a fresh connection
    assert scripted.requests[-1] == (2, body)
    assert app.logged == [None, None]


async def test_a_body_over_the_retry_buffer_is_not_retried() -> None:
    body = b"e" * (64 * 1024 + 1)
    resp, app, _scripted, connections = await proxy_twice("POST", body)
    assert resp.status == 502
    assert app.peer_calls == 2  # no second attempt for this request
    assert connections == 1
    error = app.logged[-1]
    assert error is not None
    assert error.esource is ErrorSource.UPSTREAM
    assert error.etype == ErrorType.ConnectionClosed


async def test_an_error_on_a_fresh_connection_is_not_retried() -> None:
    async def script(number: int, stream: Stream) -> None:
        await read_request(stream, bytearray())
        stream.write(b"HTTP/1.1 200 OK\r\nContent-Le")  # dies inside the response head
        await stream.close()

    async with InMemoryUpstream(Scripted(script)) as upstream:
        app = Failover(upstream.peer())
        async with ProxyTestClient(app) as client:
            resp = await client.get("/")
        assert upstream.connections == 1
    assert resp.status == 502
    assert app.peer_calls == 1
    error = app.logged[0]
    assert error is not None
    assert error.etype == ErrorType.ConnectionClosed


async def test_a_garbled_response_head_is_502() -> None:
    async def script(number: int, stream: Stream) -> None:
        await read_request(stream, bytearray())
        stream.write(b"NOT HTTP AT ALL\r\n\r\n")
        await stream.close()

    async with InMemoryUpstream(Scripted(script)) as upstream:
        app = Failover(upstream.peer())
        async with ProxyTestClient(app) as client:
            resp = await client.get("/")
    assert resp.status == 502
    error = app.logged[0]
    assert error is not None
    assert error.esource is ErrorSource.UPSTREAM


# -- timeouts --------------------------------------------------------------------------------------


async def test_an_upstream_read_timeout_answers_504() -> None:
    async with MockOrigin() as origin:
        peer = HttpPeer(origin.address, options=PeerOptions(read_timeout=0.2))
        app = Failover(peer)
        async with ProxyTestClient(app) as client:
            resp = await client.get("/", headers={"X-Sleep-Head": "5"})
            assert resp.status == 504
            # the connection to the client is closed after an error; a new one works
            resp = await client.get("/")
            assert resp.status == 200
    assert app.peer_calls == 2  # a timeout is not retried
    error = app.logged[0]
    assert error is not None
    assert error.etype == ErrorType.ReadTimedout


# -- the upstream dies after the response started ------------------------------------------------


async def read_all(session: ClientSession) -> None:
    while await session.read_response_body() is not None:
        pass


async def raw_exchange(client: ProxyTestClient, request: bytes) -> tuple[bytes, bytes, bool]:
    """Send raw `request`; return (head, body bytes received, whether the stream was reset)."""
    stream = await client.open_connection()
    stream.write(request)
    data = bytearray()
    reset = False
    while True:
        try:
            piece = await stream.read()
        except Error:
            reset = True
            break
        if not piece:
            break
        data += piece
    await stream.close()
    head, _, body = bytes(data).partition(b"\r\n\r\n")
    return head, body, reset


async def test_upstream_dying_mid_body_cuts_a_content_length_response_short() -> None:
    size = 100_000
    async with MockOrigin() as origin:
        app = Failover(HttpPeer(origin.address))
        async with ProxyTestClient(app) as client:
            head, body, _ = await raw_exchange(
                client, b"GET /die/%d HTTP/1.1\r\nHost: t\r\n\r\n" % size
            )
    assert head.startswith(b"HTTP/1.1 200")
    assert b"Content-Length: %d" % size in head
    assert 0 < len(body) < size
    assert body == download_body(size)[: len(body)]
    assert app.logged[0] is not None


async def test_upstream_dying_mid_body_never_sends_the_last_chunk() -> None:
    size = 100_000
    async with MockOrigin() as origin:
        app = Failover(HttpPeer(origin.address))
        async with ProxyTestClient(app) as client:
            head, body, _ = await raw_exchange(
                client, b"GET /die/%d HTTP/1.1\r\nHost: t\r\nX-Chunked: 1\r\n\r\n" % size
            )
            # the client's own parser sees the truncation as an error, not a short body
            stream = await client.open_connection()
            session = ClientSession(stream)
            req = RequestHeader("GET", f"/die/{size}")
            req.headers.append("Host", "t")
            req.headers.append("X-Chunked", "1")
            await session.write_request_header(req)
            await session.finish_body()
            assert (await session.read_response_header()).status == 200
            with pytest.raises(Error):
                await read_all(session)
            await session.shutdown()
    assert b"Transfer-Encoding: chunked" in head
    assert not body.endswith(b"0\r\n\r\n")


async def test_upstream_dying_mid_body_resets_a_close_delimited_response() -> None:
    async with MockOrigin() as origin:
        app = Failover(HttpPeer(origin.address))
        async with ProxyTestClient(app) as client:
            # an HTTP/1.0 client gets the chunked upstream body until close: only a reset can
            # tell it the body is incomplete
            head, _, reset = await raw_exchange(
                client, b"GET /die/100000 HTTP/1.0\r\nHost: t\r\nX-Chunked: 1\r\n\r\n"
            )
    assert reset
    # (a reset may drop what the client had not read yet; what did arrive had no framing)
    assert b"transfer-encoding" not in head.lower()
    assert b"content-length" not in head.lower()
