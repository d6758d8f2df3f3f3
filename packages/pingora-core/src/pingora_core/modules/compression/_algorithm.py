"""Content codings (`Algorithm`) and the client's `Accept-Encoding` preferences (`AcceptEncoding`).

Values and parsing only: no headers are changed and nothing is compressed here.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

__all__ = ["AcceptEncoding", "Algorithm", "parse_accept_encoding"]


class Algorithm(enum.Enum):
    """A content coding as named in `Accept-Encoding` / `Content-Encoding` (case-insensitive).

    GZIP, BROTLI and ZSTD are produced; GZIP and BROTLI are also decoded. DCB and DCZ
    (dictionary codings) are recognised so that they pass through untouched. ANY is `*`;
    OTHER is any coding we do not know.
    """

    ANY = "*"
    GZIP = "gzip"
    BROTLI = "br"
    ZSTD = "zstd"
    DCB = "dcb"
    DCZ = "dcz"
    OTHER = "other"

    @classmethod
    def from_token(cls, token: str | bytes) -> Algorithm:
        """The algorithm a coding token names (surrounding spaces ignored); OTHER if unknown."""
        if isinstance(token, bytes):
            token = token.decode("latin-1")
        elif not isinstance(token, str):
            raise TypeError(f"a coding token must be str or bytes, got {type(token).__name__}")
        return _BY_TOKEN.get(token.strip().lower(), Algorithm.OTHER)


_BY_TOKEN: Final = {a.value: a for a in Algorithm if a is not Algorithm.OTHER}

# RFC 9110 §12.4.2: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
_QVALUE: Final = re.compile(r"(?:0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?)")


@dataclass(frozen=True, slots=True, kw_only=True)
class AcceptEncoding:
    """A client's `Accept-Encoding`, reduced to what the compression decision needs.

    `accepted`: the known codings with q > 0, in the order the client listed them (`*` is ANY).
    `rejected`: the known codings the client excluded with q=0 (`*;q=0` puts ANY here).
    `present`: whether the request carried the header at all.
    """

    accepted: tuple[Algorithm, ...] = ()
    rejected: frozenset[Algorithm] = frozenset()
    present: bool = False

    def accepts(self, algorithm: Algorithm) -> bool:
        """Whether the client takes a response coded with `algorithm`.

        Listed with q > 0: yes; listed with q=0: no; else yes only if `*` is accepted. Without
        the header nothing but identity is assumed to be accepted (as Pingora does).
        """
        if algorithm in self.accepted:
            return algorithm is not Algorithm.ANY
        if algorithm in self.rejected or algorithm is Algorithm.OTHER:
            return False
        return Algorithm.ANY in self.accepted

    def preferred(self, available: frozenset[Algorithm]) -> Algorithm | None:
        """The first accepted coding that is in `available`, in the client's order.

        None if the client lists nothing usable, or lists `*` before anything usable (the
        client then states no preference and the response is left as it is).
        """
        for algorithm in self.accepted:
            if algorithm is Algorithm.ANY:
                return None
            if algorithm in available:
                return algorithm
        return None


_ABSENT: Final = AcceptEncoding()
_GZIP_ONLY: Final = AcceptEncoding(accepted=(Algorithm.GZIP,), present=True)


def parse_accept_encoding(values: list[bytes] | bytes | None) -> AcceptEncoding:
    """Parse `Accept-Encoding` (RFC 9110 §12.5.3): one value, every field's value, or None.

    Codings are matched case-insensitively; a `q` of 0 excludes a coding; an entry with a
    malformed `q` or an unknown coding is ignored; the first mention of a coding counts.
    """
    if values is None:
        return _ABSENT
    if isinstance(values, bytes):
        joined = values
    elif isinstance(values, list):
        if not values:
            return _ABSENT
        joined = values[0] if len(values) == 1 else b",".join(values)
    else:
        raise TypeError(f"expected bytes, a list of bytes or None, got {type(values).__name__}")
    if joined == b"gzip":  # the most common value by far
        return _GZIP_ONLY
    return _parse_cached(joined)


@lru_cache(maxsize=512)
def _parse_cached(value: bytes) -> AcceptEncoding:
    # Clients send few distinct values: cache the (immutable) result per value.
    accepted: list[Algorithm] = []
    rejected: set[Algorithm] = set()
    for entry in value.decode("latin-1").split(","):
        coding, _, params = entry.partition(";")
        algorithm = Algorithm.from_token(coding)
        if algorithm is Algorithm.OTHER or algorithm in accepted or algorithm in rejected:
            continue
        q = _qvalue(params)
        if q is None:
            continue
        if q > 0:
            accepted.append(algorithm)
        else:
            rejected.add(algorithm)
    return AcceptEncoding(accepted=tuple(accepted), rejected=frozenset(rejected), present=True)


def _qvalue(params: str) -> float | None:
    """The weight in `;`-separated parameters: 1.0 if none, None if malformed."""
    q = 1.0
    if not params:
        return q
    for param in params.split(";"):
        name, eq, raw = param.partition("=")
        if name.strip().lower() != "q":
            continue
        raw = raw.strip()
        if not eq or _QVALUE.fullmatch(raw) is None:
            return None
        q = float(raw)
    return q
