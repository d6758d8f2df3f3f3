"""`Error`: the one exception every failure in pingora becomes, with its cause chain.

Construction, the chain (display, root cause) and the Pingora-style setters live here. Turning a
foreign exception into an `Error` is the mapping module's job, not this one's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pingora_core.errors._types import ErrorSource, ErrorType, RetryType

if TYPE_CHECKING:
    from pingora_core.errors._mapping import Phase

__all__ = ["Error"]


def _check_etype(etype: object) -> ErrorType:
    if not isinstance(etype, ErrorType):
        raise TypeError(f"etype must be an ErrorType, got {type(etype).__name__}")
    return etype


def _check_esource(esource: object) -> ErrorSource:
    if not isinstance(esource, ErrorSource):
        raise TypeError(f"esource must be an ErrorSource, got {type(esource).__name__}")
    return esource


def _check_context(context: object) -> str | None:
    if context is not None and not isinstance(context, str):
        raise TypeError(f"context must be a str or None, got {type(context).__name__}")
    return context


def _check_text(context: object) -> str:
    if not isinstance(context, str):
        raise TypeError(f"context must be a str, got {type(context).__name__}")
    return context


def _as_retry(retry: object) -> RetryType:
    if isinstance(retry, RetryType):
        return retry
    if isinstance(retry, bool):
        return RetryType.from_bool(retry)
    raise TypeError(f"retry must be a RetryType or a bool, got {type(retry).__name__}")


def describe_foreign(exc: BaseException) -> str:
    """How a cause that is not an `Error` prints: its message, else its class name. Never raises."""
    try:
        text = str(exc)
    except Exception:
        text = ""
    return text if text else type(exc).__name__


class Error(Exception):
    """A failure with a type, a source (who is to blame), a retry flag, a cause and a context.

    `str()` prints the chain as Pingora does: each hop's source and type (left out when equal to
    the previous hop's), then ` context: ...`, then ` cause: ` and the cause.
    """

    _etype: ErrorType
    _esource: ErrorSource
    _retry: RetryType
    _cause: BaseException | None
    _context: str | None

    def __init__(
        self,
        etype: ErrorType,
        esource: ErrorSource = ErrorSource.UNSET,
        *,
        context: str | None = None,
        cause: BaseException | None = None,
        retry: RetryType | bool | None = None,
    ) -> None:
        super().__init__(_check_etype(etype))
        self._etype = etype
        self._esource = _check_esource(esource)
        self._context = _check_context(context)
        self._cause = None
        if cause is not None:  # a new error cannot be in its cause's chain: no loop check
            if not isinstance(cause, BaseException):
                raise TypeError(f"cause must be an exception, got {type(cause).__name__}")
            self._cause = cause
            self.__cause__ = cause
        if retry is not None:
            self._retry = _as_retry(retry)
        elif isinstance(cause, Error):
            self._retry = cause._retry
        else:
            self._retry = RetryType.FALSE

    # -- constructors, as Pingora's (they always build a plain Error) ---------------------------

    @staticmethod
    def new(etype: ErrorType) -> Error:
        """A new error of this type with no source set."""
        return Error(etype)

    @staticmethod
    def new_up(etype: ErrorType) -> Error:
        """A new error blamed on the upstream (the server we proxy to)."""
        return Error(etype, ErrorSource.UPSTREAM)

    @staticmethod
    def new_down(etype: ErrorType) -> Error:
        """A new error blamed on the downstream (the client)."""
        return Error(etype, ErrorSource.DOWNSTREAM)

    @staticmethod
    def new_in(etype: ErrorType) -> Error:
        """A new error blamed on our own logic."""
        return Error(etype, ErrorSource.INTERNAL)

    @staticmethod
    def new_str(name: str) -> Error:
        """A new error of the custom type `name`."""
        return Error(ErrorType.Custom(name))

    @staticmethod
    def explain(etype: ErrorType, context: str) -> Error:
        """A new error with a context but no cause."""
        return Error(etype, context=_check_text(context))

    @staticmethod
    def because(etype: ErrorType, context: str, cause: BaseException) -> Error:
        """A new error wrapping `cause`; inherits the cause's retry flag when it is an Error."""
        if not isinstance(cause, BaseException):
            raise TypeError(f"cause must be an exception, got {type(cause).__name__}")
        return Error(etype, context=_check_text(context), cause=cause)

    @staticmethod
    def from_exception(
        exc: BaseException,
        *,
        phase: Phase | None = None,
        esource: ErrorSource = ErrorSource.UNSET,
        context: str | None = None,
    ) -> Error:
        """Translate any exception with the I/O boundary mapping (see `map_exception`)."""
        from pingora_core.errors._mapping import Phase, map_exception

        return map_exception(exc, Phase.OTHER if phase is None else phase, esource, context)

    # -- the fields -----------------------------------------------------------------------------

    @property
    def etype(self) -> ErrorType:
        """What went wrong."""
        return self._etype

    @etype.setter
    def etype(self, etype: ErrorType) -> None:
        self._etype = _check_etype(etype)
        self.args = (etype,)

    @property
    def esource(self) -> ErrorSource:
        """Who is to blame."""
        return self._esource

    @esource.setter
    def esource(self, esource: ErrorSource) -> None:
        self._esource = _check_esource(esource)

    @property
    def retry(self) -> RetryType:
        """Whether the request may be retried; truthy when decided so (see RetryType)."""
        return self._retry

    @retry.setter
    def retry(self, retry: RetryType | bool) -> None:
        self._retry = _as_retry(retry)

    @property
    def context(self) -> str | None:
        """Free text saying what was being done when the error happened."""
        return self._context

    @context.setter
    def context(self, context: str | None) -> None:
        self._context = _check_context(context)

    @property
    def cause(self) -> BaseException | None:
        """The exception that caused this one, if any."""
        return self._cause

    @cause.setter
    def cause(self, cause: BaseException | None) -> None:
        if cause is None:
            self._cause = None
            self.__cause__ = None
        else:
            self.set_cause(cause)

    # -- Pingora's setters ----------------------------------------------------------------------

    def set_etype(self, etype: ErrorType) -> None:
        self.etype = etype

    def set_esource(self, esource: ErrorSource) -> None:
        self.esource = esource

    def set_retry(self, retry: bool) -> None:
        """Decide the retry flag."""
        self._retry = RetryType.from_bool(retry)

    def decide_reuse(self, reused: bool) -> None:
        """Settle a REUSED_ONLY retry flag: retry only if the connection was reused."""
        self._retry = self._retry.decide_reuse(reused)

    def set_context(self, context: str) -> None:
        self._context = _check_text(context)

    def set_cause(self, cause: BaseException) -> None:
        """Set the cause; refuses one that would make the chain a loop."""
        if not isinstance(cause, BaseException):
            raise TypeError(f"cause must be an exception, got {type(cause).__name__}")
        hop: BaseException | None = cause
        while isinstance(hop, Error):
            if hop is self:
                raise ValueError("this cause would make the error chain a loop")
            hop = hop._cause
        self._cause = cause
        self.__cause__ = cause

    def as_up(self) -> None:
        self._esource = ErrorSource.UPSTREAM

    def as_down(self) -> None:
        self._esource = ErrorSource.DOWNSTREAM

    def as_in(self) -> None:
        self._esource = ErrorSource.INTERNAL

    def into_up(self) -> Error:
        """Blame the upstream and return self."""
        self._esource = ErrorSource.UPSTREAM
        return self

    def into_down(self) -> Error:
        """Blame the downstream and return self."""
        self._esource = ErrorSource.DOWNSTREAM
        return self

    def into_in(self) -> Error:
        """Blame our own logic and return self."""
        self._esource = ErrorSource.INTERNAL
        return self

    # -- the chain ------------------------------------------------------------------------------

    def more_context(self, context: str) -> Error:
        """A new error with this one's type, source and retry flag, wrapping this one."""
        wrapped = Error(self._etype, self._esource, context=_check_text(context), cause=self)
        wrapped._retry = self._retry
        return wrapped

    def reason_str(self) -> str:
        """The type's display name."""
        return self._etype.as_str()

    def source_str(self) -> str:
        """The source's display name (empty when unset)."""
        return self._esource.as_str()

    def root_etype(self) -> ErrorType:
        """The type of the innermost `Error` in the chain."""
        error = self
        while isinstance(error._cause, Error):
            error = error._cause
        return error._etype

    def root_cause(self) -> BaseException:
        """The innermost exception of the chain: the first non-Error cause, else the last Error."""
        error = self
        while isinstance(error._cause, Error):
            error = error._cause
        return error if error._cause is None else error._cause

    def __str__(self) -> str:
        parts: list[str] = []
        previous: Error | None = None
        error = self
        while True:
            if previous is None or previous._esource is not error._esource:
                parts.append(error._esource.value)
            if previous is None or previous._etype != error._etype:
                parts.append(" " + error._etype.as_str())
            if error._context is not None:
                parts.append(" context: " + error._context)
            cause = error._cause
            if cause is None:
                break
            parts.append(" cause: ")
            if not isinstance(cause, Error):
                parts.append(describe_foreign(cause))
                break
            previous, error = error, cause
        return "".join(parts)

    def __repr__(self) -> str:
        cause = self._cause
        if isinstance(cause, Error):
            shown = f"<{type(cause).__name__} {cause._etype!r}>"  # the chain may be deep
        else:
            try:
                shown = repr(cause)
            except Exception:
                shown = f"<{type(cause).__name__}>"
        return (
            f"{type(self).__name__}(etype={self._etype!r}, esource=ErrorSource."
            f"{self._esource.name}, retry=RetryType.{self._retry.name}, "
            f"context={self._context!r}, cause={shown})"
        )
