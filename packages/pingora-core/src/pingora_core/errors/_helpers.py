"""Pingora's `OrErr` / `Context` / `OkOrErr` helpers, as context managers and one function.

Each context manager turns an exception raised inside its block into an `Error` (the original
is kept as the cause, or only as `__cause__` for `explain_err`). Only `Exception`s are wrapped:
cancellation, KeyboardInterrupt and SystemExit pass through untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from types import TracebackType
from typing import TypeVar

from pingora_core.errors._error import Error
from pingora_core.errors._types import ErrorType

__all__ = ["err_context", "explain_err", "ok_or_err", "or_err", "or_err_with", "or_fail"]

T = TypeVar("T")


class _Wrap:
    """Re-raise an Exception leaving the block as the Error that `make` builds from it."""

    __slots__ = ("_make", "_only_errors")

    def __init__(self, make: Callable[[Exception], Error], *, only_errors: bool = False) -> None:
        self._make = make
        self._only_errors = only_errors

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not isinstance(exc, Exception):
            return
        if self._only_errors and not isinstance(exc, Error):
            return
        raise self._make(exc) from exc

    def __repr__(self) -> str:
        return f"<{type(self).__name__} make={self._make!r}>"


def _check_etype(etype: object) -> ErrorType:
    if not isinstance(etype, ErrorType):
        raise TypeError(f"etype must be an ErrorType, got {type(etype).__name__}")
    return etype


def _check_text(context: object) -> str:
    if not isinstance(context, str):
        raise TypeError(f"context must be a str, got {type(context).__name__}")
    return context


def _check_callable(fn: object) -> None:
    if not callable(fn):
        raise TypeError(f"expected a callable, got {type(fn).__name__}")


def or_err(etype: ErrorType, context: str) -> AbstractContextManager[None]:
    """`with or_err(t, "ctx"):` raises `Error.because(t, "ctx", exc)` for any exception inside."""
    _check_etype(etype)
    _check_text(context)
    return _Wrap(lambda exc: Error.because(etype, context, exc))


def or_err_with(etype: ErrorType, context: Callable[[], str]) -> AbstractContextManager[None]:
    """As `or_err`, with the context built only when an exception happens."""
    _check_etype(etype)
    _check_callable(context)
    return _Wrap(lambda exc: Error.because(etype, _check_text(context()), exc))


def explain_err(
    etype: ErrorType, explain: Callable[[Exception], str]
) -> AbstractContextManager[None]:
    """Replace any exception inside with `Error.explain(t, explain(exc))`: no cause in the chain."""
    _check_etype(etype)
    _check_callable(explain)
    return _Wrap(lambda exc: Error.explain(etype, _check_text(explain(exc))))


def or_fail() -> AbstractContextManager[None]:
    """Surface any exception inside as an InternalError with an empty context, wrapping it."""
    return _Wrap(lambda exc: Error.because(ErrorType.InternalError, "", exc))


def err_context(context: str) -> AbstractContextManager[None]:
    """Add context to an `Error` leaving the block (`more_context`); other exceptions pass."""
    _check_text(context)

    def make(exc: Exception) -> Error:
        assert isinstance(exc, Error)
        return exc.more_context(context)

    return _Wrap(make, only_errors=True)


def ok_or_err(value: T | None, etype: ErrorType, context: str) -> T:
    """`value` when it is not None, else raise `Error.explain(etype, context)`."""
    if value is None:
        raise Error.explain(_check_etype(etype), _check_text(context))
    return value
