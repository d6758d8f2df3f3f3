"""How L4 failures become `Error`s, through the errors package's I/O boundary mapping: connect
errors (refused, timed out, no route), read and write failures by the direction they happened
in, and use after close as ConnectionClosed.

Builders only: nothing here touches a socket.
"""

from __future__ import annotations

from pingora_core.errors import Error, ErrorSource, ErrorType, Phase, map_exception

__all__ = ["closed_error", "connect_error", "read_error", "write_error"]

_CLOSED = (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)


def connect_error(exc: BaseException, context: str, esource: ErrorSource) -> Error:
    """A failed connect(): ConnectRefused, ConnectTimedout, ConnectNoRoute or ConnectError.

    Nothing was sent on a connection that never opened, so a mapped error is marked retryable.
    """
    if isinstance(exc, Error):
        return exc
    error = map_exception(exc, Phase.CONNECT, esource, context)
    error.set_retry(True)
    return error


def read_error(exc: BaseException, esource: ErrorSource) -> Error:
    """The connection failed while reading: reset by the peer or another socket error."""
    context = "connection reset by peer" if isinstance(exc, _CLOSED) else "read failed"
    return map_exception(exc, Phase.READ, esource, context)


def write_error(exc: BaseException, esource: ErrorSource) -> Error:
    """The connection failed while writing: broken pipe, reset or another socket error."""
    context = "connection closed by peer" if isinstance(exc, _CLOSED) else "write failed"
    return map_exception(exc, Phase.WRITE, esource, context)


def closed_error(what: str, esource: ErrorSource) -> Error:
    """Use of a stream that is already closed."""
    return Error(ErrorType.ConnectionClosed, esource, context=what)
