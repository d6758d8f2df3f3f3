"""The error model of pingora: every failure is an `Error` with a type, a source, a retry flag,
a context and a cause chain, and foreign exceptions are mapped into it at each I/O boundary."""

from pingora_core.errors._error import Error
from pingora_core.errors._helpers import (
    err_context,
    explain_err,
    ok_or_err,
    or_err,
    or_err_with,
    or_fail,
)
from pingora_core.errors._mapping import Phase, map_exception, map_exceptions
from pingora_core.errors._types import ErrorSource, ErrorType, RetryType

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
