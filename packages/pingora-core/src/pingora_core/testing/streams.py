"""In-memory `Stream` pairs for tests: what one side writes the other reads, with real
backpressure (drain() waits while the peer has more than `max_buffer` bytes unread), EOF by
shutdown(), and close/abort seen by the peer as EOF/reset.

No sockets and no threads; runs on the asyncio event loop like the real streams. For tests
that need a real socket, `tcp_stream_pair` connects two `TransportStream`s over loopback.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterable

from pingora_core.errors import ErrorSource
from pingora_core.protocols.l4._errors import closed_error, read_error, write_error
from pingora_core.protocols.l4._transport import TransportStream
from pingora_core.protocols.l4.connect import connect_tcp
from pingora_core.protocols.l4.stream import Stream, StreamDigest

__all__ = ["MemoryStream", "memory_stream_pair", "tcp_stream_pair"]


class _Pipe:
    """One direction: bytes written by one side and not yet read by the other."""

    __slots__ = (
        "buffer", "drain_waiters", "eof", "lost", "max_buffer", "read_waiter", "reader_gone",
        "reset",
    )

    def __init__(self, max_buffer: int) -> None:
        self.buffer = bytearray()
        self.max_buffer = max_buffer
        self.eof = False  # the writer sent EOF (shutdown or close)
        self.reset = False  # the writer aborted
        self.reader_gone = False  # the reader closed: writes fail
        self.lost = False  # the reader closed with bytes unread: they never arrived
        self.read_waiter: asyncio.Future[None] | None = None
        self.drain_waiters: list[asyncio.Future[None]] = []

    def wake_reader(self) -> None:
        waiter = self.read_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def wake_writers(self) -> None:
        for waiter in self.drain_waiters:
            if not waiter.done():
                waiter.set_result(None)


class MemoryStream(Stream):
    """One end of an in-memory pair (see `memory_stream_pair`)."""

    __slots__ = ("_closed", "_esource", "_in", "_out", "_shut", "digest")

    def __init__(
        self, incoming: _Pipe, outgoing: _Pipe, *, name: str, peer_name: str,
        esource: ErrorSource = ErrorSource.UNSET,
    ) -> None:
        self._in = incoming
        self._out = outgoing
        self._closed = False
        self._shut = False
        self._esource = esource
        self.digest = StreamDigest(established=time.time(), local_addr=name, peer_addr=peer_name)

    async def read(self, max_bytes: int = 65536) -> bytes:
        if max_bytes <= 0:
            raise ValueError(f"max_bytes must be > 0, got {max_bytes}")
        pipe = self._in
        while True:
            if self._closed:
                raise closed_error("read on a closed stream", self._esource)
            if pipe.buffer:
                data = bytes(pipe.buffer[:max_bytes])
                del pipe.buffer[:max_bytes]
                if len(pipe.buffer) <= pipe.max_buffer:
                    pipe.wake_writers()
                return data
            if pipe.reset:
                raise read_error(ConnectionResetError("connection reset by peer"), self._esource)
            if pipe.eof:
                return b""
            if pipe.read_waiter is not None:
                raise RuntimeError("read() called while another task is already waiting in read()")
            pipe.read_waiter = asyncio.get_running_loop().create_future()
            try:
                await pipe.read_waiter
            finally:
                pipe.read_waiter = None

    def unread(self, data: bytes) -> None:
        if data and not self._closed:
            self._in.buffer[:0] = data

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._check_writable()
        if data:
            self._out.buffer += data
            self._out.wake_reader()

    def writelines(self, chunks: Iterable[bytes | bytearray | memoryview]) -> None:
        self._check_writable()
        for chunk in chunks:
            self._out.buffer += chunk
        self._out.wake_reader()

    async def drain(self) -> None:
        pipe = self._out
        while True:
            if self._closed:
                raise closed_error("write on a closed stream", self._esource)
            if pipe.reader_gone and pipe.lost:
                raise write_error(BrokenPipeError("the peer closed the stream"), self._esource)
            if not pipe.buffer:
                return  # everything written was read, as a socket whose peer left after reading
            if len(pipe.buffer) <= pipe.max_buffer:
                return
            waiter = asyncio.get_running_loop().create_future()
            pipe.drain_waiters.append(waiter)
            try:
                await waiter
            finally:
                pipe.drain_waiters.remove(waiter)

    async def shutdown(self) -> None:
        if not self._closed:
            self._shut = True
            self._out.eof = True
            self._out.wake_reader()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        out, incoming = self._out, self._in
        out.eof = True  # what was written is still delivered, then EOF
        out.wake_reader()
        out.wake_writers()
        incoming.reader_gone = True
        incoming.lost = incoming.lost or bool(incoming.buffer)
        incoming.buffer.clear()
        incoming.wake_reader()
        incoming.wake_writers()

    def abort(self) -> None:
        self._closed = True
        out, incoming = self._out, self._in
        out.reset = True
        out.buffer.clear()
        out.wake_reader()
        out.wake_writers()
        incoming.reader_gone = True
        incoming.lost = incoming.lost or bool(incoming.buffer)
        incoming.buffer.clear()
        incoming.wake_reader()
        incoming.wake_writers()

    @property
    def at_eof(self) -> bool:
        pipe = self._in
        return (pipe.eof or pipe.reset or self._closed) and not pipe.buffer

    @property
    def is_closing(self) -> bool:
        return self._closed

    @property
    def buffered(self) -> int:
        """Bytes the peer wrote that this side has not read yet."""
        return len(self._in.buffer)

    @property
    def unread_by_peer(self) -> int:
        """Bytes this side wrote that the peer has not read yet."""
        return len(self._out.buffer)

    def __repr__(self) -> str:
        return (
            f"<MemoryStream {self.digest.local_addr} closed={self._closed} shutdown={self._shut} "
            f"buffered={len(self._in.buffer)} unread_by_peer={len(self._out.buffer)}>"
        )

    def _check_writable(self) -> None:
        if self._closed:
            raise closed_error("write on a closed stream", self._esource)
        if self._shut:
            raise closed_error("write after shutdown", self._esource)
        if self._out.reader_gone:
            raise write_error(BrokenPipeError("the peer closed the stream"), self._esource)


def memory_stream_pair(
    max_buffer: int = 65536, *, names: tuple[str, str] = ("memory:client", "memory:server")
) -> tuple[MemoryStream, MemoryStream]:
    """Two connected in-memory streams. A side's drain() waits while more than `max_buffer`
    bytes it wrote are unread by the other side. `names` become the digests' addresses."""
    if isinstance(max_buffer, bool) or not isinstance(max_buffer, int):
        raise TypeError(f"max_buffer must be an int, got {type(max_buffer).__name__}")
    if max_buffer < 0:
        raise ValueError(f"max_buffer must be >= 0, got {max_buffer}")
    a_to_b, b_to_a = _Pipe(max_buffer), _Pipe(max_buffer)
    first = MemoryStream(b_to_a, a_to_b, name=names[0], peer_name=names[1])
    second = MemoryStream(a_to_b, b_to_a, name=names[1], peer_name=names[0])
    return first, second


async def tcp_stream_pair(host: str = "127.0.0.1") -> tuple[TransportStream, TransportStream]:
    """A (client, server) pair of real `TransportStream`s connected over loopback TCP."""
    loop = asyncio.get_running_loop()
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as listening:
        listening.bind((host, 0))
        listening.listen(1)
        listening.setblocking(False)
        port = listening.getsockname()[1]
        address = f"[{host}]:{port}" if family == socket.AF_INET6 else f"{host}:{port}"
        client_task = loop.create_task(connect_tcp(address, timeout=10.0))
        try:
            conn, _ = await loop.sock_accept(listening)
        except BaseException:
            client_task.cancel()
            raise
    client = await client_task
    conn.setblocking(False)
    _, server = await loop.connect_accepted_socket(
        lambda: TransportStream(esource=ErrorSource.DOWNSTREAM), conn
    )
    return client, server
