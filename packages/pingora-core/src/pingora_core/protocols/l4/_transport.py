"""`TransportStream`: the default `Stream`, an `asyncio.Protocol` sitting directly on an asyncio
(or uvloop) transport.

This is the data path. Received chunks are queued as the transport hands them over (no copy)
with a running byte count; a read returns the first chunk itself when it fits, one slice of it
when it is larger (an offset marks how much of it was taken, so the rest is never shifted), and
joins chunks only when they are small. A read that finds buffered bytes returns them without
awaiting; a read that waits gets the next chunk handed over without a copy when it fits. One
chunk queue and one waiter future per connection; reading pauses when more than the high-water
mark is buffered so memory stays bounded. Small writes wait for the end of the loop iteration
and go out with every other stream's (`_batch.py`); a write reaching 64 KiB pending, close(),
shutdown() and abort() send at once. Nothing here calls anyio or checkpoints per call.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import time
from collections import deque
from collections.abc import Iterable
from typing import Any, Final, cast

from pingora_core.errors import ErrorSource
from pingora_core.protocols.l4._batch import WriteBatch, write_batch_for
from pingora_core.protocols.l4._errors import closed_error, read_error, write_error
from pingora_core.protocols.l4._sockopt import format_sockaddr
from pingora_core.protocols.l4.stream import Stream, StreamDigest

__all__ = ["DEFAULT_READ_HIGH_WATER", "DEFAULT_READ_LOW_WATER", "TransportStream"]

DEFAULT_READ_HIGH_WATER: Final = 256 * 1024
DEFAULT_READ_LOW_WATER: Final = 64 * 1024
_LINGER_RESET: Final = struct.pack("ii", 1, 0)
_INET: Final = (socket.AF_INET, socket.AF_INET6)
# a buffered piece shorter than this is joined with the next ones (as long as they are short
# too) into one read: copying a few small pieces costs less than a read and a write for each
_JOIN_BELOW: Final = 16 * 1024
# writes are batched until the end of the loop iteration (see _batch.py) up to this many bytes
# per stream; a write reaching it sends everything at once
_BATCH_LIMIT: Final = 64 * 1024


class TransportStream(Stream, asyncio.Protocol):
    """A `Stream` over an asyncio transport; use it as the protocol factory's product
    (`loop.create_connection(TransportStream, sock=...)`) or get one from `connect_tcp`,
    `connect_uds` or a listener.

    `esource` is who gets the blame for its I/O errors (DOWNSTREAM for accepted connections,
    UPSTREAM for the ones we open). Reading pauses when more than `read_high_water` bytes are
    buffered and resumes at `read_low_water`; `write_high_water` (optional) sets the transport's
    write buffer limit that makes drain() wait.
    """

    __slots__ = (
        "_batch",
        "_buffer",
        "_buffered",
        "_closed",
        "_drain_waiters",
        "_eof",
        "_esource",
        "_high",
        "_loop",
        "_lost",
        "_lost_exc",
        "_low",
        "_offset",
        "_out",
        "_out_size",
        "_read_paused",
        "_shut",
        "_transport",
        "_waiter",
        "_want",
        "_write_high",
        "_write_paused",
        "digest",
    )

    _transport: asyncio.Transport
    _loop: asyncio.AbstractEventLoop
    _batch: WriteBatch

    def __init__(
        self,
        *,
        esource: ErrorSource = ErrorSource.UNSET,
        read_high_water: int = DEFAULT_READ_HIGH_WATER,
        read_low_water: int | None = None,
        write_high_water: int | None = None,
    ) -> None:
        if read_high_water <= 0:
            raise ValueError(f"read_high_water must be > 0, got {read_high_water}")
        low = read_high_water // 4 if read_low_water is None else read_low_water
        if not 0 <= low <= read_high_water:
            raise ValueError(f"read_low_water must be in 0..={read_high_water}, got {low}")
        if write_high_water is not None and write_high_water < 0:
            raise ValueError(f"write_high_water must be >= 0, got {write_high_water}")
        self._esource = esource
        self._high = read_high_water
        self._low = low
        self._write_high = write_high_water
        # received chunks, oldest first; `_offset` bytes of the first one were read already and
        # `_buffered` counts the bytes still to read (of all chunks, less the offset)
        self._buffer: deque[bytes] = deque()
        self._buffered = 0
        self._offset = 0
        self._waiter: asyncio.Future[bytes | None] | None = None
        self._want = 0
        self._drain_waiters: list[asyncio.Future[None]] | None = None
        self._eof = False
        self._lost = False
        self._lost_exc: BaseException | None = None
        self._closed = False
        self._shut = False
        self._read_paused = False
        self._write_paused = False
        # small writes of this loop iteration, written at its end (see _batch.py)
        self._out: list[bytes] | None = None
        self._out_size = 0
        self.digest = StreamDigest(established=0.0, local_addr=None, peer_addr=None)

    # -- asyncio.Protocol callbacks (called by the transport) -----------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not derive from asyncio.Transport but have its methods
        self._transport = transport = cast(asyncio.Transport, transport)
        # kept: asking for the running loop on every read costs a getpid() system call
        self._loop = loop = asyncio.get_running_loop()
        self._batch = write_batch_for(loop)
        if self._write_high is not None:
            transport.set_write_buffer_limits(high=self._write_high)
        digest = self.digest
        digest.established = time.time()
        digest.local_addr = format_sockaddr(transport.get_extra_info("sockname"))
        digest.peer_addr = format_sockaddr(transport.get_extra_info("peername"))

    def data_received(self, data: bytes) -> None:
        size = len(data)
        if not size:
            return  # nothing to wake a reader for (an empty read would look like EOF)
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                if size <= self._want and not self._buffered:
                    waiter.set_result(data)  # handed over whole: no copy
                    return
                waiter.set_result(None)
        if self._closed:
            return  # close() dropped what was buffered; nobody reads what comes after
        self._buffer.append(data)  # kept as it is: the transport's bytes, not a copy
        self._buffered = buffered = self._buffered + size
        if buffered > self._high and not self._read_paused:
            self._read_paused = True
            self._transport.pause_reading()

    def eof_received(self) -> bool:
        self._eof = True
        self._wake_reader()
        return True  # keep the transport open: we may still write (half close)

    def connection_lost(self, exc: Exception | None) -> None:
        self._out = None  # nobody will take them
        self._lost = True
        self._lost_exc = exc
        self._wake_reader()
        self._wake_drainers()

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        self._wake_drainers()

    # -- Stream ---------------------------------------------------------------------------------

    async def read(self, max_bytes: int = 65536) -> bytes:
        if max_bytes <= 0:
            raise ValueError(f"max_bytes must be > 0, got {max_bytes}")
        if not self._buffered:
            if self._eof or self._lost or self._closed:
                return self._read_at_end()
            # wait for data_received (inlined: this is the path of every idle connection)
            if self._waiter is not None:
                raise RuntimeError("read() called while another task is already waiting in read()")
            if self._read_paused:
                self._resume_reading()
            waiter: asyncio.Future[bytes | None] = self._loop.create_future()
            self._waiter = waiter
            self._want = max_bytes
            try:
                data = await waiter
            finally:
                self._waiter = None
            if data is not None:
                return data
            if not self._buffered:  # woken by EOF, a lost connection or close()
                return self._read_at_end()
        data = self._take(max_bytes)
        if self._read_paused and self._buffered <= self._low:
            self._resume_reading()
        return data

    def unread(self, data: bytes) -> None:
        if not data or self._closed:
            return
        if type(data) is not bytes:
            data = bytes(data)  # a bytearray the caller may change later: keep a copy
        buffer = self._buffer
        offset = self._offset
        if offset:
            buffer[0] = buffer[0][offset:]  # the offset belongs to the first chunk only
            self._offset = 0
        buffer.appendleft(data)
        self._buffered += len(data)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._lost or self._closed or self._shut:
            raise self._write_refused()
        size = len(data)
        if not size:
            return
        out = self._out
        if out is None:
            if size >= _BATCH_LIMIT:
                self._transport.write(data)  # large: no reason to wait
                return
            self._out = [data if type(data) is bytes else bytes(data)]  # the caller may reuse it
            self._out_size = size
            self._batch.add(self)
            return
        out.append(data if type(data) is bytes else bytes(data))
        self._out_size += size
        if self._out_size >= _BATCH_LIMIT:
            self.flush_writes()

    def writelines(self, chunks: Iterable[bytes | bytearray | memoryview]) -> None:
        if self._lost or self._closed or self._shut:
            raise self._write_refused()
        for chunk in chunks:
            self.write(chunk)

    def flush_writes(self) -> None:
        """Hand the bytes written so far to the transport now (the loop does it at the end of
        each iteration; close, abort, shutdown and large writes do it at once)."""
        out = self._out
        if out is None:
            return
        self._out = None
        transport = self._transport
        if self._lost or transport.is_closing():
            return  # the connection is gone: so are these bytes
        if len(out) == 1:
            transport.write(out[0])
        elif self._out_size < _BATCH_LIMIT:
            transport.write(b"".join(out))
        else:
            transport.writelines(out)

    async def drain(self) -> None:
        if self._lost or self._closed:
            raise self._write_refused()
        if not self._write_paused:
            return
        waiter: asyncio.Future[None] = self._loop.create_future()
        if self._drain_waiters is None:
            self._drain_waiters = []
        self._drain_waiters.append(waiter)
        try:
            await waiter
        finally:
            self._drain_waiters.remove(waiter)
        if self._lost or self._closed:
            raise self._write_refused()

    async def shutdown(self) -> None:
        if self._shut or self._lost or self._closed:
            return
        self.flush_writes()
        self._shut = True
        transport = self._transport
        if transport.can_write_eof():
            try:
                transport.write_eof()
            except OSError as exc:
                raise write_error(exc, self._esource) from exc

    async def close(self) -> None:
        if self._closed:
            return
        self.flush_writes()  # close() sends what was written before it
        self._closed = True
        self._drop_buffer()
        self._transport.close()
        self._wake_reader()
        self._wake_drainers()

    def abort(self) -> None:
        self.flush_writes()  # as before batching: written bytes go out ahead of the reset
        transport = self._transport
        if self._closed and (self._lost or not transport.get_write_buffer_size()):
            return  # closed already and nothing left to drop
        self._closed = True
        self._drop_buffer()
        if not self._lost:
            sock = transport.get_extra_info("socket")
            if sock is not None and sock.family in _INET:
                # linger 0: closing sends a reset instead of a FIN (if already broken, fine)
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
            transport.abort()
        self._wake_reader()
        self._wake_drainers()

    @property
    def at_eof(self) -> bool:
        return (self._eof or self._lost or self._closed) and not self._buffered

    @property
    def is_closing(self) -> bool:
        return self._closed or self._lost or self._transport.is_closing()

    # -- extras ---------------------------------------------------------------------------------

    @property
    def transport(self) -> asyncio.Transport:
        """The asyncio transport underneath."""
        return self._transport

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """The transport's extra info ("socket", "peername", "sockname", ...)."""
        return self._transport.get_extra_info(name, default)

    @property
    def write_paused(self) -> bool:
        """True while the transport holds more unsent bytes than its high-water mark, that is
        while drain() would wait; False means drain() returns at once (on an open stream)."""
        return self._write_paused

    @property
    def buffered(self) -> int:
        """How many received bytes wait to be read."""
        return self._buffered

    def __repr__(self) -> str:
        if self._closed:
            state = "closed"
        elif self._lost:
            state = "lost"
        else:
            state = "open"
        flags = "".join(
            f" {name}"
            for name, on in (
                ("eof", self._eof),
                ("shutdown", self._shut),
                ("read-paused", self._read_paused),
                ("write-paused", self._write_paused),
            )
            if on
        )
        return (
            f"<TransportStream {state} local={self.digest.local_addr} "
            f"peer={self.digest.peer_addr} buffered={self._buffered}{flags}>"
        )

    # -- internals ------------------------------------------------------------------------------

    def _take(self, max_bytes: int) -> bytes:
        """Up to `max_bytes` buffered bytes (there are some): the first chunk itself when it
        fits, one slice of it when it is larger, small chunks joined."""
        buffer = self._buffer
        head = buffer[0]
        offset = self._offset
        size = len(head) - offset
        if size > max_bytes:  # a part of the first chunk: copy that part only
            end = offset + max_bytes
            self._offset = end
            self._buffered -= max_bytes
            return head[offset:end]
        buffer.popleft()
        if offset:
            self._offset = 0
            head = head[offset:]
        if size >= _JOIN_BELOW or not buffer or len(buffer[0]) >= _JOIN_BELOW:
            self._buffered -= size
            return head  # the chunk itself (or its unread rest)
        # small pieces in a row: one read for as many of them as fit (each whole)
        parts = [head]
        room = max_bytes - size
        while buffer:
            nxt = buffer[0]
            length = len(nxt)
            if length > room or length >= _JOIN_BELOW:
                break
            parts.append(buffer.popleft())
            room -= length
            size += length
        self._buffered -= size
        return head if len(parts) == 1 else b"".join(parts)

    def _drop_buffer(self) -> None:
        self._buffer.clear()
        self._buffered = 0
        self._offset = 0

    def _read_at_end(self) -> bytes:
        if self._closed:
            raise closed_error("read on a closed stream", self._esource)
        if self._lost_exc is not None:
            raise read_error(self._lost_exc, self._esource) from self._lost_exc
        return b""

    def _write_refused(self) -> Exception:
        if self._closed:
            return closed_error("write on a closed stream", self._esource)
        if self._lost_exc is not None:
            return write_error(self._lost_exc, self._esource)
        if self._lost:
            return closed_error("write on a lost connection", self._esource)
        return closed_error("write after shutdown", self._esource)

    def _resume_reading(self) -> None:
        self._read_paused = False
        if not self._lost:
            self._transport.resume_reading()

    def _wake_reader(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def _wake_drainers(self) -> None:
        waiters = self._drain_waiters
        if waiters:
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)
