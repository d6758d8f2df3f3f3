"""`ConnectionPool`: idle upstream connections kept by pool key, bounded in total with
least-recently-used eviction, each one watched while it waits.

How an idle connection is watched (decided here, see the package README):
- a `TransportStream` (the asyncio transport stream) gets its transport's protocol swapped for a
  tiny `_IdleWatch` protocol while pooled: data, EOF or a lost connection arriving while idle
  drops and closes it from inside the transport's callback. No task, no timer unless the idle
  timeout asks for one; checkout swaps the stream back in (two attribute writes).
- any other `Stream` (in-memory, anyio, later TLS) gets a watcher task waiting in `read()`,
  cancelled (and awaited, so the stream is free to read again) on checkout.
Either way a connection is checked once more when it is checked out (closing, at EOF or holding
unread bytes: dropped), and an idle timeout is one `loop.call_later` per pooled connection.

The pool never opens connections; it only keeps, hands back and closes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Final

from pingora_core.errors import Error
from pingora_core.protocols.l4._transport import TransportStream
from pingora_core.protocols.l4.stream import Stream

__all__ = ["ConnectionPool", "PoolStats"]

_WATCH_READ: Final = 65536


@dataclass(frozen=True, slots=True, kw_only=True)
class PoolStats:
    """A snapshot of a pool's counters.

    idle: connections waiting in the pool now. released: connections put in; rejected: put in
    but not reusable (closed at once). hits / misses: checkouts that found / did not find a
    healthy connection. evicted: dropped to stay within the size limit. closed_idle: dropped
    because the peer closed them or sent data while idle, or found broken at checkout.
    expired: dropped when their idle timeout passed.
    """

    idle: int
    released: int
    rejected: int
    hits: int
    misses: int
    evicted: int
    closed_idle: int
    expired: int


class _Idle:
    """One pooled connection and what watches it."""

    __slots__ = ("key", "pool", "seq", "stream", "task", "timer", "transport")

    def __init__(self, pool: ConnectionPool, key: Hashable, seq: int, stream: Stream) -> None:
        self.pool = pool
        self.key = key
        self.seq = seq
        self.stream = stream
        self.timer: asyncio.TimerHandle | None = None
        self.task: asyncio.Task[None] | None = None
        self.transport: asyncio.BaseTransport | None = None

    def __repr__(self) -> str:
        how = "protocol" if self.transport is not None else "task"
        return f"<idle #{self.seq} key={self.key!r} watch={how} {self.stream!r}>"


class _IdleWatch(asyncio.Protocol):
    """Stands in for a pooled TransportStream's protocol: any sign of life drops the connection."""

    __slots__ = ("_entry",)

    def __init__(self, entry: _Idle) -> None:
        self._entry = entry

    def data_received(self, data: bytes) -> None:
        self._entry.pool._drop_idle(self._entry)

    def eof_received(self) -> bool:
        self._entry.pool._drop_idle(self._entry)
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._entry.pool._drop_idle(self._entry)


def is_reusable(stream: Stream) -> bool:
    """False when the stream is closing, at EOF or holds bytes nobody asked for."""
    if stream.is_closing or stream.at_eof:
        return False
    buffered = getattr(stream, "buffered", 0)
    return not (isinstance(buffered, int) and buffered > 0)


def discard(stream: Stream) -> None:
    """Close a stream we are done with, without waiting."""
    if isinstance(stream, TransportStream) and not stream.is_closing:
        stream.transport.close()  # FIN, not a reset: nothing is queued on an idle connection
    else:
        stream.abort()


class ConnectionPool:
    """Idle connections by key (any hashable; connectors use `HttpPeer.reuse_hash()`).

    At most `size` connections are kept in total; putting one more evicts the least recently
    released one. `get(key)` hands back the most recently released healthy connection of that key
    (the one least likely to have been timed out by the peer). Use from one event loop.
    """

    __slots__ = (
        "_by_key", "_closed_idle", "_evicted", "_expired", "_hits", "_lru", "_misses",
        "_rejected", "_released", "_seq", "_size",
    )

    def __init__(self, size: int = 128) -> None:
        if isinstance(size, bool) or not isinstance(size, int):
            raise TypeError(f"pool size must be an int, got {type(size).__name__}")
        if size < 0:
            raise ValueError(f"pool size must be >= 0, got {size}")
        self._size = size
        self._lru: OrderedDict[int, _Idle] = OrderedDict()
        self._by_key: dict[Hashable, dict[int, _Idle]] = {}
        self._seq = itertools.count()
        self._released = self._rejected = self._hits = self._misses = 0
        self._evicted = self._closed_idle = self._expired = 0

    @property
    def size(self) -> int:
        """The most idle connections kept at once."""
        return self._size

    def __len__(self) -> int:
        return len(self._lru)

    def idle_count(self, key: Hashable) -> int:
        """How many idle connections wait under `key`."""
        node = self._by_key.get(key)
        return 0 if node is None else len(node)

    @property
    def stats(self) -> PoolStats:
        """A snapshot of the counters."""
        return PoolStats(
            idle=len(self._lru),
            released=self._released,
            rejected=self._rejected,
            hits=self._hits,
            misses=self._misses,
            evicted=self._evicted,
            closed_idle=self._closed_idle,
            expired=self._expired,
        )

    def put(self, key: Hashable, stream: Stream, idle_timeout: float | None = None) -> bool:
        """Keep `stream` for reuse under `key`, for at most `idle_timeout` seconds (None: until
        the peer closes it or it is evicted; 0: not at all). Returns False, having closed the
        stream, when it is not kept."""
        if stream.__class__ is not TransportStream and not isinstance(stream, Stream):
            raise TypeError(f"stream must be a Stream, got {type(stream).__name__}")
        if idle_timeout is not None and (
            isinstance(idle_timeout, bool)
            or not isinstance(idle_timeout, int | float)
            or not idle_timeout >= 0
        ):
            raise ValueError(f"idle_timeout must be >= 0 seconds or None, got {idle_timeout!r}")
        self._released += 1
        if idle_timeout == 0 or self._size == 0 or not is_reusable(stream):
            self._rejected += 1
            discard(stream)
            return False
        while len(self._lru) >= self._size:
            _, oldest = self._lru.popitem(last=False)
            self._forget(oldest)
            self._unwatch(oldest)
            self._evicted += 1
            discard(oldest.stream)
        entry = _Idle(self, key, next(self._seq), stream)
        self._lru[entry.seq] = entry
        node = self._by_key.get(key)
        if node is None:
            node = self._by_key[key] = {}
        node[entry.seq] = entry
        # The loop is asked for only when needed: on Python < 3.12 each ask is a getpid() call.
        if isinstance(stream, TransportStream):
            transport = stream.transport
            entry.transport = transport
            transport.set_protocol(_IdleWatch(entry))
        else:
            entry.task = asyncio.get_running_loop().create_task(self._watch(entry))
        if idle_timeout is not None:
            entry.timer = asyncio.get_running_loop().call_later(
                idle_timeout, self._expire, entry
            )
        return True

    async def get(self, key: Hashable) -> Stream | None:
        """The most recently released healthy connection under `key`, or None."""
        node = self._by_key.get(key)
        while node:
            _, entry = node.popitem()
            if not node:
                del self._by_key[key]
            del self._lru[entry.seq]
            task = self._unwatch(entry)
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task  # the watcher must leave read() before anyone reads again
            if is_reusable(entry.stream):
                self._hits += 1
                return entry.stream
            self._closed_idle += 1
            discard(entry.stream)
            node = self._by_key.get(key)
        self._misses += 1
        return None

    def clear(self) -> None:
        """Close every idle connection."""
        entries = list(self._lru.values())
        self._lru.clear()
        self._by_key.clear()
        for entry in entries:
            self._unwatch(entry)
            discard(entry.stream)

    def __repr__(self) -> str:
        return (
            f"<ConnectionPool idle={len(self._lru)}/{self._size} keys={len(self._by_key)} "
            f"hits={self._hits} misses={self._misses} evicted={self._evicted}>"
        )

    # -- internals ------------------------------------------------------------------------------

    def _forget(self, entry: _Idle) -> None:
        node = self._by_key.get(entry.key)
        if node is not None:
            node.pop(entry.seq, None)
            if not node:
                del self._by_key[entry.key]

    def _unwatch(self, entry: _Idle) -> asyncio.Task[None] | None:
        """Stop watching; give back the watcher task (cancelled by the caller) if any."""
        if entry.timer is not None:
            entry.timer.cancel()
            entry.timer = None
        if entry.transport is not None:
            entry.transport.set_protocol(entry.stream)  # type: ignore[arg-type]
            entry.transport = None
        task, entry.task = entry.task, None
        if task is not None and task is not asyncio.current_task() and not task.done():
            task.cancel()
            return task
        return None

    def _drop_idle(self, entry: _Idle) -> None:
        """The peer closed or spoke on an idle connection: remove and close it."""
        if self._lru.pop(entry.seq, None) is None:
            return  # already checked out, evicted or dropped
        self._forget(entry)
        self._unwatch(entry)
        self._closed_idle += 1
        discard(entry.stream)

    def _expire(self, entry: _Idle) -> None:
        entry.timer = None
        if self._lru.pop(entry.seq, None) is None:
            return
        self._forget(entry)
        self._unwatch(entry)
        self._expired += 1
        discard(entry.stream)

    async def _watch(self, entry: _Idle) -> None:
        with contextlib.suppress(Error):
            await entry.stream.read(_WATCH_READ)
        self._drop_idle(entry)
