"""ServerApp: the contract between a listening service and the code that handles a connection.

A listening `Service` hands every accepted `Stream` to `process_new` together with the server's
`ShutdownWatch`; the app returns the stream to have it handed back for another round (keep-alive)
or None when it is done, and the service closes it. This module holds only the interface.
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pingora_core.protocols.l4.stream import Stream
    from pingora_core.server.shutdown import ShutdownWatch

__all__ = ["ServerApp"]


class ServerApp(abc.ABC):
    """Handles raw L4 connections for a listening service.

    `process_new` handles one connection (or one request on it). Return the stream to have
    `process_new` called again with it, or None when done; the service closes the stream after.
    Check `shutdown.is_shutting_down` between requests: a stream handed back after graceful
    shutdown has started is closed by the service instead of being reused. `cleanup` runs once
    when the service stops.
    """

    @abc.abstractmethod
    async def process_new(self, stream: Stream, shutdown: ShutdownWatch) -> Stream | None:
        """Handle one connection; return it for reuse or None when finished."""

    async def cleanup(self) -> None:  # noqa: B027 - a no-op default hook, not an abstract method
        """Called once when the service shuts down; the default does nothing."""
