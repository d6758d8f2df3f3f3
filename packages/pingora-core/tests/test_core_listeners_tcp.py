"""TcpListener: bind, serve, socket options, connection filter, stopping and cancellation."""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import anyio
import pytest

import pingora_core.listeners as listeners
from pingora_core.errors import Error, ErrorSource, ErrorType
from pingora_core.listeners import (
    AcceptAllFilter,
    ConnectionFilter,
    Listener,
    TcpKeepalive,
    TcpListener,
    TcpSocketOptions,
)
from pingora_core.protocols.l4 import Stream, connect_tcp
from pingora_core.testing import anyio_loop_backends, loop_backend_id

pytestmark = pytest.mark.anyio



@pytest.fixture(params=anyio_loop_backends(), ids=loop_backend_id)
def anyio_backend(request: pytest.FixtureRequest) -> object:
    return request.param


async def echo(stream: Stream) -> None:
    while data := await stream.read():
        stream.write(data)
        await stream.drain()


@asynccontextmanager
async def serving(
    listener: Listener,
    handler: Callable[[Stream], Awaitable[None]] = echo,
    connection_filter: ConnectionFilter | None = None,
) -> AsyncIterator[Listener]:
    await listener.bind()
    async with anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, handler, connection_filter)
        try:
            yield listener
        finally:
            listener.stop_accepting()
    listener.close()


async def ending(stream: Stream) -> str:
    """How the server ended the connection, as seen by the next read: "eof" or "reset"."""
    with anyio.fail_after(10):
        try:
            data = await stream.read()
        except Error as exc:
            return "reset" if exc.etype == ErrorType.ReadError else f"error {exc}"
    return "eof" if data == b"" else f"data {data!r}"


async def roundtrip(address: str, payload: bytes = b"hello") -> bytes:
    stream = await connect_tcp(address, timeout=5)
    stream.write(payload)
    await stream.shutdown()
    received = b""
    with anyio.fail_after(10):
        while chunk := await stream.read():
            received += chunk
    await stream.close()
    return received


def test_public_names() -> None:
    assert set(listeners.__all__) == {
        "LISTENER_BACKLOG",
        "AcceptAllFilter",
        "ConnectionFilter",
        "Listener",
        "TcpKeepalive",
        "TcpListener",
        "TcpSocketOptions",
        "UdsListener",
    }


async def test_serve_echo_and_bound_address() -> None:
    listener = TcpListener("127.0.0.1:0")
    assert "unbound" in repr(listener)
    async with serving(listener):
        address = listener.bound_address
        assert address.startswith("127.0.0.1:")
        assert not address.endswith(":0")
        assert listener.address == "127.0.0.1:0"
        assert await roundtrip(address) == b"hello"
        assert await roundtrip(address, b"x" * 300_000) == b"x" * 300_000
        assert listener.accepted == 2
        assert "serving" in repr(listener)
    assert not listener.is_bound


async def test_accepted_streams_are_downstream_with_nodelay() -> None:
    seen: list[Stream] = []
    nodelay: list[int] = []

    async def handler(stream: Stream) -> None:
        seen.append(stream)
        sock = stream.get_extra_info("socket")  # type: ignore[attr-defined]
        nodelay.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        await stream.read()  # the client's EOF

    async with serving(TcpListener("127.0.0.1:0"), handler) as listener:
        client = await connect_tcp(listener.bound_address, timeout=5)
        await client.shutdown()
        assert await ending(client) in ("eof", "reset")  # the handler's read() returned
        await client.close()
    assert nodelay[0] != 0
    assert seen[0].digest.local_addr == listener.bound_address
    assert seen[0].digest.peer_addr == client.digest.local_addr


async def test_address_in_use_is_a_clear_bind_error() -> None:
    first = TcpListener("127.0.0.1:0")
    await first.bind()
    try:
        second = TcpListener(first.bound_address)
        with pytest.raises(Error) as info:
            await second.bind()
        assert info.value.etype == ErrorType.BindError
        assert info.value.esource == ErrorSource.INTERNAL
        assert f"{first.bound_address}: address already in use" in str(info.value)
        assert not second.is_bound
    finally:
        first.close()


async def test_reuseport_lets_two_listeners_share_a_port() -> None:
    options = TcpSocketOptions(reuseport=True)
    first = TcpListener("127.0.0.1:0", options)
    await first.bind()
    second = TcpListener(first.bound_address, options)
    await second.bind()
    try:
        for listener in (first, second):
            sock = socket.socket(fileno=os.dup(listener.fileno()))
            with sock:
                assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 1
        assert first.bound_address == second.bound_address
    finally:
        first.close()
        second.close()


async def test_socket_options_are_applied() -> None:
    options = TcpSocketOptions(
        tcp_keepalive=TcpKeepalive(idle=60, interval=7.5, count=3),
        tcp_fastopen=16,
        recv_buffer=128 * 1024,
        send_buffer=96 * 1024,
        dscp=10,
    )
    accepted: dict[str, int] = {}

    async def handler(stream: Stream) -> None:
        sock = stream.get_extra_info("socket")  # type: ignore[attr-defined]
        accepted["keepalive"] = sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)
        accepted["idle"] = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE)
        accepted["interval"] = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL)
        accepted["count"] = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT)
        accepted["tos"] = sock.getsockopt(socket.IPPROTO_IP, socket.IP_TOS)
        accepted["nodelay"] = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        await echo(stream)

    async with serving(TcpListener("127.0.0.1:0", options), handler) as listener:
        with socket.socket(fileno=os.dup(listener.fileno())) as sock:
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) >= 128 * 1024
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF) >= 96 * 1024
            assert sock.getsockopt(socket.IPPROTO_IP, socket.IP_TOS) == 10 << 2
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_FASTOPEN) == 16
        assert await roundtrip(listener.bound_address) == b"hello"
    assert accepted == {
        "keepalive": 1, "idle": 60, "interval": 8, "count": 3, "tos": 10 << 2, "nodelay": 1,
    }


async def test_ipv6_only_and_tclass() -> None:
    options = TcpSocketOptions(ipv6_only=True, dscp=46)
    listener = TcpListener("[::1]:0", options)
    try:
        await listener.bind()
    except Error as exc:
        pytest.skip(f"no IPv6 loopback: {exc}")
    try:
        assert listener.bound_address.startswith("[::1]:")
        with socket.socket(fileno=os.dup(listener.fileno())) as sock:
            assert sock.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY) == 1
            assert sock.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_TCLASS) == 46 << 2
    finally:
        listener.close()


class _Refuse(ConnectionFilter):
    def __init__(self, refused: set[str | None] | None = None, fail: bool = False) -> None:
        self.refused = refused
        self.fail = fail
        self.asked: list[str | None] = []

    async def should_accept(self, addr: str | None) -> bool:
        self.asked.append(addr)
        if self.fail:
            raise RuntimeError("filter broke")
        return self.refused is not None and addr not in self.refused


@pytest.mark.parametrize("fail", [False, True], ids=["refuses", "raises"])
async def test_connection_filter_refusing(fail: bool) -> None:
    calls: list[Stream] = []

    async def handler(stream: Stream) -> None:
        calls.append(stream)

    connection_filter = _Refuse(refused=None, fail=fail)
    async with serving(TcpListener("127.0.0.1:0"), handler, connection_filter) as listener:
        client = await connect_tcp(listener.bound_address, timeout=5)
        assert await ending(client) in ("eof", "reset")
        await client.close()
    assert calls == []
    assert connection_filter.asked == [client.digest.local_addr]
    assert listener.refused == 1
    assert listener.accepted == 0


async def test_connection_filter_accepting_others() -> None:
    connection_filter = _Refuse(refused={"192.0.2.7:1234"})
    async with serving(TcpListener("127.0.0.1:0"), echo, connection_filter) as listener:
        assert await roundtrip(listener.bound_address) == b"hello"
    assert listener.accepted == 1
    assert listener.refused == 0
    assert await AcceptAllFilter().should_accept(None) is True


async def test_handler_failure_is_contained() -> None:
    async def handler(stream: Stream) -> None:
        first = await stream.read()
        if first == b"boom":
            raise ValueError("handler bug")
        stream.unread(first)
        await echo(stream)

    async with serving(TcpListener("127.0.0.1:0"), handler) as listener:
        client = await connect_tcp(listener.bound_address, timeout=5)
        client.write(b"boom")
        assert await ending(client) in ("eof", "reset")
        await client.close()
        assert await roundtrip(listener.bound_address, b"ok") == b"ok"  # still serving


async def test_stop_accepting_waits_for_handlers() -> None:
    listener = TcpListener("127.0.0.1:0")
    await listener.bind()
    in_handler = anyio.Event()
    release = anyio.Event()
    finished: list[str] = []

    async def handler(stream: Stream) -> None:
        in_handler.set()
        await release.wait()
        finished.append("handler")

    async def run() -> None:
        await listener.serve(handler)
        finished.append("serve")

    async with anyio.create_task_group() as tg:
        tg.start_soon(run)
        client = await connect_tcp(listener.bound_address, timeout=5)
        await in_handler.wait()
        listener.stop_accepting()
        await anyio.wait_all_tasks_blocked()
        assert finished == []  # serve() still waits for the handler
        release.set()
    assert finished == ["handler", "serve"]
    assert listener.accepted == 1
    await client.close()
    listener.close()


async def test_cancelling_serve_cancels_handlers() -> None:
    listener = TcpListener("127.0.0.1:0")
    await listener.bind()
    in_handler = anyio.Event()
    cancelled: list[bool] = []

    async def handler(stream: Stream) -> None:
        in_handler.set()
        try:
            await stream.read()
        except BaseException:
            cancelled.append(True)
            raise

    async with anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, handler)
        client = await connect_tcp(listener.bound_address, timeout=5)
        await in_handler.wait()
        tg.cancel_scope.cancel()
    assert cancelled == [True]
    assert await ending(client) in ("eof", "reset")
    await client.close()
    listener.close()


async def test_from_fd_takes_over_a_listening_socket() -> None:
    original = TcpListener("127.0.0.1:0")
    await original.bind()
    address = original.bound_address
    inherited = TcpListener.from_fd(address, os.dup(original.fileno()))
    original.close()
    async with serving(inherited) as listener:
        assert listener.bound_address == address
        assert await roundtrip(address) == b"inherited"[:0] + b"hello"


async def test_misuse_and_bad_input() -> None:
    for bad in ("127.0.0.1", "nohost", "[::1]", "1.2.3.4:99999"):
        with pytest.raises(ValueError, match="invalid listen address"):
            TcpListener(bad)
    with pytest.raises(TypeError):
        TcpListener("127.0.0.1:0", options={"reuseport": True})  # type: ignore[arg-type]
    listener = TcpListener("127.0.0.1:0")
    with pytest.raises(RuntimeError, match="not bound"):
        await listener.serve(echo)
    with pytest.raises(RuntimeError, match="not bound"):
        listener.fileno()
    await listener.bind()
    await listener.bind()  # idempotent
    listener.stop_accepting()
    with anyio.fail_after(5):
        await listener.serve(echo)  # stopped before it started: returns at once
    listener.close()
    listener.close()


def test_option_validation() -> None:
    with pytest.raises(ValueError, match="dscp"):
        TcpSocketOptions(dscp=64)
    with pytest.raises(ValueError, match="idle"):
        TcpKeepalive(idle=0, interval=1, count=1)
    with pytest.raises(ValueError, match="count"):
        TcpKeepalive(idle=1, interval=1, count=0)
    with pytest.raises(TypeError, match="reuseport"):
        TcpSocketOptions(reuseport=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="recv_buffer"):
        TcpSocketOptions(recv_buffer=0)
    options = TcpSocketOptions(reuseport=True)
    with pytest.raises(AttributeError):
        options.reuseport = False  # type: ignore[misc]
    assert "reuseport=True" in repr(options)
