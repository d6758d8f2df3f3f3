"""ConnectionPool: lookup by key, LRU eviction, idle connections watched (peer close, data,
timeout) for both watch strategies: transport streams (protocol swap) and other streams (task).
Cases follow Pingora's pingora-pool connection tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from pingora_core import pool as pool_module
from pingora_core.errors import Error, ErrorType
from pingora_core.pool import ConnectionPool
from pingora_core.protocols.l4 import Stream, TransportStream
from pingora_core.testing import memory_stream_pair, tcp_stream_pair

pytestmark = pytest.mark.anyio

Pair = tuple[Stream, Stream]
PairFactory = Callable[[], Awaitable[Pair]]


async def _memory() -> Pair:
    return memory_stream_pair()


async def _tcp() -> Pair:
    return await tcp_stream_pair()


@pytest.fixture(params=["memory", "tcp"])
async def make_pair(request: pytest.FixtureRequest) -> AsyncIterator[PairFactory]:
    made: list[Stream] = []
    factory = _memory if request.param == "memory" else _tcp

    async def make() -> Pair:
        pair = await factory()
        made.extend(pair)
        return pair

    yield make
    for stream in made:
        stream.abort()


async def until(condition: Callable[[], bool]) -> None:
    """Let the loop run (in 1 ms steps, at most 10 s) until `condition` holds."""
    for _ in range(10_000):
        if condition():
            return
        await asyncio.sleep(0.001)
    raise AssertionError("condition not reached")


async def assert_closed_by_peer(stream: Stream) -> None:
    """The other end sees EOF or a reset."""
    failure: Error | None = None
    try:
        data = await stream.read()
    except Error as exc:
        failure, data = exc, b""
    assert data == b""
    assert failure is None or failure.etype in (ErrorType.ReadError, ErrorType.ConnectionClosed)


def test_exports() -> None:
    assert set(pool_module.__all__) == {"ConnectionPool", "PoolStats"}


async def test_lookup(make_pair: PairFactory) -> None:
    pool = ConnectionPool(3)
    a1, _ = await make_pair()
    b, _ = await make_pair()
    a2, _ = await make_pair()
    assert pool.put(101, a1)
    assert pool.put(102, b)
    assert pool.put(101, a2)
    assert len(pool) == 3
    assert pool.idle_count(101) == 2
    assert await pool.get(102) is b
    first = await pool.get(101)
    second = await pool.get(101)
    assert first is a2  # the most recently released first
    assert second is a1
    assert await pool.get(101) is None
    stats = pool.stats
    assert (stats.hits, stats.misses, stats.idle) == (3, 1, 0)


async def test_checked_out_stream_reads_again(make_pair: PairFactory) -> None:
    pool = ConnectionPool(4)
    ours, theirs = await make_pair()
    pool.put("k", ours)
    await asyncio.sleep(0.01)  # the watcher settles
    got = await pool.get("k")
    assert got is ours
    theirs.write(b"hello")
    assert await ours.read() == b"hello"
    ours.write(b"back")
    assert await theirs.read() == b"back"


async def test_eviction(make_pair: PairFactory) -> None:
    pool = ConnectionPool(2)
    s1, p1 = await make_pair()
    s2, _ = await make_pair()
    s3, _ = await make_pair()
    pool.put(101, s1)
    pool.put(102, s2)
    pool.put(101, s3)  # s1 is the least recently released: evicted
    assert pool.stats.evicted == 1
    assert s1.is_closing
    await assert_closed_by_peer(p1)
    assert await pool.get(101) is s3
    assert await pool.get(101) is None
    assert await pool.get(102) is s2


async def test_peer_closes_idle_connection(make_pair: PairFactory) -> None:
    pool = ConnectionPool(4)
    ours, theirs = await make_pair()
    pool.put(1, ours)
    await theirs.close()
    await until(lambda: len(pool) == 0)
    assert pool.stats.closed_idle == 1
    assert ours.is_closing
    assert await pool.get(1) is None


async def test_data_on_idle_connection_drops_it(make_pair: PairFactory) -> None:
    pool = ConnectionPool(4)
    ours, theirs = await make_pair()
    keep, _ = await make_pair()
    pool.put(1, ours)
    pool.put(1, keep)
    theirs.write(b"garbage")
    await until(lambda: len(pool) == 1)
    assert pool.stats.closed_idle == 1
    assert await pool.get(1) is keep


async def test_idle_timeout(make_pair: PairFactory) -> None:
    pool = ConnectionPool(4)
    short, _ = await make_pair()
    long, _ = await make_pair()
    pool.put(1, short, idle_timeout=0.01)
    pool.put(1, long, idle_timeout=60)
    await until(lambda: len(pool) == 1)
    assert pool.stats.expired == 1
    assert short.is_closing
    assert await pool.get(1) is long


async def test_zero_idle_timeout_and_unreusable_streams_are_not_kept(
    make_pair: PairFactory,
) -> None:
    pool = ConnectionPool(4)
    ours, _ = await make_pair()
    assert not pool.put(1, ours, idle_timeout=0)
    assert ours.is_closing
    closed, _ = await make_pair()
    await closed.close()
    assert not pool.put(1, closed)
    assert pool.stats.rejected == 2
    assert len(pool) == 0
    zero = ConnectionPool(0)
    third, _ = await make_pair()
    assert not zero.put(1, third)


async def test_broken_connection_found_at_checkout_is_skipped() -> None:
    pool = ConnectionPool(4)
    good, _ = memory_stream_pair()
    bad, bad_peer = memory_stream_pair()
    pool.put(1, good)
    pool.put(1, bad)
    bad_peer.write(b"x")  # arrives, but the watcher has not run yet
    assert await pool.get(1) is good
    assert pool.stats.closed_idle == 1


async def test_clear_and_repr() -> None:
    pool = ConnectionPool(4)
    first, first_peer = await tcp_stream_pair()
    second, _ = memory_stream_pair()
    pool.put(1, first)
    pool.put(2, second)
    assert "idle=2/4" in repr(pool)
    pool.clear()
    assert len(pool) == 0
    assert first.is_closing
    assert second.is_closing
    await assert_closed_by_peer(first_peer)
    first_peer.abort()


async def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="pool size"):
        ConnectionPool(-1)
    with pytest.raises(TypeError):
        ConnectionPool("2")  # type: ignore[arg-type]
    pool = ConnectionPool(1)
    with pytest.raises(TypeError):
        pool.put(1, object())  # type: ignore[arg-type]
    stream, _ = memory_stream_pair()
    with pytest.raises(ValueError, match="idle_timeout"):
        pool.put(1, stream, idle_timeout=-1)


async def test_transport_stream_uses_no_task() -> None:
    pool = ConnectionPool(4)
    ours, theirs = await tcp_stream_pair()
    assert isinstance(ours, TransportStream)
    before = len(asyncio.all_tasks())
    pool.put(1, ours)
    assert len(asyncio.all_tasks()) == before
    assert ours.transport.get_protocol() is not ours
    assert await pool.get(1) is ours
    assert ours.transport.get_protocol() is ours
    theirs.abort()
    ours.abort()
