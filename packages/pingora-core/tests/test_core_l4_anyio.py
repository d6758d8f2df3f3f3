"""AnyioStream over anyio's own TCP streams: reads, writes, EOF, errors, digest."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import pytest
from anyio.abc import ByteStream, SocketStream

from pingora_core.errors import Error, ErrorSource, ErrorType
from pingora_core.protocols.l4 import AnyioStream, StreamDigest

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def anyio_pair() -> AsyncIterator[tuple[SocketStream, SocketStream]]:
    """Two anyio socket streams connected over loopback."""
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    async with listener:
        port = listener.extra(anyio.abc.SocketAttribute.local_port)
        accepted: list[SocketStream] = []

        async def accept_one() -> None:
            accepted.append(await listener.listeners[0].accept())  # type: ignore[attr-defined]

        async with anyio.create_task_group() as tg:
            tg.start_soon(accept_one)
            client = await anyio.connect_tcp("127.0.0.1", port)
        async with client, accepted[0]:
            yield client, accepted[0]


async def test_read_write_and_eof() -> None:
    async with anyio_pair() as (client, server):
        stream = AnyioStream(client, esource=ErrorSource.UPSTREAM)
        stream.write(b"abc")
        stream.writelines([b"d", bytearray(b"e")])
        await stream.drain()
        received = b""
        with anyio.fail_after(10):
            while len(received) < 5:
                received += await server.receive()
        assert received == b"abcde"
        await server.send(b"0123456789")
        assert await stream.read(4) == b"0123"
        stream.unread(b"x")
        assert await stream.read(100) == b"x"  # what is buffered comes first, alone
        rest = b""
        with anyio.fail_after(10):
            while len(rest) < 6:
                rest += await stream.read()
        assert rest == b"456789"
        await server.send_eof()
        assert await stream.read() == b""
        assert stream.at_eof
        await stream.shutdown()
        with pytest.raises(Error) as info:
            stream.write(b"late")
        assert info.value.etype == ErrorType.ConnectionClosed
        await stream.close()
        await stream.close()
        assert stream.is_closing


async def test_writes_are_sent_by_drain() -> None:
    async with anyio_pair() as (client, server):
        stream = AnyioStream(client)
        stream.write(b"one ")
        stream.write(memoryview(b"two"))
        await stream.drain()
        received = b""
        with anyio.fail_after(10):
            while len(received) < 7:
                received += await server.receive()
        assert received == b"one two"


async def test_close_flushes_what_is_queued() -> None:
    async with anyio_pair() as (client, server):
        stream = AnyioStream(client)
        stream.write(b"flushed on close")
        await stream.close()
        received = b""
        with anyio.fail_after(10):
            try:
                while True:
                    received += await server.receive()
            except anyio.EndOfStream:
                pass
        assert received == b"flushed on close"


async def test_digest_from_socket_attributes() -> None:
    async with anyio_pair() as (client, server):
        stream = AnyioStream(client)
        local = client.extra(anyio.abc.SocketAttribute.local_address)
        remote = client.extra(anyio.abc.SocketAttribute.remote_address)
        assert stream.digest.local_addr == f"{local[0]}:{local[1]}"
        assert stream.digest.peer_addr == f"{remote[0]}:{remote[1]}"
        given = StreamDigest(established=1.0, local_addr="a", peer_addr="b")
        assert AnyioStream(server, given).digest is given
        assert "AnyioStream open" in repr(stream)


async def test_peer_abort_maps_to_error() -> None:
    async with anyio_pair() as (client, server):
        stream = AnyioStream(client, esource=ErrorSource.UPSTREAM)
        peer = AnyioStream(server)
        peer.abort()  # closes the socket under the peer

        async def use_until_failure() -> None:
            # the first read may see EOF or a reset; writing after it must fail
            if await stream.read() == b"":
                for _ in range(100):
                    stream.write(b"x" * 65536)
                    await stream.drain()

        with anyio.fail_after(10), pytest.raises(Error) as info:
            await use_until_failure()
        assert info.value.etype in (ErrorType.ReadError, ErrorType.WriteError)
        assert info.value.esource == ErrorSource.UPSTREAM


async def test_use_after_close() -> None:
    async with anyio_pair() as (client, _):
        stream = AnyioStream(client)
        await stream.close()
        for call in (stream.read(), stream.drain()):
            with pytest.raises(Error) as info:
                await call
            assert info.value.etype == ErrorType.ConnectionClosed


async def test_not_a_byte_stream() -> None:
    with pytest.raises(TypeError, match="ByteStream"):
        AnyioStream(b"nope")  # type: ignore[arg-type]
    assert issubclass(SocketStream, ByteStream)
