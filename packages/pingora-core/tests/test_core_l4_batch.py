"""Write batching of TransportStream: small writes of one loop iteration reach the kernel together
at its end, in order; close, shutdown, abort and large writes send at once; on asyncio and
(when installed) uvloop, over real loopback sockets."""

from __future__ import annotations

import asyncio

import anyio
import pytest

from pingora_core.protocols.l4 import TransportStream
from pingora_core.protocols.l4._batch import WriteBatch, write_batch_for
from pingora_core.testing import anyio_loop_backends, loop_backend_id, tcp_stream_pair

pytestmark = pytest.mark.anyio



@pytest.fixture(params=anyio_loop_backends(), ids=loop_backend_id)
def anyio_backend(request: pytest.FixtureRequest) -> object:
    return request.param


async def read_exactly(stream: TransportStream, size: int) -> bytes:
    data = b""
    with anyio.fail_after(10):
        while len(data) < size:
            chunk = await stream.read()
            assert chunk, f"EOF after {data!r}"
            data += chunk
    return data


def kernel_unsent(stream: TransportStream) -> int:
    """Bytes the kernel holds for `stream`'s socket and has not sent yet (SIOCOUTQ)."""
    import fcntl
    import struct

    sock = stream.get_extra_info("socket")
    return int(struct.unpack("i", fcntl.ioctl(sock.fileno(), 0x5411, b"\0" * 4))[0])


async def test_small_writes_wait_for_the_end_of_the_iteration_and_keep_their_order() -> None:
    client, server = await tcp_stream_pair()
    server.write(b"one ")
    server.writelines([b"two ", bytearray(b"three ")])
    server.write(memoryview(b"four"))
    # nothing was handed to the transport yet: the loop has not finished this iteration
    assert server.transport.get_write_buffer_size() == 0
    assert server._out is not None
    assert await read_exactly(client, 18) == b"one two three four"
    assert server._out is None
    await client.close()
    await server.close()


async def test_a_reused_bytearray_does_not_change_what_was_written() -> None:
    client, server = await tcp_stream_pair()
    buffer = bytearray(b"first")
    server.write(buffer)
    buffer[:] = b"XXXXX"
    server.write(buffer)
    assert await read_exactly(client, 10) == b"firstXXXXX"
    await client.close()
    await server.close()


async def test_a_large_write_goes_out_at_once_with_what_came_before() -> None:
    client, server = await tcp_stream_pair()
    server.write(b"head:")
    big = b"x" * (64 * 1024)
    server.write(big)
    assert server._out is None  # handed to the transport in this very step
    assert await read_exactly(client, 5 + len(big)) == b"head:" + big
    await client.close()
    await server.close()


@pytest.mark.parametrize("end", ["close", "shutdown"])
async def test_close_and_shutdown_send_what_was_written_before_them(end: str) -> None:
    client, server = await tcp_stream_pair()
    server.write(b"last words")
    await (server.close() if end == "close" else server.shutdown())
    assert await read_exactly(client, 10) == b"last words"
    with anyio.fail_after(10):
        assert await client.read() == b""
    await client.close()
    await server.close()


async def test_abort_sends_what_was_written_before_the_reset() -> None:
    client, server = await tcp_stream_pair()
    server.write(b"partial")
    server.abort()
    data = b""
    with anyio.fail_after(10):
        try:
            while chunk := await client.read():
                data += chunk
        except Exception:  # the reset may follow the bytes at once
            pass
    assert data == b"partial"  # handed to the kernel ahead of the reset, as without batching
    assert server._out is None
    await client.close()


async def test_bytes_of_a_lost_connection_are_dropped() -> None:
    client, server = await tcp_stream_pair()
    server.write(b"never sent")
    server.connection_lost(None)  # as the transport reports a lost connection
    assert server._out is None
    server.flush_writes()  # the batch's callback finds nothing to do
    await client.close()
    await server.close()


async def test_one_callback_flushes_every_stream_of_the_iteration() -> None:
    loop = asyncio.get_running_loop()
    batch = write_batch_for(loop)
    assert isinstance(batch, WriteBatch)
    assert write_batch_for(loop) is batch
    pairs = [await tcp_stream_pair() for _ in range(3)]
    for n, (_, server) in enumerate(pairs):
        server.write(b"stream %d" % n)
    assert "streams=3 scheduled=True" in repr(batch)
    for n, (client, _) in enumerate(pairs):
        assert await read_exactly(client, 8) == b"stream %d" % n
    assert "streams=0 scheduled=False" in repr(batch)
    for client, server in pairs:
        await client.close()
        await server.close()


async def test_written_bytes_are_sent_while_the_writer_waits() -> None:
    # the usual request/response rhythm: write, then wait for the answer
    client, server = await tcp_stream_pair()
    server.write(b"ping")
    assert await read_exactly(client, 4) == b"ping"
    client.write(b"pong")
    assert await read_exactly(server, 4) == b"pong"
    assert kernel_unsent(server) == 0
    await client.close()
    await server.close()
