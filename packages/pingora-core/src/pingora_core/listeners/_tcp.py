"""`TcpListener`: binds "ip:port" / "[v6]:port" with `TcpSocketOptions` and prepares every
accepted connection (TCP_NODELAY, keepalive, DSCP).

Binding only; the accept loop is the base class's.
"""

from __future__ import annotations

import errno
import socket
from typing import Any, Final

from pingora_core.errors import Error, ErrorSource, ErrorType
from pingora_core.listeners._listener import LISTENER_BACKLOG, Listener
from pingora_core.protocols.l4._sockopt import (
    TcpSocketOptions,
    apply_connected_options,
    apply_listener_options,
    parse_inet_address,
)

__all__ = ["TcpListener", "bind_error"]

_REASONS: Final = {
    errno.EADDRINUSE: "address already in use",
    errno.EADDRNOTAVAIL: "address not available on this host",
    errno.EACCES: "permission denied",
}


def bind_error(address: str, exc: BaseException, what: str = "bind() failed") -> Error:
    """A BindError whose context names the address and the reason."""
    reason = _REASONS.get(getattr(exc, "errno", None) or -1)
    if reason is None:
        strerror = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        reason = f"{what}: {strerror}"
    context = f"{address}: {reason}"
    return Error(ErrorType.BindError, ErrorSource.INTERNAL, context=context, cause=exc)


class TcpListener(Listener):
    """Listens on "ip:port" or "[v6]:port" (port 0 picks a free one; see `bound_address`)."""

    def __init__(self, address: str, options: TcpSocketOptions | None = None) -> None:
        self._host, self._port = parse_inet_address(address, what="listen address")
        if options is not None and not isinstance(options, TcpSocketOptions):
            raise TypeError(f"options must be TcpSocketOptions, got {type(options).__name__}")
        super().__init__(address)
        self.options = options

    @classmethod
    def from_fd(
        cls, address: str, fd: int, options: TcpSocketOptions | None = None
    ) -> TcpListener:
        """A bound listener around an already listening socket (one handed over by another
        process); takes ownership of `fd`."""
        listener = cls(address, options)
        try:
            sock = socket.socket(fileno=fd)
            sock.listen(LISTENER_BACKLOG)  # Linux updates the backlog of a listening socket
        except OSError as exc:
            raise bind_error(address, exc, "cannot use the inherited socket") from exc
        listener._adopt(sock)
        return listener

    async def bind(self) -> None:
        if self.is_bound:
            return
        family, sockaddr = self._sockaddr()
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if self.options is not None:
                apply_listener_options(sock, self.options)
            sock.bind(sockaddr)
            sock.listen(LISTENER_BACKLOG)
        except OSError as exc:
            sock.close()
            raise bind_error(self.address, exc) from exc
        self._adopt(sock)

    def _sockaddr(self) -> tuple[int, tuple[Any, ...]]:
        flags = socket.AI_PASSIVE | socket.AI_NUMERICSERV
        try:
            infos = socket.getaddrinfo(
                self._host, self._port, type=socket.SOCK_STREAM, flags=flags
            )
        except OSError as exc:
            raise bind_error(self.address, exc, "cannot resolve the address") from exc
        family, _, _, _, sockaddr = infos[0]
        return family, sockaddr

    def _prepare(self, conn: socket.socket) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.options is not None:
            apply_connected_options(conn, self.options, client=False)

