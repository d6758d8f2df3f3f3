"""connect_tcp / connect_uds error mapping, timeouts, options, bind_to; L4Connector."""

from __future__ import annotations

import asyncio
import os
import socket
import tempfile
from collections.abc import Iterator

import anyio
import pytest

from pingora_core.errors import Error, ErrorSource, ErrorType
from pingora_core.listeners import TcpKeepalive, TcpSocketOptions
from pingora_core.protocols.l4 import L4Connector, Stream, connect_tcp, connect_uds
from pingora_core.testing import memory_stream_pair

pytestmark = pytest.mark.anyio


@pytest.fixture
def listening() -> Iterator[socket.socket]:
    sock = socket.create_server(("127.0.0.1", 0))
    yield sock
    sock.close()


def address_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"{host}:{port}"


async def test_connect_and_exchange(listening: socket.socket) -> None:
    stream = await connect_tcp(address_of(listening), timeout=5)
    conn, _ = listening.accept()
    with conn:
        stream.write(b"hi")
        await stream.drain()
        # the bytes reach the kernel by the end of this loop iteration: read without blocking it
        assert await asyncio.to_thread(conn.recv, 10) == b"hi"
        conn.sendall(b"there")
        assert await stream.read() == b"there"
        assert stream.digest.peer_addr == address_of(listening)
        sock = stream.get_extra_info("socket")
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        await stream.close()


async def test_connect_refused() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    address = address_of(sock)
    sock.close()  # nothing listens there any more
    with anyio.fail_after(10), pytest.raises(Error) as info:
        await connect_tcp(address, timeout=5)
    error = info.value
    assert error.etype == ErrorType.ConnectRefused
    assert error.esource == ErrorSource.UPSTREAM
    assert error.retry
    assert address in str(error)
    assert isinstance(error.root_cause(), ConnectionRefusedError)


async def test_connect_timeout_is_honoured() -> None:
    # A listener with backlog 0 whose queue is full drops further SYNs: connect() hangs.
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    address = address_of(server)
    fillers = [socket.create_connection(server.getsockname(), timeout=5)]
    for _ in range(2):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(server.getsockname())
        fillers.append(filler)
    try:
        with anyio.fail_after(10), pytest.raises(Error) as info:
            await connect_tcp(address, timeout=0.3)
        assert info.value.etype == ErrorType.ConnectTimedout
        assert info.value.esource == ErrorSource.UPSTREAM
        assert "timed out" in str(info.value)
    finally:
        for filler in fillers:
            filler.close()
        server.close()


async def test_bad_addresses_are_refused_clearly() -> None:
    for bad in ("127.0.0.1", "::1:80", "[::1]80", "host:port", "127.0.0.1:70000", ":80"):
        with pytest.raises(ValueError, match="invalid peer address"):
            await connect_tcp(bad, timeout=1)
    with pytest.raises(ValueError, match="timeout"):
        await connect_tcp("127.0.0.1:80", timeout=0)
    with pytest.raises(ValueError, match="empty"):
        await connect_uds("unix:", timeout=1)


async def test_bind_to_and_options_are_applied(listening: socket.socket) -> None:
    options = TcpSocketOptions(
        tcp_keepalive=TcpKeepalive(idle=30, interval=5, count=4),
        recv_buffer=65536,
        send_buffer=65536,
        dscp=46,
    )
    stream = await connect_tcp(
        address_of(listening), timeout=5, bind_to="127.0.0.1", options=options
    )
    conn, peer = listening.accept()
    conn.close()
    assert stream.digest.local_addr == f"{peer[0]}:{peer[1]}"
    sock = stream.get_extra_info("socket")
    assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 30
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL) == 5
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT) == 4
    assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) >= 65536
    assert sock.getsockopt(socket.IPPROTO_IP, socket.IP_TOS) == 46 << 2
    await stream.close()


async def test_bind_to_a_foreign_address_is_a_bind_error(listening: socket.socket) -> None:
    with pytest.raises(Error) as info:
        # TEST-NET-1: never assigned to this host, so bind() fails without sending anything
        await connect_tcp(address_of(listening), timeout=5, bind_to="192.0.2.1")
    assert info.value.etype == ErrorType.BindError
    with pytest.raises(ValueError, match="bind_to"):
        await connect_tcp(address_of(listening), timeout=5, bind_to="localhost")


async def test_connect_uds() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "s.sock")
        with pytest.raises(Error) as missing:
            await connect_uds(path, timeout=5)
        assert missing.value.etype == ErrorType.ConnectError
        assert missing.value.esource == ErrorSource.UPSTREAM

        server = socket.socket(socket.AF_UNIX)
        server.bind(path)  # bound but not listening: refused
        with pytest.raises(Error) as refused:
            await connect_uds("unix:" + path, timeout=5)
        assert refused.value.etype == ErrorType.ConnectRefused

        server.listen(1)
        stream = await connect_uds("unix:" + path, timeout=5)
        conn, _ = server.accept()
        with conn, server:
            conn.sendall(b"over uds")
            assert await stream.read() == b"over uds"
            assert stream.digest.peer_addr == "unix:" + path
            assert stream.digest.local_addr is None
            await stream.close()


class _MemoryConnector(L4Connector):
    def __init__(self) -> None:
        self.asked: list[str] = []

    async def connect(self, peer_address: str) -> Stream:
        self.asked.append(peer_address)
        client, server = memory_stream_pair()
        server.write(b"virtual hello")
        return client


async def test_l4_connector_supplies_any_stream() -> None:
    connector = _MemoryConnector()
    stream = await connector.connect("virtual-backend:80")
    assert connector.asked == ["virtual-backend:80"]
    assert await stream.read() == b"virtual hello"
    with pytest.raises(TypeError):
        L4Connector()  # type: ignore[abstract]
