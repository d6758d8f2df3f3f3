"""The three small value types an `Error` is made of: `ErrorType`, `ErrorSource`, `RetryType`.

Values only: nothing here knows about exceptions, chains or I/O.
"""

from __future__ import annotations

import enum
from typing import Any, ClassVar, Final, final

__all__ = ["ErrorSource", "ErrorType", "RetryType"]

# The fixed kinds, in Pingora's order. Each is an attribute of ErrorType named exactly so.
FIXED_KINDS: Final = (
    # connect errors
    "ConnectTimedout",
    "ConnectRefused",
    "ConnectNoRoute",
    "TLSHandshakeFailure",
    "TLSHandshakeTimedout",
    "InvalidCert",
    "HandshakeError",
    "ConnectError",
    "BindError",
    "AcceptError",
    "SocketError",
    "ConnectProxyFailure",
    # protocol errors
    "InvalidHTTPHeader",
    "H1Error",
    "H2Error",
    "H2Downgrade",
    "InvalidH2",
    # I/O errors on established connections
    "ReadError",
    "WriteError",
    "ReadTimedout",
    "WriteTimedout",
    "ConnectionClosed",
    # file related
    "FileOpenError",
    "FileCreateError",
    "FileReadError",
    "FileWriteError",
    # other errors
    "InternalError",
    "UnknownError",
)

_FIXED: Final = "fixed"
_STATUS: Final = "status"
_CUSTOM: Final = "custom"
_CUSTOM_CODE: Final = "custom_code"
_MAX_U16: Final = 0xFFFF


def _check_code(code: object, low: int, high: int, what: str) -> int:
    if not isinstance(code, int) or isinstance(code, bool):
        raise TypeError(f"{what} must be an int, got {type(code).__name__}")
    if not low <= code <= high:
        raise ValueError(f"{what} must be in {low}..={high}, got {code}")
    return code


def _check_name(name: object) -> str:
    if not isinstance(name, str):
        raise TypeError(f"a custom error type name must be a str, got {type(name).__name__}")
    if not name:
        raise ValueError("a custom error type name must not be empty")
    return name


@final
class ErrorType:
    """What went wrong: one of Pingora's fixed kinds, an HTTP status, or a custom named kind.

    Immutable and hashable; equal when kind, name and code are equal. `str()` gives Pingora's
    `as_str()`: the kind's name (`"HTTPStatus"` for every status code).
    """

    __slots__ = ("_code", "_kind", "_name")

    _kind: str
    _name: str
    _code: int | None

    ConnectTimedout: ClassVar[ErrorType]
    ConnectRefused: ClassVar[ErrorType]
    ConnectNoRoute: ClassVar[ErrorType]
    TLSHandshakeFailure: ClassVar[ErrorType]
    TLSHandshakeTimedout: ClassVar[ErrorType]
    InvalidCert: ClassVar[ErrorType]
    HandshakeError: ClassVar[ErrorType]
    ConnectError: ClassVar[ErrorType]
    BindError: ClassVar[ErrorType]
    AcceptError: ClassVar[ErrorType]
    SocketError: ClassVar[ErrorType]
    ConnectProxyFailure: ClassVar[ErrorType]
    InvalidHTTPHeader: ClassVar[ErrorType]
    H1Error: ClassVar[ErrorType]
    H2Error: ClassVar[ErrorType]
    H2Downgrade: ClassVar[ErrorType]
    InvalidH2: ClassVar[ErrorType]
    ReadError: ClassVar[ErrorType]
    WriteError: ClassVar[ErrorType]
    ReadTimedout: ClassVar[ErrorType]
    WriteTimedout: ClassVar[ErrorType]
    ConnectionClosed: ClassVar[ErrorType]
    FileOpenError: ClassVar[ErrorType]
    FileCreateError: ClassVar[ErrorType]
    FileReadError: ClassVar[ErrorType]
    FileWriteError: ClassVar[ErrorType]
    InternalError: ClassVar[ErrorType]
    UnknownError: ClassVar[ErrorType]

    def __init__(self, *, _kind: str, _name: str, _code: int | None) -> None:
        # Private: use the class attributes or HTTPStatus() / Custom() / CustomCode().
        object.__setattr__(self, "_kind", _kind)
        object.__setattr__(self, "_name", _name)
        object.__setattr__(self, "_code", _code)

    @classmethod
    def HTTPStatus(cls, code: int) -> ErrorType:
        """An application error answered with this HTTP status code (100..=999)."""
        return cls(_kind=_STATUS, _name="HTTPStatus", _code=_check_code(code, 100, 999, "code"))

    @classmethod
    def Custom(cls, name: str) -> ErrorType:
        """A user-defined kind; `name` should be unique to the application."""
        return cls(_kind=_CUSTOM, _name=_check_name(name), _code=None)

    @classmethod
    def CustomCode(cls, name: str, code: int) -> ErrorType:
        """A user-defined kind carrying a code (0..=65535), e.g. the HTTP status to answer."""
        checked = _check_code(code, 0, _MAX_U16, "code")
        return cls(_kind=_CUSTOM_CODE, _name=_check_name(name), _code=checked)

    @property
    def name(self) -> str:
        """The display name, as Pingora's `as_str()`."""
        return self._name

    @property
    def code(self) -> int | None:
        """The status of an HTTPStatus, the code of a CustomCode, else None."""
        return self._code

    @property
    def is_custom(self) -> bool:
        """True for Custom and CustomCode kinds."""
        return self._kind in (_CUSTOM, _CUSTOM_CODE)

    def as_str(self) -> str:
        """The display name (Pingora's `as_str`)."""
        return self._name

    def __str__(self) -> str:
        return self._name

    def __repr__(self) -> str:
        if self._kind == _FIXED:
            return f"ErrorType.{self._name}"
        if self._kind == _STATUS:
            return f"ErrorType.HTTPStatus({self._code})"
        if self._kind == _CUSTOM:
            return f"ErrorType.Custom({self._name!r})"
        return f"ErrorType.CustomCode({self._name!r}, {self._code})"

    def _key(self) -> tuple[str, str, int | None]:
        return (self._kind, self._name, self._code)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ErrorType):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"ErrorType is immutable: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"ErrorType is immutable: cannot delete {name!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        if self._kind == _FIXED:
            return (getattr, (ErrorType, self._name))
        if self._kind == _STATUS:
            return (ErrorType.HTTPStatus, (self._code,))
        if self._kind == _CUSTOM:
            return (ErrorType.Custom, (self._name,))
        return (ErrorType.CustomCode, (self._name, self._code))

    def __copy__(self) -> ErrorType:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> ErrorType:
        return self


for _name in FIXED_KINDS:
    setattr(ErrorType, _name, ErrorType(_kind=_FIXED, _name=_name, _code=None))
del _name


class ErrorSource(enum.Enum):
    """Who is to blame: the remote server, the remote client, our own logic, or not known yet."""

    UPSTREAM = "Upstream"
    DOWNSTREAM = "Downstream"
    INTERNAL = "Internal"
    UNSET = ""

    def as_str(self) -> str:
        """The display text (Pingora's `as_str`): empty for UNSET."""
        return self.value

    def __str__(self) -> str:
        return self.value


class RetryType(enum.Enum):
    """Whether the failed request may be retried.

    TRUE and FALSE are decided; REUSED_ONLY means "only if the connection was a reused one" and
    must be settled with `decide_reuse(reused)` before use. The truth value of a decided member is
    the decision; asking it of REUSED_ONLY raises RuntimeError, as Pingora panics.
    """

    TRUE = "true"
    FALSE = "false"
    REUSED_ONLY = "reused_only"

    @classmethod
    def from_bool(cls, retry: bool) -> RetryType:
        """The decided member for `retry`."""
        if not isinstance(retry, bool):
            raise TypeError(f"retry must be a bool, got {type(retry).__name__}")
        return cls.TRUE if retry else cls.FALSE

    @property
    def is_decided(self) -> bool:
        """False only for REUSED_ONLY."""
        return self is not RetryType.REUSED_ONLY

    def decide_reuse(self, reused: bool) -> RetryType:
        """REUSED_ONLY becomes the decision `reused`; a decided member is returned unchanged."""
        if not isinstance(reused, bool):
            raise TypeError(f"reused must be a bool, got {type(reused).__name__}")
        if self is RetryType.REUSED_ONLY:
            return RetryType.TRUE if reused else RetryType.FALSE
        return self

    def __bool__(self) -> bool:
        if self is RetryType.REUSED_ONLY:
            raise RuntimeError("retry is not decided: call decide_reuse(reused) first")
        return self is RetryType.TRUE
