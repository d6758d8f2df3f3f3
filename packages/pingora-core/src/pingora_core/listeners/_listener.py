"""`Listener`: the accept loop shared by TCP and unix-socket listeners.

Readiness of the listening socket drives accept() in batches (no task per accept); each accepted
connection gets one task that runs the ConnectionFilter, then wraps the socket in a
`TransportStream` and runs the handler. Binding and per-socket settings belong to the subclasses.
"""

from __future__ import annotations

import abc
import asyncio
import errno
import logging
import socket
from collections.abc import Awaitable, Callable
from typing import Any, Final

import anyio

from pingora_core.errors import Error, ErrorSource
from pingora_core.listeners._filter import ConnectionFilter
from pingora_core.protocols.l4._sockopt import format_sockaddr
from pingora_core.protocols.l4._transport import TransportStream
from pingora_core.protocols.l4.stream import Stream

__all__ = ["LISTENER_BACKLOG", "Handler", "Listener"]

logger = logging.getLogger("pingora_core.listeners")

LISTENER_BACKLOG: Final = 65535
_ACCEPT_BATCH: Final = 128
# Out of descriptors or memory: accept() would fail again at once, so wait before retrying.
_RESOURCE_ERRNOS: Final = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
_RESOURCE_BACKOFF: Final = 1.0

Handler = Callable[[Stream], Awaitable[None]]


def _downstream_stream() -> TransportStream:
    return TransportStream(esource=ErrorSource.DOWNSTREAM)


class Listener(abc.ABC):
    """A listening socket that serves each accepted connection with a handler.

    `serve()` accepts until `stop_accepting()` is called or it is cancelled, runs
    `handler(stream)` for each connection in its own task (the stream is closed when the handler
    returns, aborted when it raises), and returns once accepting has stopped and every handler
    has finished. Cancelling `serve()` cancels the handlers.
    """

    address: str

    def __init__(self, address: str) -> None:
        self.address = address
        self._sock: socket.socket | None = None
        self._bound_address: str | None = None
        self._serving = False
        self._stop_requested = False
        self._stop_waiter: asyncio.Future[None] | None = None
        self._reader: tuple[asyncio.AbstractEventLoop, int] | None = None
        self._backoff: asyncio.TimerHandle | None = None
        self._accepted = 0
        self._refused = 0

    # -- binding (subclasses) -------------------------------------------------------------------

    @abc.abstractmethod
    async def bind(self) -> None:
        """Create, bind and listen; raises Error(BindError) saying why it failed."""

    @abc.abstractmethod
    def _prepare(self, conn: socket.socket) -> None:
        """Settings for one accepted connection (TCP_NODELAY, keepalive, ...). Raises OSError."""

    # -- state ----------------------------------------------------------------------------------

    @property
    def is_bound(self) -> bool:
        """True between bind() and close()."""
        return self._sock is not None

    @property
    def bound_address(self) -> str:
        """The address really bound ("127.0.0.1:41234" for port 0, "unix:/path"); still known
        after close()."""
        if self._bound_address is None:
            raise RuntimeError(f"listener {self.address} is not bound: call bind() first")
        return self._bound_address

    @property
    def accepted(self) -> int:
        """Connections accepted and handed to the handler so far."""
        return self._accepted

    @property
    def refused(self) -> int:
        """Connections the connection filter refused so far."""
        return self._refused

    def fileno(self) -> int:
        """The listening socket's file descriptor (for handing it to a new process)."""
        return self._require_bound().fileno()

    def close(self) -> None:
        """Stop accepting and close the listening socket. Idempotent."""
        self.stop_accepting()
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()

    def _adopt(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        self._sock = sock
        self._bound_address = format_sockaddr(sock.getsockname(), sock.family) or self.address

    def _require_bound(self) -> socket.socket:
        if self._sock is None:
            raise RuntimeError(f"listener {self.address} is not bound: call bind() first")
        return self._sock

    # -- serving --------------------------------------------------------------------------------

    async def serve(
        self, handler: Handler, connection_filter: ConnectionFilter | None = None
    ) -> None:
        """Accept and serve connections until stop_accepting() or cancellation."""
        sock = self._require_bound()
        if self._serving:
            raise RuntimeError(f"listener {self.address} is already serving")
        loop = asyncio.get_running_loop()
        tasks: set[asyncio.Task[None]] = set()
        self._serving = True
        self._stop_waiter = stop = loop.create_future()
        try:
            if not self._stop_requested:
                self._start_reading(loop, sock, handler, connection_filter, tasks)
                await stop
            while tasks:
                await asyncio.wait(tasks)
        except BaseException:
            self._stop_reading()
            for task in tasks:
                task.cancel()
            if tasks:
                with anyio.CancelScope(shield=True):
                    await asyncio.wait(tasks)
            raise
        finally:
            self._stop_reading()
            self._serving = False
            self._stop_waiter = None

    def stop_accepting(self) -> None:
        """Accept no more connections; serve() returns once its handlers have finished."""
        self._stop_requested = True
        self._stop_reading()
        stop = self._stop_waiter
        if stop is not None and not stop.done():
            stop.set_result(None)

    def _start_reading(
        self,
        loop: asyncio.AbstractEventLoop,
        sock: socket.socket,
        handler: Handler,
        connection_filter: ConnectionFilter | None,
        tasks: set[asyncio.Task[None]],
    ) -> None:
        fd = sock.fileno()
        loop.add_reader(fd, self._on_acceptable, loop, sock, handler, connection_filter, tasks)
        self._reader = (loop, fd)

    def _stop_reading(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            reader[0].remove_reader(reader[1])
        backoff, self._backoff = self._backoff, None
        if backoff is not None:
            backoff.cancel()

    def _on_acceptable(
        self,
        loop: asyncio.AbstractEventLoop,
        sock: socket.socket,
        handler: Handler,
        connection_filter: ConnectionFilter | None,
        tasks: set[asyncio.Task[None]],
    ) -> None:
        for _ in range(_ACCEPT_BATCH):
            try:
                conn, addr = sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except ConnectionAbortedError:
                continue
            except OSError as exc:
                if exc.errno in _RESOURCE_ERRNOS:
                    logger.error(
                        "accept() on %s failed: %s; pausing accepting for %.1f s",
                        self._bound_address, exc, _RESOURCE_BACKOFF,
                    )
                    self._stop_reading()
                    self._backoff = loop.call_later(
                        _RESOURCE_BACKOFF,
                        self._start_reading, loop, sock, handler, connection_filter, tasks,
                    )
                else:
                    logger.error("accept() on %s failed: %s", self._bound_address, exc)
                return
            task = loop.create_task(self._connection(loop, conn, addr, handler, connection_filter))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    async def _connection(
        self,
        loop: asyncio.AbstractEventLoop,
        conn: socket.socket,
        addr: Any,
        handler: Handler,
        connection_filter: ConnectionFilter | None,
    ) -> None:
        try:
            if connection_filter is not None and not await self._filter(
                connection_filter, format_sockaddr(addr, conn.family)
            ):
                self._refused += 1
                conn.close()
                return
            conn.setblocking(False)
            self._prepare(conn)
            _, stream = await loop.connect_accepted_socket(_downstream_stream, conn)
        except OSError as exc:
            logger.debug("dropping a connection accepted on %s: %s", self._bound_address, exc)
            conn.close()
            return
        except BaseException:
            conn.close()
            raise
        self._accepted += 1
        try:
            await handler(stream)
        except Error as exc:
            logger.debug(
                "connection %s on %s ended: %s", stream.digest.peer_addr, self._bound_address, exc
            )
            stream.abort()
        except Exception:
            logger.exception("handler failed on a connection accepted on %s", self._bound_address)
            stream.abort()
        except BaseException:
            stream.abort()
            raise
        else:
            await stream.close()

    async def _filter(self, connection_filter: ConnectionFilter, peer: str | None) -> bool:
        try:
            return await connection_filter.should_accept(peer) is True
        except Exception:
            logger.exception(
                "connection filter failed on %s; refusing %s", self._bound_address, peer
            )
            return False

    def __repr__(self) -> str:
        state = "unbound" if self._sock is None else f"bound={self._bound_address}"
        serving = " serving" if self._serving and not self._stop_requested else ""
        return (
            f"<{type(self).__name__} {self.address} {state}{serving} "
            f"accepted={self._accepted} refused={self._refused}>"
        )
