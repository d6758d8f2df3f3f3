"""TransportStream's receive queue: chunks kept as received, reads across chunk boundaries,
partial reads, unread, joins of small chunks and flow control by byte count.

The stream sits on a real socketpair transport; the chunks are handed to it through its
`data_received` callback, as the transport would, so their boundaries are exact.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pingora_core.errors import Error
from pingora_core.protocols.l4 import TransportStream
from pingora_core.protocols.l4._transport import _JOIN_BELOW
from pingora_core.testing import anyio_loop_backends, loop_backend_id

BIG = 40_000  # a chunk too large to be joined
assert BIG >= _JOIN_BELOW


@pytest.fixture(params=anyio_loop_backends(), ids=loop_backend_id)
def anyio_backend(request: pytest.FixtureRequest) -> object:
    return request.param


@pytest.fixture
async def pair(anyio_backend: object) -> AsyncIterator[tuple[TransportStream, socket.socket]]:
    """A TransportStream on one end of a socketpair (high mark 100, low mark 30)."""
    ours, theirs = socket.socketpair()
    loop = asyncio.get_running_loop()
    _, stream = await loop.create_connection(
        lambda: TransportStream(read_high_water=100, read_low_water=30), sock=ours
    )
    try:
        yield stream, theirs
    finally:
        await stream.close()
        theirs.close()


@pytest.fixture
async def roomy() -> AsyncIterator[TransportStream]:
    """A TransportStream with marks far above what the tests buffer."""
    ours, theirs = socket.socketpair()
    loop = asyncio.get_running_loop()
    _, stream = await loop.create_connection(
        lambda: TransportStream(read_high_water=1 << 24), sock=ours
    )
    try:
        yield stream
    finally:
        await stream.close()
        theirs.close()


def paused(stream: TransportStream) -> bool:
    return stream._read_paused


def at_eof(stream: TransportStream) -> bool:
    return stream.at_eof


def take(stream: TransportStream, max_bytes: int = 65536) -> bytes:
    """One read that must complete without awaiting (there is buffered data)."""
    coro = stream.read(max_bytes)
    with pytest.raises(StopIteration) as done:
        coro.send(None)
    value = done.value.value
    assert isinstance(value, bytes)
    return value


@pytest.mark.anyio
async def test_a_chunk_that_fits_is_returned_itself(roomy: TransportStream) -> None:
    first, second = b"a" * BIG, b"b" * BIG
    roomy.data_received(first)
    roomy.data_received(second)
    assert roomy.buffered == 2 * BIG
    got = take(roomy)
    assert got is first  # no copy
    assert roomy.buffered == BIG
    assert take(roomy) is second
    assert roomy.buffered == 0


@pytest.mark.anyio
async def test_a_waiting_reader_is_handed_the_chunk_itself(roomy: TransportStream) -> None:
    chunk = b"c" * BIG
    got: list[bytes] = []

    async def reader() -> None:
        got.append(await roomy.read())

    async with anyio.create_task_group() as tg:
        tg.start_soon(reader)
        await anyio.wait_all_tasks_blocked()
        assert roomy._waiter is not None
        roomy.data_received(chunk)
    assert got[0] is chunk
    assert roomy.buffered == 0


@pytest.mark.anyio
async def test_partial_reads_slice_a_large_chunk(roomy: TransportStream) -> None:
    chunk = bytes(range(256)) * 300  # 76,800 bytes
    roomy.data_received(chunk)
    pieces = []
    while roomy.buffered:
        before = roomy.buffered
        piece = take(roomy, 10_000)
        assert 0 < len(piece) <= 10_000
        assert roomy.buffered == before - len(piece)
        pieces.append(piece)
    assert b"".join(pieces) == chunk
    assert [len(p) for p in pieces] == [10_000] * 7 + [6_800]


@pytest.mark.anyio
async def test_reads_across_chunk_boundaries(roomy: TransportStream) -> None:
    first, second = b"x" * BIG, b"y" * BIG
    roomy.data_received(first)
    roomy.data_received(second)
    assert take(roomy, 30_000) == b"x" * 30_000
    # the rest of the first chunk comes alone: a read never mixes a large chunk's rest in
    assert take(roomy, 30_000) == b"x" * 10_000
    assert take(roomy, 30_000) == b"y" * 30_000
    assert take(roomy) == b"y" * 10_000
    assert roomy.buffered == 0


@pytest.mark.anyio
async def test_small_chunks_are_joined_up_to_max_bytes(roomy: TransportStream) -> None:
    for i in range(5):
        roomy.data_received(bytes([65 + i]) * 10)
    # 10 + 10 fit in 25; the third would not, and is left whole for the next read
    assert take(roomy, 25) == b"A" * 10 + b"B" * 10
    assert roomy.buffered == 30
    assert take(roomy) == b"C" * 10 + b"D" * 10 + b"E" * 10
    assert roomy.buffered == 0


@pytest.mark.anyio
async def test_a_large_chunk_is_not_joined_to_a_small_one(roomy: TransportStream) -> None:
    big = b"z" * BIG
    roomy.data_received(b"head")
    roomy.data_received(big)
    assert take(roomy) == b"head"
    assert take(roomy) is big
    # nor a small one after a large one
    roomy.data_received(big)
    roomy.data_received(b"tail")
    assert take(roomy) is big
    assert take(roomy) == b"tail"


@pytest.mark.anyio
async def test_the_rest_of_a_partly_read_chunk_joins_small_ones(roomy: TransportStream) -> None:
    roomy.data_received(b"0123456789")
    roomy.data_received(b"abc")
    assert take(roomy, 4) == b"0123"
    assert take(roomy) == b"456789abc"


@pytest.mark.anyio
async def test_unread_goes_before_a_partly_read_chunk(roomy: TransportStream) -> None:
    roomy.data_received(b"GET / HTTP/1.1\r\n")
    roomy.data_received(b"Host: x\r\n\r\n")
    head = take(roomy, 4)
    assert head == b"GET "
    roomy.unread(head)
    roomy.unread(b"")  # nothing
    assert roomy.buffered == 27
    assert take(roomy) == b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    # unread on an empty queue, then more chunks behind it
    roomy.unread(b"pre")
    roomy.data_received(b"post")
    assert take(roomy) == b"prepost"


@pytest.mark.anyio
async def test_unread_keeps_its_own_copy_of_a_bytearray(roomy: TransportStream) -> None:
    data = bytearray(b"abc")
    roomy.unread(data)  # type: ignore[arg-type]  # callers may hold a bytearray
    data[:] = b"XYZ"
    assert take(roomy) == b"abc"


@pytest.mark.anyio
async def test_an_empty_chunk_does_not_wake_a_reader(roomy: TransportStream) -> None:
    got: list[bytes] = []

    async def reader() -> None:
        got.append(await roomy.read())

    async with anyio.create_task_group() as tg:
        tg.start_soon(reader)
        await anyio.wait_all_tasks_blocked()
        roomy.data_received(b"")
        await anyio.wait_all_tasks_blocked()
        assert got == []  # an empty read would have meant EOF
        roomy.data_received(b"data")
    assert got == [b"data"]


@pytest.mark.anyio
async def test_flow_control_counts_bytes(pair: tuple[TransportStream, socket.socket]) -> None:
    stream, _ = pair
    transport = stream.transport
    stream.data_received(b"a" * 60)
    assert not paused(stream)
    assert transport.is_reading()
    stream.data_received(b"b" * 60)  # 120 > 100
    assert paused(stream)
    assert not transport.is_reading()
    assert "read-paused" in repr(stream)
    assert "buffered=120" in repr(stream)
    assert take(stream, 50) == b"a" * 50  # 70 left: still above the low mark (30)
    assert paused(stream)
    assert take(stream, 50) == b"a" * 10  # 60 left
    assert paused(stream)
    assert take(stream, 30) == b"b" * 30  # 30 left: at the low mark, reading resumes
    assert not paused(stream)
    assert transport.is_reading()
    assert stream.buffered == 30
    stream.unread(b"u" * 80)  # unread counts too (it never pauses: the bytes are ours)
    assert stream.buffered == 110
    assert take(stream) == b"u" * 80 + b"b" * 30  # small pieces: one read
    assert stream.buffered == 0


@pytest.mark.anyio
async def test_buffered_chunks_come_before_eof(roomy: TransportStream) -> None:
    big = b"e" * BIG
    roomy.data_received(big)
    roomy.data_received(b"!")
    roomy.eof_received()
    assert not at_eof(roomy)
    assert take(roomy, 100) == b"e" * 100
    assert take(roomy) == b"e" * (BIG - 100)
    assert take(roomy) == b"!"
    assert at_eof(roomy)
    assert take(roomy) == b""


@pytest.mark.anyio
async def test_buffered_chunks_come_before_the_error(roomy: TransportStream) -> None:
    roomy.data_received(b"last words")
    roomy.connection_lost(ConnectionResetError(104, "reset by peer"))
    assert take(roomy) == b"last words"
    with pytest.raises(Error) as info:
        await roomy.read()
    assert isinstance(info.value.root_cause(), ConnectionResetError)


@pytest.mark.anyio
async def test_close_drops_the_queue(roomy: TransportStream) -> None:
    roomy.data_received(b"k" * BIG)
    take(roomy, 10)
    await roomy.close()
    assert roomy.buffered == 0
    assert at_eof(roomy)
    assert "buffered=0" in repr(roomy)
    roomy.data_received(b"late")  # the transport may still deliver: nobody will read it
    roomy.unread(b"late")
    assert roomy.buffered == 0
    with pytest.raises(Error):
        await roomy.read()


_OPS = st.lists(
    st.one_of(
        st.tuples(st.just("recv"), st.sampled_from([1, 7, 100, 5_000, _JOIN_BELOW, 70_000])),
        st.tuples(st.just("read"), st.sampled_from([1, 3, 64, 4_096, 65_536])),
        st.tuples(st.just("unread"), st.integers(min_value=1, max_value=200)),
    ),
    max_size=60,
)


@given(_OPS)
def test_the_queue_behaves_like_one_byte_string(ops: list[tuple[str, int]]) -> None:
    """Any mix of chunks, reads and unreads reads back as the same bytes as a single buffer."""
    stream = TransportStream(read_high_water=1 << 30)  # never pauses, so needs no transport
    model = b""
    counter = 0
    last = b""
    for op, n in ops:
        if op == "recv":
            chunk = bytes((counter + i) % 251 for i in range(n))
            counter += n
            stream.data_received(chunk)
            model += chunk
        elif op == "read":
            if not model:
                continue  # it would wait
            got = take(stream, n)
            assert 0 < len(got) <= n
            assert got == model[: len(got)]
            model = model[len(got) :]
            last = got
        else:
            back = last[-n:] if last else bytes([n % 256]) * n
            stream.unread(back)
            model = back + model
        assert stream.buffered == len(model)
    while model:
        got = take(stream)
        assert got == model[: len(got)]
        model = model[len(got) :]
    assert stream.buffered == 0
