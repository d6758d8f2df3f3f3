"""`RequestHeader`: a request's method, target, version and fields, ready for HTTP/1 or HTTP/2.

Mirrors Pingora's `RequestHeader`: header case and order are kept, the raw target is kept even
when it is not UTF-8, and every mutation is validated so nothing invalid reaches the wire.
Conversions to and from h11 events and h2 header lists live here too (no import of either).
"""

from __future__ import annotations

from typing import Final

from pingora_http._convert import (
    H2HeaderList,
    H11RequestEvent,
    h2_fields,
    h11_lists,
    split_h2,
)
from pingora_http._errors import InvalidHeaderError
from pingora_http._header_map import HeaderMap
from pingora_http._message import MessageHeader, check_size_hint
from pingora_http._target import parse_target, raw_target_authority
from pingora_http._validate import (
    FIELD_OCTETS,
    IDENTITY,
    TCHAR,
    check_raw_name,
    check_raw_value,
    method_pair,
    version_str,
)

__all__ = ["RequestHeader"]

_new_map = object.__new__
_METHODS: Final = {m: (m.decode(), m) for m in (b"GET", b"HEAD", b"POST", b"PUT", b"DELETE")}

_REQUEST_PSEUDO: Final = frozenset((b":method", b":scheme", b":authority", b":path"))


class RequestHeader(MessageHeader):
    """The head of an HTTP request.

    `method` (str), `uri` (str: path and query), `raw_path` (bytes as on the wire), `version`
    ("HTTP/1.0", "HTTP/1.1" or "HTTP/2"), `headers` (a `HeaderMap`). `scheme` and `authority`
    hold HTTP/2's pseudo-headers when the request came from HTTP/2, else None.
    """

    __slots__ = (
        "_method",
        "_method_raw",
        "_origin",
        "_raw",
        "_uri",
        "_utf8",
        "_verbatim",
        "_version",
        "authority",
        "scheme",
    )

    authority: str | None
    scheme: str | None

    def __init__(
        self,
        method: str | bytes,
        path: str | bytes,
        *,
        version: str | bytes = "HTTP/1.1",
        preserve_case: bool = True,
    ) -> None:
        self._method, self._method_raw = method_pair(method)
        self._raw, self._origin, self._uri, self._verbatim, self._utf8 = parse_target(path)
        self._version = version_str(version)
        self.headers = HeaderMap._empty(preserve_case)
        self.authority = None
        self.scheme = None

    @classmethod
    def build(
        cls, method: str | bytes, path: str | bytes, size_hint: int | None = None
    ) -> RequestHeader:
        """A request whose header names keep the case they are given."""
        check_size_hint(size_hint)
        return cls(method, path)

    @classmethod
    def build_no_case(
        cls, method: str | bytes, path: str | bytes, size_hint: int | None = None
    ) -> RequestHeader:
        """A request without case information: names are stored lowercase, titled on HTTP/1."""
        check_size_hint(size_hint)
        return cls(method, path, preserve_case=False)

    # -- method, target, version ------------------------------------------------------------

    @property
    def method(self) -> str:
        """The request method, e.g. "GET" (case-sensitive, any token)."""
        return self._method

    @method.setter
    def method(self, method: str | bytes) -> None:
        self._method, self._method_raw = method_pair(method)

    def set_method(self, method: str | bytes) -> None:
        """Set the method (a token such as "GET" or "PURGE")."""
        self._method, self._method_raw = method_pair(method)

    @property
    def uri(self) -> str:
        """Path and query ("/a?b"); "/" for CONNECT and targets without a path."""
        return self._uri

    @property
    def path(self) -> str:
        """`uri` without its query."""
        return self._uri.partition("?")[0]

    @property
    def query(self) -> str | None:
        """The query of `uri` (after "?"), or None."""
        _, mark, query = self._uri.partition("?")
        return query if mark else None

    @property
    def raw_path(self) -> bytes:
        """The request-target exactly as it goes on the HTTP/1 wire (maybe not UTF-8)."""
        return self._raw

    @property
    def raw_path_is_utf8(self) -> bool:
        """True unless `raw_path` is not valid UTF-8 (then `uri` is a lossy rendering)."""
        return self._utf8

    def set_uri(self, uri: str | bytes) -> None:
        """Replace the request-target (same rules as `build`); the old one is forgotten."""
        self._raw, self._origin, self._uri, self._verbatim, self._utf8 = parse_target(uri)

    def set_raw_path(self, path: bytes | str) -> None:
        """Replace the request-target with raw bytes (absolute-form, CONNECT, non-UTF-8, ...)."""
        self._raw, self._origin, self._uri, self._verbatim, self._utf8 = parse_target(path)

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

    def host(self) -> str | None:
        """The host asked for: HTTP/2 `:authority`, else the `Host` field, else the target's."""
        if self.authority is not None:
            return self.authority
        value = self.headers.get(b"host")
        if value is not None:
            return value.decode("latin-1")
        if self._verbatim:
            found = raw_target_authority(self._raw)
            if found.kind == "absolute" and found.authority:
                return found.authority.decode("latin-1")
        return None

    # -- HTTP/1 -----------------------------------------------------------------------------

    def to_h1_wire(self) -> bytes:
        """The request line and fields as HTTP/1 bytes, ending with the blank line."""
        return b"%s %s %s\r\n%s\r\n" % (
            self._method_raw,
            self._raw,
            b"HTTP/1.0" if self._version == "HTTP/1.0" else b"HTTP/1.1",
            b"".join(self.headers._parts),
        )

    @classmethod
    def from_h11(cls, event: H11RequestEvent) -> RequestHeader:
        """Build from an `h11.Request` event, keeping the fields' received case and order."""
        new = cls.__new__(cls)
        new._method, new._method_raw = method_pair(event.method)
        new._raw, new._origin, new._uri, new._verbatim, new._utf8 = parse_target(event.target)
        new._version = version_str(event.http_version)
        new.headers = h11_lists(event.headers)
        new.authority = None
        new.scheme = None
        return new

    @classmethod
    def _from_h1(
        cls,
        method: bytes,
        target: bytes,
        version: str | bytes,
        names: list[bytes],
        values: list[bytes],
    ) -> RequestHeader:
        # HTTP/1 parsers' fast path (pingora_core's codec): a head's pieces as received,
        # validated in bulk (one pass over all names, one over all values). The lists are
        # taken over, not copied.
        if b"".join(names).translate(IDENTITY, TCHAR) or b"" in names:
            for name in names:
                check_raw_name(name)
        if b"".join(values).translate(IDENTITY, FIELD_OCTETS):
            for value in values:
                check_raw_value(value)
        new = cls.__new__(cls)
        new._method, new._method_raw = method_pair(method)
        new._raw, new._origin, new._uri, new._verbatim, new._utf8 = parse_target(target)
        new._version = version_str(version)
        new.headers = HeaderMap._adopt(names, list(map(bytes.lower, names)), values, True)
        new.authority = None
        new.scheme = None
        return new

    @classmethod
    def _from_h1_checked(
        cls,
        method: bytes,
        target: bytes,
        version: str,
        names: list[bytes],
        keys: list[bytes],
        values: list[bytes],
    ) -> RequestHeader:
        # `_from_h1` for a head the caller has already validated as a whole: `method` a token,
        # `target` origin-form printable ASCII without "#", `version` canonical, `names`
        # tokens, `keys` their lowercase forms, `values` field octets. Nothing is re-checked.
        new = cls.__new__(cls)
        new._method, new._method_raw = _METHODS.get(method) or method_pair(method)
        new._raw = new._origin = target
        new._uri = target.decode("ascii")
        new._verbatim = False
        new._utf8 = True
        new._version = version
        # HeaderMap._adopt inlined (case kept): one request per call, every call counts
        headers = new.headers = _new_map(HeaderMap)
        headers.preserve_case = True
        headers._keys = keys
        parts = headers._parts = [b"", b": ", b"", b"\r\n"] * len(keys)
        parts[0::4] = names
        parts[2::4] = values
        new.authority = None
        new.scheme = None
        return new

    # -- HTTP/2 -----------------------------------------------------------------------------

    @classmethod
    def from_h2_headers(cls, headers: H2HeaderList) -> RequestHeader:
        """Build from an HTTP/2 header list (pseudo-headers first), as h2 delivers it."""
        pseudo, fields = split_h2(headers, _REQUEST_PSEUDO)
        method = pseudo.get(b":method")
        if method is None:
            raise InvalidHeaderError("HTTP/2 request without :method")
        path = pseudo.get(b":path")
        if method == b"CONNECT":
            if b":authority" not in pseudo or path is not None:
                raise InvalidHeaderError("HTTP/2 CONNECT needs :authority and no :path")
            target = pseudo[b":authority"]
        elif path is None or b":scheme" not in pseudo:
            raise InvalidHeaderError("HTTP/2 request without :path or :scheme")
        else:
            target = path
        new = cls(method, target, version="HTTP/2", preserve_case=False)
        new.headers = fields
        authority = pseudo.get(b":authority")
        scheme = pseudo.get(b":scheme")
        new.authority = None if authority is None else authority.decode("latin-1")
        new.scheme = None if scheme is None else scheme.decode("latin-1")
        return new

    def to_h2_headers(
        self, scheme: str | bytes | None = None, authority: str | bytes | None = None
    ) -> list[tuple[bytes, bytes]]:
        """The HTTP/2 header list: pseudo-headers first, then lowercase fields.

        `scheme` and `authority` default to this request's own (from HTTP/2), then to the
        absolute-form target's, then (authority only) to the `Host` field. Fields HTTP/2
        forbids (Connection, Keep-Alive, Transfer-Encoding, Upgrade, TE other than "trailers")
        and Host (carried by :authority) are left out.
        """
        found = raw_target_authority(self._raw) if self._verbatim else None
        if authority is None:
            if self.authority is not None:
                authority = self.authority
            elif found is not None and found.kind == "absolute" and found.authority:
                authority = found.authority
            else:
                authority = self.headers.get(b"host")
        auth = _pseudo_value(authority, ":authority")
        out: list[tuple[bytes, bytes]] = [(b":method", self._method_raw)]
        if self._method_raw == b"CONNECT":
            if auth is None:
                auth = self._raw
            out.append((b":authority", auth))
        else:
            if scheme is None:
                if self.scheme is not None:
                    scheme = self.scheme
                elif found is not None and found.kind == "absolute":
                    scheme = found.scheme
                else:
                    raise InvalidHeaderError("no scheme for the HTTP/2 request: pass scheme=")
            out.append((b":scheme", _pseudo_value(scheme, ":scheme") or b""))
            if auth is not None:
                out.append((b":authority", auth))
            out.append((b":path", self._origin))
        out.extend(h2_fields(self.headers))
        return out

    # -- object protocol --------------------------------------------------------------------

    def copy(self) -> RequestHeader:
        """An independent copy (headers included)."""
        new = RequestHeader.__new__(RequestHeader)
        new._method, new._method_raw = self._method, self._method_raw
        new._raw, new._origin, new._uri = self._raw, self._origin, self._uri
        new._verbatim, new._utf8 = self._verbatim, self._utf8
        new._version = self._version
        new.headers = self.headers.copy()
        new.authority = self.authority
        new.scheme = self.scheme
        return new

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RequestHeader):
            return NotImplemented
        return (
            self._method == other._method
            and self._raw == other._raw
            and self._version == other._version
            and self.headers == other.headers
            and self.authority == other.authority
            and self.scheme == other.scheme
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        extra = ""
        if self.scheme is not None or self.authority is not None:
            extra = f", scheme={self.scheme!r}, authority={self.authority!r}"
        return (
            f"RequestHeader(method={self._method!r}, raw_path={self._raw!r}, "
            f"version={self._version!r}{extra}, headers={self.headers.items()!r})"
        )


def _pseudo_value(value: str | bytes | None, what: str) -> bytes | None:
    if value is None:
        return None
    raw = value.encode("latin-1") if isinstance(value, str) else value
    if not raw or raw.translate(bytes(range(256)), bytes(range(0x21, 0x7F))):
        raise InvalidHeaderError(f"invalid {what} {value!r}")
    return raw
