"""pingora_core: the engine of pingora — errors now; server, services, listeners, protocols,
connectors and the connection pool as they land. For now only the error model is public."""

from pingora_core.errors import (
    Error,
    ErrorSource,
    ErrorType,
    Phase,
    RetryType,
    err_context,
    explain_err,
    map_exception,
    map_exceptions,
    ok_or_err,
    or_err,
    or_err_with,
    or_fail,
)

__all__ = [
    "Error",
    "ErrorSource",
    "ErrorType",
    "Phase",
    "RetryType",
    "err_context",
    "explain_err",
    "map_exception",
    "map_exceptions",
    "ok_or_err",
    "or_err",
    "or_err_with",
    "or_fail",
]
