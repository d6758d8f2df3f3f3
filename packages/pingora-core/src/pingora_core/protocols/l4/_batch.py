"""Write batching: the small writes of one event-loop iteration go to the kernel together.

A `TransportStream` keeps the small writes it gets during an iteration of its loop and registers
with the loop's `WriteBatch`; one `call_soon` callback per iteration then hands every registered
stream's bytes to its transport. Each stream's bytes keep their order; only when they reach the
kernel moves (to the end of the iteration, before the loop polls again). Sending the responses
of every connection served in an iteration back to back costs far fewer wake-ups of the
processes reading them than one send in the middle of each request's work (measured:
`tools/bench/bench_http_server.py`, `tools/bench/bench_proxy.py`). This module only schedules;
what is pending and when it must go out early (large writes, close, EOF, abort) is the stream's.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from pingora_core.protocols.l4._transport import TransportStream

__all__ = ["WriteBatch", "write_batch_for"]

_ATTRIBUTE: Final = "_pingora_write_batch"
_WEAK_BATCHES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, WriteBatch]
_WEAK_BATCHES = weakref.WeakKeyDictionary()


class WriteBatch:
    """The streams of one loop with bytes waiting to be written at the end of this iteration."""

    __slots__ = ("_loop", "_scheduled", "_streams")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._streams: list[TransportStream] = []
        self._scheduled = False

    def add(self, stream: TransportStream) -> None:
        """`stream` holds bytes to write: flush it with the others at the end of the iteration."""
        self._streams.append(stream)
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._scheduled = False
        streams, self._streams = self._streams, []
        for stream in streams:
            stream.flush_writes()  # a stream flushed early (close, large write) has nothing left

    def __repr__(self) -> str:
        return f"<WriteBatch streams={len(self._streams)} scheduled={self._scheduled}>"


def write_batch_for(loop: asyncio.AbstractEventLoop) -> WriteBatch:
    """The write batch of `loop`, made on first use (kept on the loop, or in a weak mapping for
    loops that refuse attributes)."""
    try:
        batch: WriteBatch = getattr(loop, _ATTRIBUTE)
    except AttributeError:
        found = _WEAK_BATCHES.get(loop)
        if found is not None:
            return found
        batch = WriteBatch(loop)
        try:
            setattr(loop, _ATTRIBUTE, batch)
        except (AttributeError, TypeError):
            _WEAK_BATCHES[loop] = batch
    return batch
