"""`HttpServerApp`: a `ServerApp` that speaks HTTP/1.1 and hands the app one session per request.

`process_new` runs the connection's keep-alive loop: before each request it waits (bounded by
`keepalive_timeout`) for the first bytes while the connection is registered as idle, makes a
server session and calls `process_new_http`, and goes round again while a stream is handed
back. When the server's graceful shutdown starts, idle connections are closed at once; busy
ones finish the request in hand and are closed after it. This module owns that loop only: the
protocol lives in the session, what to answer in the subclass.

The idle wait of a `TransportStream` (whose close() wakes its reader) costs no timer: the
registry of idle connections records each one's deadline, and one sweeper task per app closes
those past it, waking at a tenth of the timeout (10 ms to 1 s). Other streams wait under a
`pingora_timeout.timeout`.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from pingora_core.apps.base import ServerApp
from pingora_core.errors import Error
from pingora_core.protocols.http.v1.server import HttpSession
from pingora_core.protocols.http.v1.settings import H1ServerSettings
from pingora_core.protocols.l4._transport import TransportStream
from pingora_timeout import Elapsed, timeout

if TYPE_CHECKING:
    from pingora_core.protocols.l4.stream import Stream
    from pingora_core.server.shutdown import ShutdownWatch

__all__ = ["DEFAULT_KEEPALIVE_TIMEOUT", "HttpServerApp"]

log = logging.getLogger("pingora_core.apps")

#: How long an idle keep-alive connection may wait for its next request (Pingora's 60 s).
DEFAULT_KEEPALIVE_TIMEOUT: Final = 60.0
_READ_SIZE: Final = 65536
_NO_DEADLINE: Final = math.inf


def _sweep_interval(wait: float) -> float:
    # How often idle deadlines are checked: a tenth of the timeout, within 10 ms .. 1 s.
    return min(max(wait / 10, 0.01), 1.0)


class HttpServerApp(ServerApp):
    """An HTTP/1.1 application: implement `process_new_http`.

    `process_new_http(session, shutdown)` gets a fresh `HttpSession` whose request head is not
    read yet. Read it, answer, and return `await session.finish()` (the stream, when it may be
    reused for the next request) or None to close the connection.

    `keepalive_timeout` (seconds, None for no limit) bounds the wait for each request's first
    byte, the first request included. `h1_settings` (an `H1ServerSettings`, None for the
    defaults) configures every session: timeouts, limits, codec backend. `http_cleanup()` runs
    once when the service stops.
    """

    keepalive_timeout: float | None = DEFAULT_KEEPALIVE_TIMEOUT
    h1_settings: H1ServerSettings | None = None

    # Made on first use, so subclasses need not call __init__. `_idle` maps each idle
    # connection to its shutdown watch and the loop time its wait ends (inf: no sweeping).
    _idle: dict[Stream, tuple[ShutdownWatch, float]]
    _watchers: dict[ShutdownWatch, asyncio.Task[None]]
    _sweeper: asyncio.Task[None] | None
    _swept: int  # connections whose idle waits the sweeper watches

    @abc.abstractmethod
    async def process_new_http(
        self, session: HttpSession, shutdown: ShutdownWatch
    ) -> Stream | None:
        """Serve one request; return the stream for reuse (`session.finish()`) or None."""

    async def http_cleanup(self) -> None:
        """Called once when the service stops; the default does nothing."""

    # -- ServerApp ---------------------------------------------------------------------------------

    async def process_new(self, stream: Stream, shutdown: ShutdownWatch) -> Stream | None:
        """Serve requests on `stream` until it is not reusable, idle too long, or shut down."""
        state = self.__dict__
        if "_idle" not in state:
            state["_idle"] = {}
            state["_watchers"] = {}
            state["_sweeper"] = None
            state["_swept"] = 0
        if shutdown not in self._watchers:
            self._watch(shutdown)
        process = self.process_new_http
        idle = self._idle
        wait = self.keepalive_timeout
        settings = self.h1_settings
        # `now` (the loop's clock) while the sweeper watches this connection's idle waits
        now: Callable[[], float] | None = None
        if wait is not None and stream.__class__ is TransportStream:
            loop = asyncio.get_running_loop()
            now = loop.time
            self._swept += 1
            sweeper = self._sweeper
            if sweeper is None or sweeper.done():
                self._sweeper = loop.create_task(self._sweep_idle(), name="idle keep-alive sweeper")
        counted = now is not None
        span = 0.0 if wait is None else wait
        try:
            while not shutdown.is_shutting_down:
                # Wait for the next request's first bytes as an idle connection.
                try:
                    if now is not None:
                        idle[stream] = (shutdown, now() + span)
                        data = await stream.read(_READ_SIZE)  # the sweeper closes it when late
                    else:
                        idle[stream] = (shutdown, _NO_DEADLINE)
                        data = await (
                            stream.read(_READ_SIZE)
                            if wait is None
                            else timeout(wait, stream.read(_READ_SIZE))
                        )
                except (Error, Elapsed):
                    return None
                finally:
                    del idle[stream]
                if not data:
                    return None
                # read_request starts from these bytes, without a read
                session = HttpSession._starting_with(stream, data, settings)
                reused = await process(session, shutdown)
                if reused is None:
                    return None
                if reused is not stream:
                    stream = reused
                    if stream.__class__ is not TransportStream:
                        now = None  # a stream the sweeper cannot wake: back to timeouts
            return None
        finally:
            if counted:
                self._swept -= 1

    async def cleanup(self) -> None:
        registry: dict[ShutdownWatch, asyncio.Task[None]] = self.__dict__.get("_watchers", {})
        watchers = list(registry.values())
        registry.clear()
        sweeper = self.__dict__.get("_sweeper")
        if sweeper is not None:
            self._sweeper = None
            watchers.append(sweeper)
        for task in watchers:
            task.cancel()
        if watchers:
            await asyncio.wait(watchers, timeout=1.0)
        await self.http_cleanup()

    # -- closing idle connections at shutdown ------------------------------------------------------

    def _watch(self, shutdown: ShutdownWatch) -> None:
        task = asyncio.get_running_loop().create_task(
            self._close_idle_on_shutdown(shutdown), name="close idle keep-alive connections"
        )
        self._watchers[shutdown] = task

    async def _close_idle_on_shutdown(self, shutdown: ShutdownWatch) -> None:
        await shutdown.wait()
        idle = [stream for stream, (watch, _) in self._idle.items() if watch is shutdown]
        if idle:
            log.debug("shutdown: closing %d idle keep-alive connection(s)", len(idle))
        for stream in idle:
            with contextlib.suppress(Exception):
                await stream.close()

    async def _sweep_idle(self) -> None:
        # Close the swept connections idle past their deadline; end when none is left.
        loop = asyncio.get_running_loop()
        idle = self._idle
        while self._swept:
            wait = self.keepalive_timeout
            await asyncio.sleep(_sweep_interval(1.0 if wait is None else wait))
            now = loop.time()
            late = [stream for stream, (_, deadline) in idle.items() if deadline <= now]
            for stream in late:
                with contextlib.suppress(Exception):
                    await stream.close()

    @property
    def idle_connections(self) -> int:
        """How many connections are waiting for their next request right now."""
        return len(self.__dict__.get("_idle", ()))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(keepalive_timeout={self.keepalive_timeout}, "
            f"idle_connections={self.idle_connections})"
        )
