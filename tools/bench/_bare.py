"""Pieces of the bare asyncio servers behind the benchmarks' reference rows (floor, L4 ceiling):
reading a request head the least way, writes batched until the end of the loop iteration, as
our streams' are, TCP_NODELAY, and running a server until SIGINT on uvloop when installed (the
same choice as the server's "auto").
"""

from __future__ import annotations

import asyncio
import signal
import socket
from collections.abc import Awaitable, Callable

from pingora_core.protocols.http.v1.events import H1Limits
from pingora_core.protocols.http.v1.rules import simple_fields, simple_head
from pingora_http import RequestHeader

__all__ = ["floor_request", "nodelay", "run_until_sigint", "write_batched"]

_LIMITS = H1Limits()


def floor_request(data: bytes) -> RequestHeader | None:
    """The request when `data` is one whole head in our common shape with exactly one Host,
    read as our server reads it (the regex check, the fields split, the `RequestHeader` built);
    else None, for the floor servers to drop."""
    line = simple_head(data, _LIMITS) if data.endswith(b"\r\n\r\n") else None
    if line is None:
        return None
    names, values = simple_fields(data)
    keys = list(map(bytes.lower, names))
    if keys.count(b"host") != 1:
        return None
    return RequestHeader._from_h1_checked(line[0], line[1], "HTTP/1.1", names, keys, values)

_pending: list[tuple[asyncio.Transport, bytes]] = []


def write_batched(transport: asyncio.Transport, data: bytes) -> None:
    """Write `data` on `transport` at the end of this loop iteration, with every other write."""
    _pending.append((transport, data))
    if len(_pending) == 1:
        asyncio.get_running_loop().call_soon(flush_batched)


def flush_batched() -> None:
    """Write everything `write_batched` holds now (transports closed meanwhile are skipped)."""
    items = _pending[:]
    _pending.clear()
    for transport, data in items:
        if not transport.is_closing():
            transport.write(data)


def nodelay(transport: asyncio.BaseTransport) -> None:
    """TCP_NODELAY on the transport's socket, as our listeners and connectors set it."""
    transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def run_until_sigint(start: Callable[[], Awaitable[Callable[[], object]]]) -> None:
    """Run `start()` (which starts serving and returns how to stop) until SIGINT, then stop."""

    async def main() -> None:
        stop = await start()
        loop = asyncio.get_running_loop()
        stopped = loop.create_future()
        loop.add_signal_handler(signal.SIGINT, stopped.set_result, None)
        await stopped
        stop()

    try:
        import uvloop
    except ImportError:
        asyncio.run(main())
    else:
        uvloop.run(main())
