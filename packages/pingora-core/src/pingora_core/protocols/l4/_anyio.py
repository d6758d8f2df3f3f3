"""`AnyioStream`: a `Stream` over any anyio `ByteStream` (virtual L4 streams, tunnels, anyio's
own sockets or TLS), for where a transport is not at hand.

write() only queues; drain() sends what is queued (that is where a slow peer makes it wait).
anyio's exceptions become `Error`s here. Not the fast path: sockets use `TransportStream`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable

import anyio
from anyio.abc import ByteStream, SocketAttribute

from pingora_core.errors import ErrorSource
from pingora_core.protocols.l4._errors import closed_error, read_error, write_error
from pingora_core.protocols.l4._sockopt import format_sockaddr
from pingora_core.protocols.l4.stream import Stream, StreamDigest

__all__ = ["AnyioStream"]

_BROKEN = (anyio.BrokenResourceError, OSError)
# Streams being closed by abort(), kept referenced until their close task ends.
_closing_tasks: set[asyncio.Task[None]] = set()


def _digest_of(byte_stream: ByteStream) -> StreamDigest:
    local = byte_stream.extra(SocketAttribute.local_address, None)
    peer = byte_stream.extra(SocketAttribute.remote_address, None)
    return StreamDigest(
        established=time.time(),
        local_addr=None if local is None else format_sockaddr(local),
        peer_addr=None if peer is None else format_sockaddr(peer),
    )


class AnyioStream(Stream):
    """Adapts an anyio `ByteStream` to `Stream`. `digest` defaults to the stream's socket
    addresses when it has them; `esource` is who gets the blame for its I/O errors."""

    __slots__ = (
        "_aborted",
        "_buffer",
        "_closed",
        "_eof",
        "_esource",
        "_failed",
        "_pending",
        "_reading",
        "_send_lock",
        "_shut",
        "_stream",
        "digest",
    )

    def __init__(
        self,
        byte_stream: ByteStream,
        digest: StreamDigest | None = None,
        *,
        esource: ErrorSource = ErrorSource.UNSET,
    ) -> None:
        if not isinstance(byte_stream, ByteStream):
            raise TypeError(f"expected an anyio ByteStream, got {type(byte_stream).__name__}")
        self._stream = byte_stream
        self.digest = _digest_of(byte_stream) if digest is None else digest
        self._esource = esource
        self._buffer = bytearray()
        self._pending: list[bytes] = []
        self._eof = False
        self._closed = False
        self._aborted = False
        self._shut = False
        self._failed: BaseException | None = None
        self._reading = False
        self._send_lock = anyio.Lock()

    @property
    def byte_stream(self) -> ByteStream:
        """The wrapped anyio stream."""
        return self._stream

    async def read(self, max_bytes: int = 65536) -> bytes:
        if max_bytes <= 0:
            raise ValueError(f"max_bytes must be > 0, got {max_bytes}")
        buffer = self._buffer
        if buffer:
            data = bytes(buffer[:max_bytes])
            del buffer[:max_bytes]
            return data
        if self._closed:
            raise closed_error("read on a closed stream", self._esource)
        if self._eof:
            return b""
        if self._reading:
            raise RuntimeError("read() called while another task is already waiting in read()")
        self._reading = True
        try:
            data = await self._stream.receive(max_bytes)
        except anyio.EndOfStream:
            self._eof = True
            return b""
        except anyio.ClosedResourceError as exc:
            raise closed_error("read on a closed stream", self._esource) from exc
        except _BROKEN as exc:
            self._failed = exc
            raise read_error(exc, self._esource) from exc
        finally:
            self._reading = False
        if self._closed:
            raise closed_error("read on a closed stream", self._esource)
        if len(data) > max_bytes:
            buffer += data[max_bytes:]
            data = data[:max_bytes]
        return data

    def unread(self, data: bytes) -> None:
        if data and not self._closed:
            self._buffer[:0] = data

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._check_writable()
        if data:
            self._pending.append(bytes(data))

    def writelines(self, chunks: Iterable[bytes | bytearray | memoryview]) -> None:
        self._check_writable()
        self._pending.extend(bytes(chunk) for chunk in chunks if chunk)

    async def drain(self) -> None:
        if self._closed:
            raise closed_error("write on a closed stream", self._esource)
        if self._failed is not None:
            raise write_error(self._failed, self._esource)
        async with self._send_lock:
            await self._flush()

    async def shutdown(self) -> None:
        if self._shut or self._closed:
            return
        self._shut = True
        async with self._send_lock:
            await self._flush()
            try:
                await self._stream.send_eof()
            except (anyio.ClosedResourceError, *_BROKEN) as exc:
                raise write_error(exc, self._esource) from exc

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._buffer.clear()
        try:
            # closing: a peer that went away while we flush is not an error worth raising
            with contextlib.suppress(Exception):
                if self._pending and self._failed is None:
                    async with self._send_lock:
                        await self._flush()
        finally:
            self._pending.clear()
            await anyio.aclose_forcefully(self._stream)

    def abort(self) -> None:
        if self._aborted:
            return
        self._aborted = True
        self._closed = True
        self._buffer.clear()
        self._pending.clear()
        task = asyncio.get_running_loop().create_task(anyio.aclose_forcefully(self._stream))
        _closing_tasks.add(task)
        task.add_done_callback(_closing_tasks.discard)

    @property
    def at_eof(self) -> bool:
        return (self._eof or self._closed or self._failed is not None) and not self._buffer

    @property
    def is_closing(self) -> bool:
        return self._closed or self._failed is not None

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("failed" if self._failed else "open")
        return (
            f"<AnyioStream {state} peer={self.digest.peer_addr} buffered={len(self._buffer)} "
            f"pending={sum(map(len, self._pending))} eof={self._eof} shutdown={self._shut}>"
        )

    def _check_writable(self) -> None:
        if self._closed:
            raise closed_error("write on a closed stream", self._esource)
        if self._failed is not None:
            raise write_error(self._failed, self._esource)
        if self._shut:
            raise closed_error("write after shutdown", self._esource)

    async def _flush(self) -> None:
        pending = self._pending
        while pending:
            chunk = pending[0] if len(pending) == 1 else b"".join(pending)
            pending.clear()
            try:
                await self._stream.send(chunk)
            except anyio.ClosedResourceError as exc:
                raise closed_error("write on a closed stream", self._esource) from exc
            except _BROKEN as exc:
                self._failed = exc
                raise write_error(exc, self._esource) from exc
