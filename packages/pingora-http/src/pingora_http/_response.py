"""`ResponseHeader`: a response's status, reason phrase, version and fields.

Mirrors Pingora's `ResponseHeader`: header case and order are kept, a custom reason phrase is
remembered only when it differs from the canonical one, and every mutation is validated.
Conversions to and from h11 events and h2 header lists live here too (no import of either).
"""

from __future__ import annotations

from typing import Final

from pingora_http._convert import (
    H2HeaderList,
    H11ResponseEvent,
    h2_fields,
    h11_lists,
    split_h2,
)
from pingora_http._errors import InvalidHeaderError
from pingora_http._header_map import HeaderMap
from pingora_http._message import MessageHeader, check_size_hint
from pingora_http._status import (
    CANONICAL_REASONS,
    canonical_reason,
    reason_text,
    status_code,
    status_line,
)
from pingora_http._validate import version_str

__all__ = ["ResponseHeader"]

_RESPONSE_PSEUDO: Final = frozenset((b":status",))
_new_map = object.__new__
# HTTP/1.1 status lines with the canonical phrase, by code (unknown codes go the long way).
_LINES11: Final = {code: status_line(False, code, None) for code in CANONICAL_REASONS}


class ResponseHeader(MessageHeader):
    """The head of an HTTP response.

    `status` (int 100..999), `reason_phrase` (the custom one, else the canonical one, else
    None), `version` ("HTTP/1.0", "HTTP/1.1" or "HTTP/2"), `headers` (a `HeaderMap`).
    """

    __slots__ = ("_reason", "_status", "_version")

    def __init__(
        self,
        status: int | str | bytes = 200,
        *,
        version: str | bytes = "HTTP/1.1",
        preserve_case: bool = True,
    ) -> None:
        # the common arguments take the short way: a plain int status, the default version
        self._status = (
            status if type(status) is int and 100 <= status <= 999 else status_code(status)
        )
        self._reason: str | None = None
        self._version = (
            "HTTP/1.1" if type(version) is str and version == "HTTP/1.1" else version_str(version)
        )
        headers = self.headers = _new_map(HeaderMap)
        headers.preserve_case = preserve_case
        headers._keys = []
        headers._parts = []

    @classmethod
    def build(cls, status: int | str | bytes, size_hint: int | None = None) -> ResponseHeader:
        """A response whose header names keep the case they are given."""
        check_size_hint(size_hint)
        return cls(status)

    @classmethod
    def build_no_case(
        cls, status: int | str | bytes, size_hint: int | None = None
    ) -> ResponseHeader:
        """A response without case information: names are stored lowercase, titled on HTTP/1."""
        check_size_hint(size_hint)
        return cls(status, preserve_case=False)

    # -- status, reason, version ------------------------------------------------------------

    @property
    def status(self) -> int:
        """The status code."""
        return self._status

    @status.setter
    def status(self, status: int | str | bytes) -> None:
        self._status = status_code(status)

    def set_status(self, status: int | str | bytes) -> None:
        """Set the status code (100..999). A custom reason phrase stays as it is."""
        self._status = status_code(status)

    @property
    def reason_phrase(self) -> str | None:
        """The custom reason phrase if one is set, else the canonical one (None if unknown)."""
        if self._reason is not None:
            return self._reason
        return canonical_reason(self._status)

    def set_reason_phrase(self, reason: str | bytes | None) -> None:
        """Set a custom reason phrase; None (or the canonical phrase) goes back to the default."""
        if reason is None:
            self._reason = None
            return
        text = reason_text(reason)
        # The default is what goes on the wire without a custom phrase: "" for unknown codes.
        self._reason = None if text == (canonical_reason(self._status) or "") else text

    @property
    def version(self) -> str:
        """"HTTP/1.0", "HTTP/1.1" or "HTTP/2"."""
        return self._version

    @version.setter
    def version(self, version: str | bytes) -> None:
        self._version = version_str(version)

    def set_version(self, version: str | bytes) -> None:
        """Set the version ("HTTP/1.0", "HTTP/1.1", "HTTP/2"; b"1.1"-style also accepted)."""
        self._version = version_str(version)

    # -- HTTP/1 -----------------------------------------------------------------------------

    def to_h1_wire(self) -> bytes:
        """The status line and fields as HTTP/1 bytes, ending with the blank line."""
        line = (
            _LINES11.get(self._status)
            if self._reason is None and self._version != "HTTP/1.0"
            else None
        ) or status_line(self._version == "HTTP/1.0", self._status, self._reason)
        return b"%s%s\r\n" % (line, b"".join(self.headers._parts))

    @classmethod
    def from_h11(cls, event: H11ResponseEvent) -> ResponseHeader:
        """Build from an `h11.Response` (or `InformationalResponse`), keeping case and order."""
        new = cls.__new__(cls)
        new._status = status_code(event.status_code)
        new._reason = None
        new._version = version_str(event.http_version)
        new.headers = h11_lists(event.headers)
        new.set_reason_phrase(event.reason)
        return new

    # -- HTTP/2 -----------------------------------------------------------------------------

    @classmethod
    def from_h2_headers(cls, headers: H2HeaderList) -> ResponseHeader:
        """Build from an HTTP/2 header list (`:status` first), as h2 delivers it."""
        pseudo, fields = split_h2(headers, _RESPONSE_PSEUDO)
        status = pseudo.get(b":status")
        if status is None:
            raise InvalidHeaderError("HTTP/2 response without :status")
        new = cls(status, version="HTTP/2", preserve_case=False)
        new.headers = fields
        return new

    def to_h2_headers(self) -> list[tuple[bytes, bytes]]:
        """The HTTP/2 header list: `:status`, then lowercase fields HTTP/2 allows."""
        out = [(b":status", b"%d" % self._status)]
        out.extend(h2_fields(self.headers))
        return out

    # -- object protocol --------------------------------------------------------------------

    def copy(self) -> ResponseHeader:
        """An independent copy (headers included)."""
        new = ResponseHeader.__new__(ResponseHeader)
        new._status = self._status
        new._reason = self._reason
        new._version = self._version
        new.headers = self.headers.copy()
        return new

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ResponseHeader):
            return NotImplemented
        return (
            self._status == other._status
            and self._reason == other._reason
            and self._version == other._version
            and self.headers == other.headers
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"ResponseHeader(status={self._status}, reason_phrase={self.reason_phrase!r}, "
            f"version={self._version!r}, headers={self.headers.items()!r})"
        )
