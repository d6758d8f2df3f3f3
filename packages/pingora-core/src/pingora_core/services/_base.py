"""What the server needs from a service: `ServiceBase`, and what it hands one when it starts.

`start_service(ctx)` runs for the life of the service. `ctx.shutdown` says when to stop,
`ctx.ready.notify_ready()` tells the services that depend on this one that they may start, and
`ctx.listeners` makes the listening sockets (the later zero-downtime upgrade gives it inherited
fds, so services must build their listeners through it). Nothing here runs anything.
"""

from __future__ import annotations

import abc
import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pingora_core.server.shutdown import ShutdownWatch

if TYPE_CHECKING:
    from pingora_core.listeners import Listener, TcpSocketOptions

__all__ = ["ListenerFactory", "ReadyNotifier", "ServiceBase", "ServiceContext"]


class ReadyNotifier:
    """Tells dependent services that this one is ready; only the first call counts.

    The server also marks a service ready when its `start_service` returns or fails, so a service
    that forgets to notify never blocks its dependents forever (Pingora does the same).
    """

    __slots__ = ("_event", "_name")

    def __init__(self, name: str = "") -> None:
        self._name = name
        self._event = asyncio.Event()

    def notify_ready(self) -> None:
        """Mark the service ready; later calls do nothing."""
        self._event.set()

    @property
    def is_ready(self) -> bool:
        return self._event.is_set()

    async def wait(self) -> None:
        """Return once the service is ready."""
        if not self._event.is_set():
            await self._event.wait()

    def __repr__(self) -> str:
        return f"ReadyNotifier(service={self._name!r}, is_ready={self.is_ready})"


class ListenerFactory:
    """Makes the listeners a service binds.

    Services ask it instead of building listeners themselves so that a server can later hand
    over sockets inherited from an older process (zero-downtime upgrade) by address.
    """

    __slots__ = ()

    def tcp(self, addr: str, options: TcpSocketOptions | None = None) -> Listener:
        """A TCP listener for "host:port" ("[::1]:port" for IPv6); port 0 picks a free port."""
        from pingora_core.listeners import TcpListener

        return TcpListener(addr, options)

    def uds(self, path: str, permissions: int = 0o666) -> Listener:
        """A Unix domain socket listener at `path`, made with these file permissions."""
        from pingora_core.listeners import UdsListener

        return UdsListener(path, permissions)

    def __repr__(self) -> str:
        return "ListenerFactory()"


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceContext:
    """What a service gets when the server starts it."""

    shutdown: ShutdownWatch
    ready: ReadyNotifier
    listeners: ListenerFactory


class ServiceBase(abc.ABC):
    """Anything the server can run: a listening `Service`, a background service, your own.

    `start_service` is called once, after the services this one depends on are ready, and should
    return once `ctx.shutdown` fires and its work is done. A graceful stop waits for it up to
    `grace_period_seconds` when `holds_connections` is true (in-flight requests), else up to
    `graceful_shutdown_timeout_seconds`; then it is cancelled, and given
    `graceful_shutdown_timeout_seconds` more to unwind. An exception raised before the service
    is ready stops the server (e.g. a port already in use); one raised later is logged.
    """

    #: True when stopping must wait for in-flight connections (the grace period applies).
    holds_connections: bool = False

    @property
    @abc.abstractmethod
    def name(self) -> str:
        """A human-readable name, for logs and errors."""

    @abc.abstractmethod
    async def start_service(self, ctx: ServiceContext) -> None:
        """Run until `ctx.shutdown` fires; call `ctx.ready.notify_ready()` once ready."""
