"""The request-target: how raw bytes from a request line become `uri`, and back to the wire.

Forms (RFC 9112 §3.2): origin-form ("/p?q") and asterisk-form ("*") round-trip unchanged;
absolute-form ("http://host/p") and the authority-form of CONNECT ("host:443") are kept verbatim
for the wire while `uri` carries only the path and query. A fragment is never part of a target
and is dropped. Bytes that are not UTF-8 are kept as they are; `uri` then shows a lossy rendering.
Bytes that would break the request line (controls, space, DEL) are refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

from pingora_http._errors import InvalidHeaderError

__all__ = ["ParsedTarget", "RawTargetAuthority", "parse_target", "raw_target_authority"]

_IDENTITY: Final = bytes(range(256))
# Any byte but controls, space and DEL may stand in a target (obs-text is kept as received).
_TARGET_OCTETS: Final = bytes(range(0x21, 0x7F)) + bytes(range(0x80, 0x100))
_SCHEME: Final = re.compile(rb"[A-Za-z][A-Za-z0-9+.\-]*")
_HTTP_FAMILY: Final = frozenset((b"http", b"https", b"ws", b"wss"))


@dataclass(frozen=True, slots=True, kw_only=True)
class RawTargetAuthority:
    """Where the authority of a raw request-target is, without interpreting it.

    `kind` is "none" (the target carries no absolute-form authority), "absolute" (then `scheme`,
    `authority` and `path_and_query` are the raw pieces) or "ambiguous" (URL parsers could
    disagree about the authority, e.g. "http:/\\\\host" or "http://a\\\\b/"; treat as hostile).
    """

    kind: Literal["none", "absolute", "ambiguous"]
    scheme: bytes = b""
    authority: bytes = b""
    path_and_query: bytes = b""


_NONE: Final = RawTargetAuthority(kind="none")
_AMBIGUOUS: Final = RawTargetAuthority(kind="ambiguous")


def raw_target_authority(target: bytes) -> RawTargetAuthority:
    """Classify the authority and path boundaries of a raw request-target."""
    if target[:1] == b"/":
        return _NONE
    colon = target.find(b":")
    if colon < 0:
        return _NONE
    scheme = target[:colon]
    remainder = target[colon + 1 :]
    has_slashes = remainder[:2] == b"//"
    if not _SCHEME.fullmatch(scheme):
        # "://host" and "ht_tp://host" may make a lenient parser find an authority.
        return _AMBIGUOUS if has_slashes else _NONE
    http_family = scheme.lower() in _HTTP_FAMILY
    if not has_slashes:
        # "http:host" can gain an authority when normalised; custom schemes stay opaque.
        return _AMBIGUOUS if http_family else _NONE
    rest = remainder[2:]
    end = len(rest)
    for index, byte in enumerate(rest):
        if byte in b"/?#":
            end = index
            break
        if http_family and byte == 0x5C:  # a backslash reads as "/" to URL parsers
            return _AMBIGUOUS
    if http_family and end == 0:
        return _AMBIGUOUS
    return RawTargetAuthority(
        kind="absolute", scheme=scheme, authority=rest[:end], path_and_query=rest[end:]
    )


# What a request keeps of its target, as a plain tuple (built on every request, so no class):
# raw: the bytes for the HTTP/1 request line. origin: the origin-form bytes (path and query,
# rooted at "/") behind `uri` and HTTP/2's :path. uri: origin decoded. verbatim: raw cannot be
# recovered from origin. utf8: raw is valid UTF-8.
ParsedTarget = tuple[bytes, bytes, str, bool, bool]
_ROOT: Final[ParsedTarget] = (b"/", b"/", "/", False, True)


def _decode(raw: bytes) -> tuple[str, bool]:
    try:
        return raw.decode("utf-8"), True
    except UnicodeDecodeError:
        return raw.decode("utf-8", "replace"), False


def parse_target(target: str | bytes) -> ParsedTarget:
    """Parse a request-target (str is encoded as UTF-8) or raise `InvalidHeaderError`."""
    if isinstance(target, str):
        # Fast path: printable ASCII origin-form without space or fragment, as nearly all are.
        if (
            target[:1] == "/"
            and target.isascii()
            and target.isprintable()
            and " " not in target
            and "#" not in target
        ):
            raw = target.encode("ascii")
            return (raw, raw, target, False, True)
        raw = target.encode("utf-8", "surrogateescape")
    elif isinstance(target, (bytes, bytearray, memoryview)):
        raw = bytes(target)
    else:
        raise TypeError(f"request target must be str or bytes, not {type(target).__name__}")
    if raw.translate(_IDENTITY, _TARGET_OCTETS):
        raise InvalidHeaderError(
            f"invalid request target {target!r}: spaces and control characters are not allowed"
        )
    hash_at = raw.find(b"#")
    if hash_at >= 0:
        raw = raw[:hash_at]
    if not raw:
        return _ROOT
    first = raw[:1]
    if first == b"/" or raw == b"*":
        uri, utf8 = _decode(raw)
        return (raw, raw, uri, False, utf8)
    if first == b"?":
        origin = b"/" + raw
        uri, utf8 = _decode(origin)
        return (raw, origin, uri, True, utf8)
    _, utf8 = _decode(raw)
    found = raw_target_authority(raw)
    if found.kind == "absolute":
        pq = found.path_and_query
        origin = pq if pq[:1] == b"/" else b"/" + pq
        uri, _ = _decode(origin)
        return (raw, origin, uri, True, utf8)
    # Authority-form (CONNECT), opaque and ambiguous targets: no trustworthy path to expose.
    return (raw, b"/", "/", True, utf8)
