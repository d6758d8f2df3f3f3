"""The events the HTTP/1 request codec emits, and the limits it enforces.

Frozen, slotted, keyword-only dataclasses: values only, no behaviour.
"""

from __future__ import annotations

from dataclasses import dataclass

from pingora_http import HeaderMap, RequestHeader

__all__ = ["BodyData", "H1Limits", "MessageEnd", "ParseError", "RequestHead"]


@dataclass(frozen=True, slots=True, kw_only=True)
class H1Limits:
    """How much a client may send before it is refused.

    `max_head_size`: request line and fields together (431 beyond; 414 when the request line
    alone is longer than `max_request_line`). `max_headers`: fields in the head (431 beyond).
    `max_chunk_head`: one chunk-size line with its extensions. `max_trailer_size`: all trailer
    lines of a chunked body.
    """

    max_head_size: int = 65536
    max_request_line: int = 8192
    max_headers: int = 256
    max_chunk_head: int = 8192
    max_trailer_size: int = 16384

    def __post_init__(self) -> None:
        for name in (
            "max_head_size",
            "max_request_line",
            "max_headers",
            "max_chunk_head",
            "max_trailer_size",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"H1Limits.{name} must be an int > 0, got {value!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestHead:
    """A request head that passed every rule, with what its framing and connection need.

    `body` is "empty", "length" (then `content_length` is set) or "chunked". `keep_alive` is the
    client's wish (HTTP/1.1 unless `Connection: close`; HTTP/1.0 only with `keep-alive`).
    `must_close` is set when the connection must not be reused whatever the answer (e.g. the
    request had both Transfer-Encoding and Content-Length; Content-Length was dropped).
    `head_size` counts the head's bytes on the wire.
    """

    request: RequestHeader
    body: str
    content_length: int | None
    keep_alive: bool
    must_close: bool
    upgrade: bool
    expect_continue: bool
    head_size: int


@dataclass(frozen=True, slots=True, kw_only=True)
class BodyData:
    """A piece of the request body, as decoded (chunk framing removed)."""

    data: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageEnd:
    """The request is complete; `trailers` holds a chunked body's trailer fields, if any."""

    trailers: HeaderMap | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ParseError:
    """The request is bad: answer `status` and close. `reason` says why (for logs)."""

    status: int
    reason: str
