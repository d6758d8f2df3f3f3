"""Blame at the proxy's I/O boundaries: an `Error` raised by a downstream or an upstream
operation gets that side as its source when it has none yet, and any other exception a phase
raises becomes an internal `Error` carrying it as the cause. Helpers only, no I/O.
"""

from __future__ import annotations

from typing import Final

from pingora_core.errors import Error, ErrorSource, ErrorType, RetryType

__all__ = ["IO_ERRORS", "as_error", "blame_down", "blame_up", "retry_if_reused"]

_UNSET: Final = ErrorSource.UNSET
#: Error types that say a connection failed (rather than a rule or a bug).
IO_ERRORS: Final = frozenset(
    (
        ErrorType.ReadError,
        ErrorType.WriteError,
        ErrorType.ReadTimedout,
        ErrorType.WriteTimedout,
        ErrorType.ConnectionClosed,
    )
)
_STALE: Final = frozenset((ErrorType.WriteError, ErrorType.ConnectionClosed, ErrorType.ReadError))


def as_error(exc: BaseException) -> Error:
    """`exc` itself when it is an `Error`, else an internal error caused by it."""
    if isinstance(exc, Error):
        return exc
    return Error(
        ErrorType.InternalError,
        ErrorSource.INTERNAL,
        context=f"{type(exc).__name__}: {exc}",
        cause=exc,
    )


def blame_down(error: Error) -> Error:
    """Give an error from the client side its source (I/O: downstream; else internal)."""
    if error.esource is _UNSET:
        error.esource = ErrorSource.DOWNSTREAM if error.etype in IO_ERRORS else ErrorSource.INTERNAL
    return error


def blame_up(error: Error) -> Error:
    """Give an error from the upstream side its source (I/O: upstream; else internal)."""
    if error.esource is _UNSET:
        error.esource = ErrorSource.UPSTREAM if error.etype in IO_ERRORS else ErrorSource.INTERNAL
    return error


def retry_if_reused(error: Error, reused: bool) -> Error:
    """A failed write or a closed connection on a pooled connection is the classic stale
    keep-alive race: mark it retryable on a reused connection only (Pingora's rule)."""
    blame_up(error)
    if reused and error.etype in _STALE and error.retry is RetryType.FALSE:
        error.retry = RetryType.REUSED_ONLY
    return error
