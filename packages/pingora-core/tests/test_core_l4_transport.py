"""TransportStream over real loopback sockets, on asyncio and (when installed) uvloop."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable

import anyio
import pytest

from pingora_core.errors import Error, ErrorSource, ErrorType
from pingora_core.protocols.l4 import TransportStream
from pingora_core.protocols.l4._transport import DEFAULT_READ_HIGH_WATER
from pingora_core.testing import anyio_loop_backends, loop_backend_id, tcp_stream_pair

pytestmark = pytest.mark.anyio



@pytest.fixture(params=anyio_loop_backends(), ids=loop_backend_id)
def anyio_backend(request: pytest.FixtureRequest) -> object:
    return request.param


async def until(condition: Callable[[], bool], limit: float = 10.0) -> None:
    """Let the loop run until `condition` holds (fails the test after `limit` seconds)."""
    with anyio.fail_after(limit):
        # these are transport states no event announces, so poll them (bounded by `limit`)
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.002)


def run_without_suspending(coro: object) -> bytes:
    """Drive a coroutine one step: it must finish without ever awaiting."""
    assert asyncio.iscoroutine(coro)
    with pytest.raises(StopIteration) as done:
        coro.send(None)
    value = done.value.value
    assert isinstance(value, bytes)
    return value


async def test_read_returns_buffered_data_without_awaiting() -> None:
    client, server = await tcp_stream_pair()
    server.write(b"hello world")
    await until(lambda: client.buffered == 11)
    assert run_without_suspending(client.read(5)) == b"hello"
    assert run_without_suspending(client.read()) == b" world"
    await client.close()
    await server.close()


async def test_waiting_read_gets_next_chunk() -> None:
    client, server = await tcp_stream_pair()
    async with anyio.create_task_group() as tg:
        got: list[bytes] = []

        async def reader() -> None:
            got.append(await client.read())

        tg.start_soon(reader)
        await until(lambda: client._waiter is not None)
        server.write(b"ping")
    assert got == [b"ping"]
    await client.close()
    await server.close()


async def test_read_honours_max_bytes_when_handed_a_larger_chunk() -> None:
    client, server = await tcp_stream_pair()
    async with anyio.create_task_group() as tg:
        got: list[bytes] = []

        async def reader() -> None:
            got.append(await client.read(3))

        tg.start_soon(reader)
        await until(lambda: client._waiter is not None)
        server.write(b"abcdef")
    assert got == [b"abc"]
    assert await client.read() == b"def"
    await client.close()
    await server.close()


async def test_unread_pushes_bytes_to_the_front() -> None:
    client, server = await tcp_stream_pair()
    server.write(b"GET / HTTP/1.1\r\n")
    await until(lambda: client.buffered == 16)
    head = await client.read(3)
    client.unread(head)
    client.unread(b"")
    assert await client.read() == b"GET / HTTP/1.1\r\n"
    await client.close()
    await server.close()


async def test_eof_and_half_close() -> None:
    client, server = await tcp_stream_pair()
    client.write(b"request")
    await client.shutdown()
    assert await server.read() == b"request"
    assert await server.read() == b""
    assert server.at_eof
    assert not server.is_closing
    # the server can still answer after the client's EOF
    server.write(b"response")
    await server.drain()
    await server.close()
    assert await client.read() == b"response"
    assert await client.read() == b""
    assert client.at_eof
    with pytest.raises(Error) as info:
        client.write(b"more")
    assert info.value.etype == ErrorType.ConnectionClosed
    await client.close()


async def test_peer_reset_maps_to_read_error() -> None:
    client, server = await tcp_stream_pair()
    server.abort()  # linger 0: the peer sees a reset
    with anyio.fail_after(10), pytest.raises(Error) as info:
        await client.read()
    assert info.value.etype == ErrorType.ReadError
    assert info.value.esource == ErrorSource.UPSTREAM
    assert isinstance(info.value.root_cause(), ConnectionResetError)
    assert client.is_closing
    with pytest.raises(Error) as write_info:
        client.write(b"x")
    assert write_info.value.etype == ErrorType.WriteError
    await client.close()


async def test_use_after_close_and_abort_is_connection_closed() -> None:
    client, server = await tcp_stream_pair()
    await client.close()
    await client.close()  # idempotent
    client.abort()  # safe after close
    for call in (client.read(), client.drain()):
        with pytest.raises(Error) as info:
            await call
        assert info.value.etype == ErrorType.ConnectionClosed
    with pytest.raises(Error):
        client.writelines([b"a", b"b"])
    assert client.is_closing
    assert client.at_eof
    assert await server.read() == b""
    await server.close()


async def test_close_wakes_a_waiting_reader() -> None:
    client, server = await tcp_stream_pair()
    errors: list[Error] = []

    async def reader() -> None:
        try:
            await client.read()
        except Error as exc:
            errors.append(exc)

    async with anyio.create_task_group() as tg:
        tg.start_soon(reader)
        await until(lambda: client._waiter is not None)
        await client.close()
    assert [e.etype for e in errors] == [ErrorType.ConnectionClosed]
    await server.close()


async def test_second_concurrent_read_is_refused() -> None:
    client, server = await tcp_stream_pair()
    async with anyio.create_task_group() as tg:
        tg.start_soon(client.read)
        await until(lambda: client._waiter is not None)
        with pytest.raises(RuntimeError, match="already waiting"):
            await client.read()
        server.write(b"x")
    await client.close()
    await server.close()


async def test_drain_waits_while_the_peer_does_not_read() -> None:
    client, server = await tcp_stream_pair()
    payload = b"x" * (32 * 1024 * 1024)
    client.write(payload)  # far beyond what the kernel buffers hold
    assert client.transport.get_write_buffer_size() > 0
    drained = anyio.Event()

    async def drainer() -> None:
        await client.drain()
        drained.set()

    received = 0

    async def reader() -> None:
        nonlocal received
        while received < len(payload):
            received += len(await server.read(1 << 20))

    async with anyio.create_task_group() as tg:
        tg.start_soon(drainer)
        with anyio.move_on_after(0.3):
            await drained.wait()
        assert not drained.is_set(), "drain() returned while the peer read nothing"
        tg.start_soon(reader)
        with anyio.fail_after(30):
            await drained.wait()
    assert received == len(payload)
    await client.close()
    await server.close()


async def test_reading_pauses_above_the_high_water_mark() -> None:
    client, server = await tcp_stream_pair()
    server.write(b"y" * (16 * 1024 * 1024))
    await until(lambda: client._read_paused)
    # bounded: at most the high-water mark plus one transport read
    assert DEFAULT_READ_HIGH_WATER < client.buffered <= DEFAULT_READ_HIGH_WATER + 1024 * 1024
    total = 0
    with anyio.fail_after(30):
        while total < 16 * 1024 * 1024:
            total += len(await client.read(1 << 20))
    assert not client._read_paused
    await client.close()
    await server.close()


async def test_digest_records_addresses_and_time() -> None:
    before = time.time()
    client, server = await tcp_stream_pair()
    assert before <= client.digest.established <= time.time()
    assert client.digest.local_addr == server.digest.peer_addr
    assert client.digest.peer_addr == server.digest.local_addr
    assert str(client.digest.peer_addr).startswith("127.0.0.1:")
    assert client.digest.tls is None
    assert client.digest.extra == {}
    assert f"open local={client.digest.local_addr} peer={client.digest.peer_addr}" in repr(client)
    sock = client.get_extra_info("socket")
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    await client.close()
    await server.close()


async def test_ipv6_pair_formats_brackets() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        client, server = await tcp_stream_pair("::1")
    except Error as exc:
        pytest.skip(f"no IPv6 loopback: {exc}")
    assert str(client.digest.peer_addr).startswith("[::1]:")
    await client.close()
    await server.close()


async def test_writelines_and_memoryview() -> None:
    client, server = await tcp_stream_pair()
    data = bytearray(b"0123456789")
    client.writelines([b"ab", memoryview(data)[2:5], bytearray(b"cd")])
    await client.drain()
    await client.shutdown()
    await client.shutdown()  # idempotent
    received = b""
    with anyio.fail_after(10):
        while chunk := await server.read():
            received += chunk
    assert received == b"ab234cd"
    await client.close()
    await server.close()


async def test_bad_arguments() -> None:
    client, server = await tcp_stream_pair()
    with pytest.raises(ValueError, match="max_bytes"):
        await client.read(0)
    with pytest.raises(ValueError, match="read_high_water"):
        TransportStream(read_high_water=0)
    with pytest.raises(ValueError, match="read_low_water"):
        TransportStream(read_high_water=10, read_low_water=11)
    await client.close()
    await server.close()


async def test_drain_fails_when_the_peer_resets() -> None:
    client, server = await tcp_stream_pair()
    client.write(b"z" * (32 * 1024 * 1024))  # more than the kernel takes: drain() must wait
    errors: list[Error] = []

    async def drainer() -> None:
        try:
            await client.drain()
        except Error as exc:
            errors.append(exc)

    async with anyio.create_task_group() as tg:
        tg.start_soon(drainer)
        await until(lambda: bool(client._drain_waiters))
        server.abort()
    assert len(errors) == 1
    assert errors[0].etype == ErrorType.WriteError
    assert errors[0].esource == ErrorSource.UPSTREAM
    with pytest.raises(Error) as info:
        await client.read()
    assert info.value.etype == ErrorType.ReadError
    await client.close()
