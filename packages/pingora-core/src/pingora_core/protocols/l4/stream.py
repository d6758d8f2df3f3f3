"""The `Stream` interface every layer above L4 reads and writes, and its `StreamDigest`.

Only the contract lives here; the implementations are the asyncio transport stream, the anyio
adapter and the in-memory test streams.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["Stream", "StreamDigest"]


@dataclass(slots=True)
class StreamDigest:
    """What is known about a connection: when it was established (`time.time()`), both ends'
    addresses ("127.0.0.1:8080", "[::1]:80", "unix:/path" or None) and, once a TLS layer runs on
    top, its TLS information. `extra` carries anything else a layer wants to record."""

    established: float
    local_addr: str | None
    peer_addr: str | None
    tls: object | None = None
    extra: dict[str, object] = field(default_factory=dict)


class Stream(abc.ABC):
    """A bidirectional byte stream.

    `read()` returns buffered bytes at once and waits only when nothing is buffered; `b""` means
    the peer sent EOF. `write()` only buffers; `drain()` waits while the peer is slow. Every
    failure is an `Error` (ReadError / WriteError / ConnectionClosed), never a raw OSError.
    At most one task may wait in `read()` at a time.
    """

    __slots__ = ()

    digest: StreamDigest

    @abc.abstractmethod
    async def read(self, max_bytes: int = 65536) -> bytes:
        """Up to `max_bytes` bytes; waits only when none are buffered. `b""` at EOF."""

    @abc.abstractmethod
    def unread(self, data: bytes) -> None:
        """Push `data` back to the front: the next read() returns it first."""

    @abc.abstractmethod
    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Queue `data` for sending; never blocks. Call drain() to wait for a slow peer. Bytes
        may wait until the running task yields to the loop before they reach the kernel."""

    @abc.abstractmethod
    def writelines(self, chunks: Iterable[bytes | bytearray | memoryview]) -> None:
        """Queue several chunks at once."""

    @abc.abstractmethod
    async def drain(self) -> None:
        """Wait while too much written data is waiting for the peer."""

    @abc.abstractmethod
    async def shutdown(self) -> None:
        """Half close: send EOF after the queued data; reading goes on."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Close the stream (queued data is still sent). Idempotent; safe after abort()."""

    @abc.abstractmethod
    def abort(self) -> None:
        """Close at once and drop whatever is queued (a reset where the transport has one)."""

    @property
    @abc.abstractmethod
    def at_eof(self) -> bool:
        """True once the peer's EOF was seen and every buffered byte was read."""

    @property
    @abc.abstractmethod
    def is_closing(self) -> bool:
        """True once the stream was closed, aborted or lost."""

