"""Connector against small loopback origins (asyncio servers on port 0 and a unix socket):
reuse after keep-alive, no reuse after Connection: close, idle connections dropped when the
origin closes them, LRU eviction, stats, connect errors, UDS and custom L4 peers."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from pingora_core import connectors
from pingora_core.connectors import Connector, ConnectorStats
from pingora_core.errors import Error, ErrorSource, ErrorType
from pingora_core.protocols.l4 import L4Connector, Stream
from pingora_core.server import ServerConf
from pingora_core.testing import memory_stream_pair
from pingora_core.upstreams import HttpPeer, PeerOptions
from pingora_http import RequestHeader

pytestmark = pytest.mark.anyio


class Origin:
    """A tiny HTTP/1.1 origin: `/close` answers with Connection: close, `/bye` answers and then
    closes the connection a moment later, anything else keeps the connection alive."""

    def __init__(self) -> None:
        self.connections = 0
        self.requests = 0
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.requests += 1
                path = head.split(b" ", 2)[1]
                body = b"hello " + path
                extra = b"Connection: close\r\n" if path == b"/close" else b""
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s"
                             % (len(body), extra, body))
                await writer.drain()
                if path in (b"/close", b"/bye"):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def close_all(self) -> None:
        for writer in self.writers:
            writer.close()


@pytest.fixture
async def origin() -> AsyncIterator[tuple[Origin, str]]:
    handler = Origin()
    server = await asyncio.start_server(handler.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield handler, f"127.0.0.1:{port}"
        handler.close_all()


async def fetch(connector: Connector, peer: HttpPeer, path: str = "/") -> tuple[bytes, bool]:
    session, reused = await connector.get_http_session(peer)
    await session.write_request_header(RequestHeader("GET", path))
    resp = await session.read_response_header()
    assert resp.status == 200
    body = b""
    while (piece := await session.read_response_body()) is not None:
        body += piece
    await connector.release_http_session(session, peer)
    return body, reused


async def until(condition: Callable[[], bool]) -> None:
    """Let the loop run (in 1 ms steps, at most 10 s) until `condition` holds."""
    for _ in range(10_000):
        if condition():
            return
        await asyncio.sleep(0.001)
    raise AssertionError("condition not reached")


def test_exports() -> None:
    assert set(connectors.__all__) == {"Connector", "ConnectorStats"}


async def test_reuse_after_keepalive(origin: tuple[Origin, str]) -> None:
    server, address = origin
    connector = Connector()
    peer = HttpPeer(address)
    assert await fetch(connector, peer, "/a") == (b"hello /a", False)
    assert await fetch(connector, HttpPeer(address), "/b") == (b"hello /b", True)
    assert await fetch(connector, peer, "/c") == (b"hello /c", True)
    assert server.connections == 1
    assert server.requests == 3
    stats = connector.stats
    assert (stats.created, stats.reused, stats.released, stats.pooled) == (1, 2, 3, 3)
    assert stats.reuse_ratio == pytest.approx(2 / 3)
    assert stats.idle == 1
    connector.close()
    assert connector.stats.idle == 0


async def test_no_reuse_after_connection_close(origin: tuple[Origin, str]) -> None:
    server, address = origin
    connector = Connector()
    peer = HttpPeer(address)
    assert await fetch(connector, peer, "/close") == (b"hello /close", False)
    assert connector.stats.idle == 0
    assert await fetch(connector, peer, "/x") == (b"hello /x", False)
    assert server.connections == 2
    connector.close()


async def test_idle_timeout_zero_disables_pooling(origin: tuple[Origin, str]) -> None:
    server, address = origin
    connector = Connector()
    peer = HttpPeer(address, options=PeerOptions(idle_timeout=0))
    await fetch(connector, peer)
    assert connector.stats.idle == 0
    await fetch(connector, peer)
    assert server.connections == 2


async def test_peer_closes_idle_connection(origin: tuple[Origin, str]) -> None:
    server, address = origin
    connector = Connector()
    peer = HttpPeer(address)
    await fetch(connector, peer, "/bye")  # the origin closes right after answering
    await until(lambda: connector.stats.idle == 0)
    assert connector.stats.closed_idle == 1
    body, reused = await fetch(connector, peer, "/again")
    assert (body, reused) == (b"hello /again", False)
    assert server.connections == 2
    connector.close()


async def test_idle_timeout_expiry(origin: tuple[Origin, str]) -> None:
    _, address = origin
    connector = Connector()
    peer = HttpPeer(address, options=PeerOptions(idle_timeout=0.01))
    await fetch(connector, peer)
    await until(lambda: connector.stats.idle == 0)
    assert connector.stats.expired == 1


async def test_lru_eviction_at_pool_size(origin: tuple[Origin, str]) -> None:
    server, address = origin
    connector = Connector(pool_size=2)
    peers = [HttpPeer(address, group_key=n) for n in range(3)]  # three pool keys
    for peer in peers:
        await fetch(connector, peer)
    stats = connector.stats
    assert (stats.idle, stats.evicted) == (2, 1)
    assert (await fetch(connector, peers[0]))[1] is False  # evicted: a new connection
    assert (await fetch(connector, peers[2]))[1] is True
    assert server.connections == 4
    connector.close()


async def test_unread_body_is_not_reused(origin: tuple[Origin, str]) -> None:
    _, address = origin
    connector = Connector()
    peer = HttpPeer(address)
    session, _ = await connector.get_http_session(peer)
    await session.write_request_header(RequestHeader("GET", "/"))
    await session.read_response_header()
    await connector.release_http_session(session, peer)  # body left unread
    stats = connector.stats
    assert (stats.released, stats.pooled, stats.idle) == (1, 0, 0)


async def test_connect_refused() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connects are refused
        connector = Connector()
        with pytest.raises(Error) as info:
            await connector.get_http_session(HttpPeer(f"127.0.0.1:{port}"))
    assert info.value.etype == ErrorType.ConnectRefused
    assert info.value.esource is ErrorSource.UPSTREAM
    assert connector.stats.connect_errors == 1


class _Hanging(L4Connector):
    async def connect(self, peer_address: str) -> Stream:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


@pytest.mark.parametrize("which", ["connection_timeout", "total_connection_timeout"])
async def test_connect_timeout(which: str) -> None:
    base = PeerOptions(custom_l4=_Hanging())
    if which == "connection_timeout":
        options = dataclasses.replace(base, connection_timeout=0.05)
    else:
        options = dataclasses.replace(base, total_connection_timeout=0.05)
    connector = Connector()
    with pytest.raises(Error) as info:
        await connector.get_http_session(HttpPeer("10.0.0.1:80", options=options))
    assert info.value.etype == ErrorType.ConnectTimedout
    assert info.value.esource is ErrorSource.UPSTREAM


async def test_uds_peer() -> None:
    handler = Origin()
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "origin.sock")
        server = await asyncio.start_unix_server(handler.handle, path)
        async with server:
            connector = Connector()
            peer = HttpPeer(f"unix:{path}")
            assert await fetch(connector, peer, "/u") == (b"hello /u", False)
            assert await fetch(connector, peer, "/v") == (b"hello /v", True)
            assert handler.connections == 1
            connector.close()
            handler.close_all()


class _Virtual(L4Connector):
    """Serves each connection with an in-memory origin task."""

    def __init__(self) -> None:
        self.addresses: list[str] = []
        self.tasks: list[asyncio.Task[None]] = []

    async def connect(self, peer_address: str) -> Stream:
        self.addresses.append(peer_address)
        ours, theirs = memory_stream_pair()
        self.tasks.append(asyncio.ensure_future(self._serve(theirs)))
        return ours

    async def _serve(self, stream: Stream) -> None:
        buf = b""
        while (data := await stream.read()) != b"":
            buf += data
            while b"\r\n\r\n" in buf:
                _, buf = buf.split(b"\r\n\r\n", 1)
                stream.write(b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nvirtual")


async def test_custom_l4_connector_peer() -> None:
    virtual = _Virtual()
    connector = Connector()
    peer = HttpPeer("192.0.2.1:80", options=PeerOptions(custom_l4=virtual))
    assert await fetch(connector, peer) == (b"virtual", False)
    assert await fetch(connector, peer) == (b"virtual", True)
    assert virtual.addresses == ["192.0.2.1:80"]
    # a peer with the same address but no custom connector never gets that connection
    assert connector.pool.idle_count(HttpPeer("192.0.2.1:80").reuse_hash()) == 0
    connector.close()
    await asyncio.gather(*virtual.tasks, return_exceptions=True)


class _Broken(L4Connector):
    async def connect(self, peer_address: str) -> Stream:
        raise ConnectionRefusedError("nope")


async def test_custom_l4_errors_are_mapped() -> None:
    connector = Connector()
    peer = HttpPeer("192.0.2.1:80", options=PeerOptions(custom_l4=_Broken()))
    with pytest.raises(Error) as info:
        await connector.get_http_session(peer)
    assert info.value.etype == ErrorType.ConnectRefused


async def test_timeouts_are_applied_to_sessions(origin: tuple[Origin, str]) -> None:
    _, address = origin
    connector = Connector()
    peer = HttpPeer(address, options=PeerOptions(read_timeout=3.0, write_timeout=4.0))
    session, _ = await connector.get_http_session(peer)
    assert (session.read_timeout, session.write_timeout) == (3.0, 4.0)
    assert session.digest.peer_addr == address
    await session.shutdown()


def test_from_server_conf_and_validation() -> None:
    conf = ServerConf(upstream_keepalive_pool_size=7, client_bind_to_ipv4=("127.0.0.1",))
    connector = Connector.from_server_conf(conf)
    assert connector.pool.size == 7
    assert "pool=0/7" in repr(connector)
    with pytest.raises(ValueError, match="not an IPv4 address"):
        Connector(bind_to_v4=("::1",))
    with pytest.raises(ValueError, match="unknown HTTP/1 parser backend"):
        Connector(backend="nope")
    stats = ConnectorStats(created=0, reused=0, connect_errors=0, released=0, pooled=0,
                           idle=0, evicted=0, closed_idle=0, expired=0)
    assert stats.reuse_ratio == 0.0


async def test_bind_to_from_conf_list(origin: tuple[Origin, str]) -> None:
    _, address = origin
    connector = Connector(bind_to_v4=("127.0.0.1",))
    session, _ = await connector.get_http_session(HttpPeer(address))
    assert session.digest.local_addr is not None
    assert session.digest.local_addr.startswith("127.0.0.1:")
    await session.shutdown()
