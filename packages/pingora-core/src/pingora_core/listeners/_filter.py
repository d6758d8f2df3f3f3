"""`ConnectionFilter`: the decision, right after accept() and before anything else (TLS, the
handler), whether a new connection is served or closed at once."""

from __future__ import annotations

import abc

__all__ = ["AcceptAllFilter", "ConnectionFilter"]


class ConnectionFilter(abc.ABC):
    """Decides per peer address whether an accepted connection is served.

    Runs for every accepted connection, so keep it cheap (precomputed sets, not lookups).
    A refused connection is closed without costing anything else; a filter that raises refuses.
    """

    @abc.abstractmethod
    async def should_accept(self, addr: str | None) -> bool:
        """True to serve the peer at `addr` ("ip:port", "[v6]:port"; None when the peer has no
        address, as on a unix socket); False to close the connection at once."""


class AcceptAllFilter(ConnectionFilter):
    """Accepts every connection (the behaviour without a filter)."""

    async def should_accept(self, addr: str | None) -> bool:
        return True

    def __repr__(self) -> str:
        return "AcceptAllFilter()"
