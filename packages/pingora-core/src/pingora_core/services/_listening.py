"""The listening `Service`: binds endpoints and runs a `ServerApp` on every accepted stream.

Each accepted stream goes to `app.process_new(stream, shutdown)` in a loop while the app hands it
back (keep-alive), then is closed. Live connections are tracked so a graceful stop can wait for
them; when the server gives up (cancels the service) they are aborted. This module owns the
accept-to-close life of a connection, not the protocol spoken on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from pingora_core.apps.base import ServerApp
from pingora_core.errors import Error, ErrorSource, ErrorType
from pingora_core.services._base import ServiceBase, ServiceContext

if TYPE_CHECKING:
    from pingora_core.listeners import ConnectionFilter, Listener, TcpSocketOptions
    from pingora_core.protocols.l4.stream import Stream
    from pingora_core.server.shutdown import ShutdownWatch

__all__ = ["Service"]

log = logging.getLogger("pingora_core.services")

#: After the server cancels a service: how long aborted connections get to unwind.
ABORT_WAIT_SECONDS: Final = 1.0
#: How long `app.cleanup()` and closing one stream may take before we move on.
CLEANUP_TIMEOUT_SECONDS: Final = 5.0


@dataclass(frozen=True, slots=True, kw_only=True)
class _Endpoint:
    kind: str  # "tcp" or "uds"
    address: str
    options: TcpSocketOptions | None = None
    permissions: int = 0o666


class Service(ServiceBase):
    """A service listening on TCP and Unix-socket endpoints, serving each connection with `app`.

    Add endpoints before the server starts: `add_tcp("127.0.0.1:8080")`,
    `add_tcp_with_settings(addr, TcpSocketOptions(...))`, `add_uds(path, permissions=0o666)`.
    After it is ready, `bound_addresses()` gives the real addresses (port 0 becomes the port
    picked). It is ready once every endpoint is bound; a bind failure (address in use) stops
    the server with a clear error.
    """

    holds_connections = True

    def __init__(self, name: str, app: ServerApp) -> None:
        if not isinstance(name, str) or not name:
            raise TypeError(f"a service name must be a non-empty str, got {name!r}")
        if not isinstance(app, ServerApp):
            raise TypeError(f"Service needs a ServerApp, got {type(app).__name__}")
        self._name = name
        self._app = app
        self._endpoints: list[_Endpoint] = []
        self._listeners: list[Listener] = []
        self._bound: list[str] = []
        self._live: dict[Stream, asyncio.Task[None] | None] = {}
        self._drained = asyncio.Event()
        self._drained.set()
        self._started = False
        self.connection_filter: ConnectionFilter | None = None

    # -- configuration -----------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._name

    @property
    def app(self) -> ServerApp:
        """The application serving this service's connections."""
        return self._app

    def add_tcp(self, addr: str) -> None:
        """Listen on TCP `addr` ("127.0.0.1:8080", "[::1]:8080", "0.0.0.0:0")."""
        self._add(_Endpoint(kind="tcp", address=_check_addr(addr)))

    def add_tcp_with_settings(self, addr: str, options: TcpSocketOptions) -> None:
        """Listen on TCP `addr` with these socket options."""
        self._add(_Endpoint(kind="tcp", address=_check_addr(addr), options=options))

    def add_uds(self, path: str, permissions: int = 0o666) -> None:
        """Listen on a Unix domain socket at `path`, created with `permissions`."""
        if isinstance(permissions, bool) or not isinstance(permissions, int):
            raise TypeError(f"permissions must be an int such as 0o666, got {permissions!r}")
        if not 0 <= permissions <= 0o7777:
            raise ValueError(f"permissions must be within 0o0..0o7777, got {oct(permissions)}")
        self._add(_Endpoint(kind="uds", address=_check_addr(path), permissions=permissions))

    def set_connection_filter(self, connection_filter: ConnectionFilter | None) -> None:
        """Decide per peer address whether to accept a connection (runs before the app)."""
        self.connection_filter = connection_filter

    def _add(self, endpoint: _Endpoint) -> None:
        if self._started:
            raise RuntimeError(f"service {self._name!r} already started: add endpoints before")
        self._endpoints.append(endpoint)

    @property
    def endpoints(self) -> tuple[str, ...]:
        """The addresses as given."""
        return tuple(e.address for e in self._endpoints)

    def bound_addresses(self) -> list[str]:
        """The real listening addresses once bound ("127.0.0.1:41234", "unix:/path").

        They stay listed after the service stops, for logs and tests.
        """
        return list(self._bound)

    @property
    def live_connections(self) -> int:
        """How many connections are being served right now."""
        return len(self._live)

    # -- running -----------------------------------------------------------------------------------

    async def start_service(self, ctx: ServiceContext) -> None:
        if self._started:
            raise RuntimeError(f"service {self._name!r} can only be started once")
        self._started = True
        if not self._endpoints:
            raise Error(
                ErrorType.BindError,
                ErrorSource.INTERNAL,
                context=f"service {self._name!r} has no endpoints: call add_tcp or add_uds",
            )
        try:
            await self._bind_all(ctx)
            ctx.ready.notify_ready()
            await self._serve(ctx.shutdown)
        except asyncio.CancelledError:
            await self._abort_all()
            raise
        finally:
            self._close_listeners()
            await self._cleanup()

    async def _bind_all(self, ctx: ServiceContext) -> None:
        for endpoint in self._endpoints:
            if endpoint.kind == "tcp":
                listener = ctx.listeners.tcp(endpoint.address, endpoint.options)
            else:
                listener = ctx.listeners.uds(endpoint.address, endpoint.permissions)
            await listener.bind()
            self._listeners.append(listener)
            self._bound.append(listener.bound_address)
            log.info("service %r listening on %s", self._name, listener.bound_address)

    async def _serve(self, shutdown: ShutdownWatch) -> None:
        handler = self._handler(shutdown)
        serving: list[asyncio.Task[None]] = []
        for listener in [] if shutdown.is_shutting_down else self._listeners:
            task = asyncio.create_task(
                listener.serve(handler, self.connection_filter),
                name=f"{self._name} accept {listener.bound_address}",
            )
            task.add_done_callback(self._log_accept_failure)
            serving.append(task)
        # At shutdown, close the listening sockets at once (new connections are refused);
        # connections already accepted carry on until they finish.
        unsubscribe = shutdown.on_shutdown(self._close_listeners)
        try:
            await shutdown.wait()
            await self._drained.wait()
            await asyncio.wait(serving, timeout=ABORT_WAIT_SECONDS)
        finally:
            unsubscribe()
            for task in serving:
                task.cancel()
            await asyncio.wait(serving, timeout=ABORT_WAIT_SECONDS)

    def _close_listeners(self) -> None:
        for listener in self._listeners:
            listener.close()

    def _log_accept_failure(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("service %r: accept loop failed: %s", self._name, task.exception())

    def _handler(self, shutdown: ShutdownWatch) -> Callable[[Stream], Awaitable[None]]:
        async def handle(stream: Stream) -> None:
            await self._handle(stream, shutdown)

        return handle

    async def _handle(self, stream: Stream, shutdown: ShutdownWatch) -> None:
        self._live[stream] = asyncio.current_task()
        self._drained.clear()
        current = stream
        try:
            while True:
                reused = await self._app.process_new(current, shutdown)
                if reused is None:
                    break
                current = reused
                if shutdown.is_shutting_down:
                    break  # idle between requests: close instead of reusing
        except asyncio.CancelledError:
            raise
        except Error as exc:
            log.debug("service %r: connection %s ended: %s", self._name, _peer(stream), exc)
        except Exception:
            log.exception("service %r: app failed on connection %s", self._name, _peer(stream))
        finally:
            await _close_quietly(current)
            if current is not stream:
                await _close_quietly(stream)
            self._live.pop(stream, None)
            if not self._live:
                self._drained.set()

    async def _abort_all(self) -> None:
        tasks = []
        for stream, task in list(self._live.items()):
            with contextlib.suppress(Exception):
                stream.abort()
            if task is not None and not task.done():
                task.cancel()
                tasks.append(task)
        if tasks:
            await asyncio.wait(tasks, timeout=ABORT_WAIT_SECONDS)

    async def _cleanup(self) -> None:
        try:
            await asyncio.wait_for(self._app.cleanup(), CLEANUP_TIMEOUT_SECONDS)
        except TimeoutError:
            log.warning("service %r: app cleanup timed out", self._name)
        except Exception as exc:
            log.warning("service %r: app cleanup failed: %s", self._name, exc)

    def __repr__(self) -> str:
        return (
            f"Service(name={self._name!r}, app={type(self._app).__name__}, "
            f"endpoints={list(self.endpoints)}, live_connections={len(self._live)})"
        )


def _peer(stream: Stream) -> str | None:
    digest = getattr(stream, "digest", None)
    return digest.peer_addr if digest is not None else None


def _check_addr(addr: object) -> str:
    if not isinstance(addr, str) or not addr:
        raise TypeError(f"an endpoint address must be a non-empty str, got {addr!r}")
    return addr


async def _close_quietly(stream: Stream) -> None:
    try:
        await asyncio.wait_for(stream.close(), CLEANUP_TIMEOUT_SECONDS)
    except (Exception, TimeoutError):
        with contextlib.suppress(Exception):
            stream.abort()
