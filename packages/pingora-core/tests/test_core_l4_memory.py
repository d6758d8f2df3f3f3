"""The in-memory stream pair from pingora_core.testing: data, EOF, close, abort, backpressure."""

from __future__ import annotations

import anyio
import pytest

from pingora_core.errors import Error, ErrorType
from pingora_core.testing import MemoryStream, memory_stream_pair

pytestmark = pytest.mark.anyio


async def test_bytes_flow_both_ways() -> None:
    a, b = memory_stream_pair()
    a.write(b"ping")
    assert await b.read() == b"ping"
    b.writelines([b"po", bytearray(b"n"), memoryview(b"g!")[:1]])
    assert await a.read(2) == b"po"
    assert await a.read() == b"ng"
    assert a.digest.local_addr == b.digest.peer_addr == "memory:client"
    assert isinstance(a, MemoryStream)


async def test_unread_and_buffered() -> None:
    a, b = memory_stream_pair()
    a.write(b"hello")
    head = await b.read(2)
    b.unread(head)
    assert b.buffered == 5
    assert a.unread_by_peer == 5
    assert await b.read() == b"hello"


async def test_a_waiting_read_is_woken_by_a_write() -> None:
    a, b = memory_stream_pair()
    got: list[bytes] = []
    async with anyio.create_task_group() as tg:
        started = anyio.Event()

        async def reader() -> None:
            started.set()
            got.append(await b.read())

        tg.start_soon(reader)
        await started.wait()
        a.write(b"late")
    assert got == [b"late"]


async def test_shutdown_is_eof_and_the_other_direction_stays_open() -> None:
    a, b = memory_stream_pair()
    a.write(b"last words")
    await a.shutdown()
    assert [b.at_eof, await b.read(), b.at_eof] == [False, b"last words", True]
    assert await b.read() == b""
    assert b.at_eof
    b.write(b"reply")
    assert await a.read() == b"reply"
    with pytest.raises(Error) as info:
        a.write(b"more")
    assert info.value.etype == ErrorType.ConnectionClosed


async def test_close_propagates() -> None:
    a, b = memory_stream_pair()
    a.write(b"bye")
    await a.close()
    await a.close()
    assert a.is_closing
    assert await b.read() == b"bye"
    assert await b.read() == b""
    with pytest.raises(Error) as write_info:
        b.write(b"anyone?")
    assert write_info.value.etype == ErrorType.WriteError
    with pytest.raises(Error) as read_info:
        await a.read()
    assert read_info.value.etype == ErrorType.ConnectionClosed


async def test_abort_is_a_reset_for_the_peer() -> None:
    a, b = memory_stream_pair()
    a.write(b"dropped")
    a.abort()
    with pytest.raises(Error) as info:
        await b.read()
    assert info.value.etype == ErrorType.ReadError
    assert isinstance(info.value.root_cause(), ConnectionResetError)


async def test_drain_waits_until_the_peer_reads() -> None:
    a, b = memory_stream_pair(max_buffer=8)
    a.write(b"12345678")
    await a.drain()  # exactly at the limit: no wait
    a.write(b"9")
    drained = anyio.Event()

    async def drainer() -> None:
        await a.drain()
        drained.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(drainer)
        await anyio.wait_all_tasks_blocked()
        assert not drained.is_set()
        assert await b.read(1) == b"1"  # 8 unread now: at the limit again
        await drained.wait()
    assert a.unread_by_peer == 8


async def test_drain_fails_when_the_peer_closes() -> None:
    a, b = memory_stream_pair(max_buffer=0)
    a.write(b"x")
    errors: list[Error] = []

    async def drainer() -> None:
        try:
            await a.drain()
        except Error as exc:
            errors.append(exc)

    async with anyio.create_task_group() as tg:
        tg.start_soon(drainer)
        await anyio.wait_all_tasks_blocked()
        await b.close()
    assert [e.etype for e in errors] == [ErrorType.WriteError]


async def test_a_second_concurrent_read_is_refused() -> None:
    a, b = memory_stream_pair()
    async with anyio.create_task_group() as tg:
        tg.start_soon(b.read)
        await anyio.wait_all_tasks_blocked()
        with pytest.raises(RuntimeError, match="already waiting"):
            await b.read()
        a.write(b"x")


async def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="max_buffer"):
        memory_stream_pair(max_buffer=-1)
    with pytest.raises(TypeError):
        memory_stream_pair(max_buffer=1.5)  # type: ignore[arg-type]
    a, _ = memory_stream_pair()
    with pytest.raises(ValueError, match="max_bytes"):
        await a.read(0)
    assert "MemoryStream" in repr(a)


async def test_drain_succeeds_when_the_peer_read_everything_then_closed() -> None:
    a, b = memory_stream_pair(max_buffer=0)
    a.write(b"xyz")
    results: list[str] = []

    async def drainer() -> None:
        await a.drain()
        results.append("drained")

    async with anyio.create_task_group() as tg:
        tg.start_soon(drainer)
        await anyio.wait_all_tasks_blocked()
        assert await b.read(10) == b"xyz"
        await b.close()
    assert results == ["drained"]
