"""The I/O boundary: turn OS, TLS, HTTP-parser and header exceptions into `Error`s.

Every place that does I/O or parsing wraps it in `map_exceptions(phase, esource)` (or calls
`map_exception`) so that no foreign exception leaks past it. The optional libraries (pyOpenSSL, h11,
h2, anyio, pingora_http) are never imported here: an exception of theirs can only exist once its
module is loaded, so their classes are looked up in `sys.modules` when an exception is mapped.
"""

from __future__ import annotations

import enum
import errno
import ssl
import sys
from types import TracebackType
from typing import Final

from pingora_core.errors._error import Error
from pingora_core.errors._types import ErrorSource, ErrorType

__all__ = ["Phase", "map_exception", "map_exceptions"]


class Phase(enum.Enum):
    """What the code was doing when the exception happened; decides timeouts and I/O failures."""

    CONNECT = "connect"
    TLS_HANDSHAKE = "tls_handshake"
    READ = "read"
    WRITE = "write"
    ACCEPT = "accept"
    BIND = "bind"
    OTHER = "other"


_ET = ErrorType
_READ_WRITE: Final = {Phase.READ: _ET.ReadError, Phase.WRITE: _ET.WriteError}

# TimeoutError, by phase.
_TIMEOUT: Final = {
    Phase.CONNECT: _ET.ConnectTimedout,
    Phase.TLS_HANDSHAKE: _ET.TLSHandshakeTimedout,
    Phase.READ: _ET.ReadTimedout,
    Phase.WRITE: _ET.WriteTimedout,
    Phase.ACCEPT: _ET.AcceptError,
    Phase.BIND: _ET.BindError,
    Phase.OTHER: _ET.UnknownError,
}
# Any other OSError, by phase.
_OS_ERROR: Final = {
    Phase.CONNECT: _ET.ConnectError,
    Phase.TLS_HANDSHAKE: _ET.TLSHandshakeFailure,
    Phase.READ: _ET.ReadError,
    Phase.WRITE: _ET.WriteError,
    Phase.ACCEPT: _ET.AcceptError,
    Phase.BIND: _ET.BindError,
    Phase.OTHER: _ET.UnknownError,
}
_NO_ROUTE: Final = frozenset(
    {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN, errno.EHOSTDOWN}
)
_RESET: Final = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)

# h11 messages (lower-cased prefixes) that are about a header rather than the message framing.
_H11_HEADER_MESSAGES: Final = (
    "illegal header name",
    "illegal header value",
    "illegal header line",
    "continuation line at start of headers",
    "missing mandatory host: header",
    "found multiple host: headers",
    "conflicting content-length headers",
    "bad content-length",
    "multiple transfer-encoding headers",
    "only transfer-encoding: chunked is supported",
)
_H11_TOO_LARGE: Final = 431  # h11's status hint when the header block outgrows its buffer
_OPENSSL_EOF: Final = -1  # pyOpenSSL SysCallError code for an unexpected EOF


def _loaded(module: str, *names: str) -> tuple[type[BaseException], ...]:
    """The named exception classes of `module` if it is imported, else nothing."""
    found = sys.modules.get(module)
    if found is None:
        return ()
    classes: list[type[BaseException]] = []
    for name in names:
        cls = getattr(found, name, None)
        if isinstance(cls, type) and issubclass(cls, BaseException):
            classes.append(cls)
    return tuple(classes)


def _tls(phase: Phase, *, bad_cert: bool, closed: bool) -> ErrorType:
    if bad_cert:
        return _ET.InvalidCert
    if phase in _READ_WRITE:
        return _ET.ConnectionClosed if closed else _READ_WRITE[phase]
    return _ET.TLSHandshakeFailure


def _tls_etype(exc: BaseException, phase: Phase) -> ErrorType | None:
    if isinstance(exc, ssl.SSLError):
        return _tls(
            phase,
            bad_cert=isinstance(exc, ssl.SSLCertVerificationError),
            closed=isinstance(exc, ssl.SSLZeroReturnError | ssl.SSLEOFError),
        )
    openssl = _loaded("OpenSSL.SSL", "Error", "ZeroReturnError", "SysCallError")
    if len(openssl) == 3 and isinstance(exc, openssl[0]):
        eof = isinstance(exc, openssl[2]) and bool(exc.args) and exc.args[0] == _OPENSSL_EOF
        closed = isinstance(exc, openssl[1]) or eof
        return _tls(phase, bad_cert="certificate verify failed" in str(exc), closed=closed)
    return None


def _wrapped_os_etype(exc: OSError, phase: Phase) -> ErrorType | None:
    """The type of the OSError(s) behind a bare `OSError("...") from cause`, as anyio's
    connect_tcp raises ("All connection attempts failed"); None if they disagree."""
    inner = exc.__cause__
    if isinstance(inner, OSError):
        return _os_etype(inner, phase, unwrap=False)
    if isinstance(inner, BaseExceptionGroup) and inner.exceptions:
        kinds = {_os_etype(member, phase, unwrap=False) for member in inner.exceptions}
        if len(kinds) == 1:
            return kinds.pop()
    return None


def _os_etype(exc: BaseException, phase: Phase, *, unwrap: bool = True) -> ErrorType | None:
    if unwrap and type(exc) is OSError and exc.errno is None and exc.__cause__ is not None:
        wrapped = _wrapped_os_etype(exc, phase)
        if wrapped is not None:
            return wrapped
    if isinstance(exc, TimeoutError):
        return _TIMEOUT[phase]
    if isinstance(exc, ConnectionRefusedError):
        return _ET.ConnectRefused
    if isinstance(exc, OSError) and exc.errno in _NO_ROUTE:
        return _ET.ConnectNoRoute
    if isinstance(exc, _RESET + _loaded("anyio", "BrokenResourceError")):
        return _READ_WRITE.get(phase, _ET.ConnectionClosed)
    if isinstance(exc, EOFError):
        return _ET.ConnectionClosed
    if isinstance(exc, OSError):
        return _OS_ERROR[phase]
    if isinstance(exc, _loaded("anyio", "EndOfStream", "IncompleteRead", "ClosedResourceError")):
        return _ET.ConnectionClosed
    return None


def _h11_etype(exc: BaseException) -> ErrorType:
    if getattr(exc, "error_status_hint", None) == _H11_TOO_LARGE:
        return _ET.InvalidHTTPHeader
    text = str(exc).lower()
    if text.startswith(_H11_HEADER_MESSAGES):
        return _ET.InvalidHTTPHeader
    return _ET.H1Error


def _is_invalid_header(exc: BaseException) -> bool:
    """pingora_http's InvalidHeaderError (a ValueError), by class or, failing that, by name."""
    if not isinstance(exc, ValueError):
        return False
    if isinstance(exc, _loaded("pingora_http", "InvalidHeaderError")):
        return True
    return any(
        cls.__name__ == "InvalidHeaderError" and cls.__module__.split(".")[0] == "pingora_http"
        for cls in type(exc).__mro__
    )


def _protocol_etype(exc: BaseException) -> ErrorType | None:
    if isinstance(exc, _loaded("h11", "ProtocolError")):
        return _h11_etype(exc)
    invalid_frames = _loaded(
        "h2.exceptions", "FrameTooLargeError", "FrameDataMissingError", "UnsupportedFrameError"
    ) + _loaded("hyperframe.exceptions", "HyperframeError")
    if isinstance(exc, invalid_frames):
        return _ET.InvalidH2
    if isinstance(exc, _loaded("h2.exceptions", "H2Error")):
        return _ET.H2Error
    if _is_invalid_header(exc):
        return _ET.InvalidHTTPHeader
    return None


def classify(exc: BaseException, phase: Phase) -> ErrorType:
    """The ErrorType for a foreign exception raised during `phase`."""
    return (
        _tls_etype(exc, phase)
        or _os_etype(exc, phase)
        or _protocol_etype(exc)
        or _ET.UnknownError
    )


def map_exception(
    exc: BaseException,
    phase: Phase = Phase.OTHER,
    esource: ErrorSource = ErrorSource.UNSET,
    context: str | None = None,
) -> Error:
    """`exc` as an `Error` caused by it; an `Error` is returned unchanged.

    TimeoutError and other OS errors are typed by `phase`; see the package README for the table.
    """
    if not isinstance(exc, BaseException):
        raise TypeError(f"exc must be an exception, got {type(exc).__name__}")
    if not isinstance(phase, Phase):
        raise TypeError(f"phase must be a Phase, got {type(phase).__name__}")
    if isinstance(exc, Error):
        return exc
    return Error(classify(exc, phase), esource, context=context, cause=exc)


class _MapExceptions:
    """The context manager behind `map_exceptions`."""

    __slots__ = ("_context", "_esource", "_phase")

    def __init__(self, phase: Phase, esource: ErrorSource, context: str | None) -> None:
        self._phase = phase
        self._esource = esource
        self._context = context

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None or isinstance(exc, Error) or not isinstance(exc, Exception):
            return
        raise map_exception(exc, self._phase, self._esource, self._context) from exc

    def __repr__(self) -> str:
        return (
            f"map_exceptions(phase=Phase.{self._phase.name}, "
            f"esource=ErrorSource.{self._esource.name}, context={self._context!r})"
        )


def map_exceptions(
    phase: Phase, esource: ErrorSource = ErrorSource.UNSET, context: str | None = None
) -> _MapExceptions:
    """`with map_exceptions(Phase.READ, ErrorSource.UPSTREAM):` re-raises any non-Error exception
    of the block as `map_exception(exc, phase, esource, context)`. Errors, cancellation,
    KeyboardInterrupt and SystemExit pass through unchanged."""
    if not isinstance(phase, Phase):
        raise TypeError(f"phase must be a Phase, got {type(phase).__name__}")
    if not isinstance(esource, ErrorSource):
        raise TypeError(f"esource must be an ErrorSource, got {type(esource).__name__}")
    if context is not None and not isinstance(context, str):
        raise TypeError(f"context must be a str or None, got {type(context).__name__}")
    return _MapExceptions(phase, esource, context)
