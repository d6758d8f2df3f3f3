"""`UdsListener`: binds a unix socket path ("unix:/path" or a bare path), removing a stale socket
file first and applying the requested permissions.

Binding only; the accept loop is the base class's.
"""

from __future__ import annotations

import os
import socket
import stat

from pingora_core.errors import Error, ErrorSource, ErrorType
from pingora_core.listeners._listener import LISTENER_BACKLOG, Listener
from pingora_core.listeners._tcp import bind_error
from pingora_core.protocols.l4._sockopt import parse_uds_path

__all__ = ["UdsListener"]


class UdsListener(Listener):
    """Listens on a unix socket; the socket file gets `permissions` (default 0o666: everyone may
    connect). A socket file left behind by an earlier run is removed before binding; any other
    kind of file at the path is left alone and binding fails."""

    def __init__(self, path: str, permissions: int = 0o666) -> None:
        self.path = parse_uds_path(path, what="listen path")
        if isinstance(permissions, bool) or not isinstance(permissions, int):
            raise TypeError(f"permissions must be an int, got {type(permissions).__name__}")
        if not 0 <= permissions <= 0o7777:
            raise ValueError(f"permissions must be in 0..=0o7777, got {permissions:#o}")
        super().__init__(path)
        self.permissions = permissions

    @classmethod
    def from_fd(cls, path: str, fd: int, permissions: int = 0o666) -> UdsListener:
        """A bound listener around an already listening unix socket (one handed over by another
        process); takes ownership of `fd` and applies `permissions` again."""
        listener = cls(path, permissions)
        try:
            sock = socket.socket(fileno=fd)
            sock.listen(LISTENER_BACKLOG)
            os.chmod(listener.path, permissions)
        except OSError as exc:
            raise bind_error(listener.path, exc, "cannot use the inherited socket") from exc
        listener._adopt(sock)
        return listener

    async def bind(self) -> None:
        if self.is_bound:
            return
        path = self.path
        self._remove_stale(path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(path)
        except OSError as exc:
            sock.close()
            raise bind_error(path, exc) from exc
        try:
            os.chmod(path, self.permissions)
            sock.listen(LISTENER_BACKLOG)
        except OSError as exc:
            sock.close()
            raise bind_error(path, exc, "cannot set up the socket file") from exc
        self._adopt(sock)

    def _prepare(self, conn: socket.socket) -> None:
        pass  # nothing to set on a unix socket connection

    @staticmethod
    def _remove_stale(path: str) -> None:
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            return
        except OSError as exc:
            raise bind_error(path, exc, "cannot inspect the path") from exc
        if not stat.S_ISSOCK(mode):
            raise Error(
                ErrorType.BindError,
                ErrorSource.INTERNAL,
                context=f"{path}: exists and is not a socket; refusing to remove it",
            )
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise bind_error(path, exc, "cannot remove the stale socket file") from exc
