"""Status codes: validation, the canonical reason phrases, and cached HTTP/1 status lines.

The phrases are the ones Pingora writes (those of Rust's `http` crate), so a response built here
reads the same on the wire as one from Pingora.
"""

from __future__ import annotations

from typing import Final

from pingora_http._errors import InvalidHeaderError

__all__ = ["CANONICAL_REASONS", "canonical_reason", "reason_text", "status_code", "status_line"]

CANONICAL_REASONS: Final[dict[int, str]] = {
    100: "Continue",
    101: "Switching Protocols",
    102: "Processing",
    103: "Early Hints",
    200: "OK",
    201: "Created",
    202: "Accepted",
    203: "Non Authoritative Information",
    204: "No Content",
    205: "Reset Content",
    206: "Partial Content",
    207: "Multi-Status",
    208: "Already Reported",
    226: "IM Used",
    300: "Multiple Choices",
    301: "Moved Permanently",
    302: "Found",
    303: "See Other",
    304: "Not Modified",
    305: "Use Proxy",
    307: "Temporary Redirect",
    308: "Permanent Redirect",
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    407: "Proxy Authentication Required",
    408: "Request Timeout",
    409: "Conflict",
    410: "Gone",
    411: "Length Required",
    412: "Precondition Failed",
    413: "Payload Too Large",
    414: "URI Too Long",
    415: "Unsupported Media Type",
    416: "Range Not Satisfiable",
    417: "Expectation Failed",
    418: "I'm a teapot",
    421: "Misdirected Request",
    422: "Unprocessable Entity",
    423: "Locked",
    424: "Failed Dependency",
    425: "Too Early",
    426: "Upgrade Required",
    428: "Precondition Required",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    451: "Unavailable For Legal Reasons",
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
    505: "HTTP Version Not Supported",
    506: "Variant Also Negotiates",
    507: "Insufficient Storage",
    508: "Loop Detected",
    510: "Not Extended",
    511: "Network Authentication Required",
}

# RFC 9112 §4: reason-phrase = 1*( HTAB / SP / VCHAR / obs-text )
_REASON_OCTETS: Final = b"\t" + bytes(range(0x20, 0x7F)) + bytes(range(0x80, 0x100))
_IDENTITY: Final = bytes(range(256))
_LINES: dict[tuple[bool, int], bytes] = {}  # status lines with the canonical phrase


def canonical_reason(status: int) -> str | None:
    """The standard reason phrase for `status`, or None for a code without one."""
    return CANONICAL_REASONS.get(status)


def status_code(status: int | str | bytes) -> int:
    """Return `status` as an int in 100..999, or raise."""
    if isinstance(status, int) and not isinstance(status, bool):
        code = status
    elif isinstance(status, (str, bytes)) and len(status) == 3 and status.isdigit():
        code = int(status)
    else:
        raise InvalidHeaderError(f"invalid status {status!r}: expected an integer 100..999")
    if not 100 <= code <= 999:
        raise InvalidHeaderError(f"invalid status {status!r}: expected an integer 100..999")
    return code


def reason_text(reason: str | bytes) -> str:
    """Return `reason` as str (bytes decoded as latin-1), or raise if it holds control bytes."""
    if isinstance(reason, str):
        try:
            raw = reason.encode("latin-1")
        except UnicodeEncodeError:
            raise InvalidHeaderError(f"invalid reason phrase {reason!r}: not latin-1") from None
        text = reason
    elif isinstance(reason, bytes):
        raw = reason
        text = reason.decode("latin-1")
    else:
        raise TypeError(f"reason phrase must be str or bytes, not {type(reason).__name__}")
    if raw.translate(_IDENTITY, _REASON_OCTETS):
        raise InvalidHeaderError(f"invalid reason phrase {reason!r}: control characters")
    return text


def status_line(http10: bool, status: int, reason: str | None) -> bytes:
    """The HTTP/1 status line with its CRLF, e.g. b"HTTP/1.1 200 OK\\r\\n".

    `reason` None means the canonical phrase; those lines are cached (at most 1800 of them).
    """
    version = b"HTTP/1.0" if http10 else b"HTTP/1.1"
    if reason is not None:
        return b"%s %d %s\r\n" % (version, status, reason.encode("latin-1"))
    key = (http10, status)
    line = _LINES.get(key)
    if line is None:
        phrase = CANONICAL_REASONS.get(status, "")
        line = _LINES[key] = b"%s %d %s\r\n" % (version, status, phrase.encode("latin-1"))
    return line
