"""`H1ServerSettings`: the knobs of an HTTP/1 server session (timeouts, limits, backend)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pingora_core.protocols.http.v1.codec import resolve_h1_backend
from pingora_core.protocols.http.v1.events import H1Limits

__all__ = ["H1ServerSettings"]


def _check_seconds(name: str, value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"H1ServerSettings.{name} must be None or a number > 0, got {value!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class H1ServerSettings:
    """How an HTTP/1 server session reads and writes (None means "no limit" for times).

    `header_timeout`: the whole request head must arrive within this many seconds of its first
    byte (else 408 and close); on a new connection it also bounds the wait for that first byte.
    `keepalive_timeout`: how long a reused connection may stay idle before its next request.
    `read_timeout` / `write_timeout`: each body read / each wait for a slow client.
    `keepalive_request_limit`: requests served on one connection before it is closed.
    `update_response_headers`: set `Date` and `Connection` on final responses.
    `backend`: "auto", "h11" or "httptools" (None: the process-wide choice); one that is
    unknown or not installed is refused here (ValueError).
    """

    backend: str | None = None
    limits: H1Limits = field(default_factory=H1Limits)
    header_timeout: float | None = 60.0
    keepalive_timeout: float | None = 60.0
    read_timeout: float | None = 60.0
    write_timeout: float | None = 60.0
    keepalive_request_limit: int | None = None
    update_response_headers: bool = True
    read_size: int = 65536

    def __post_init__(self) -> None:
        for name in ("header_timeout", "keepalive_timeout", "read_timeout", "write_timeout"):
            _check_seconds(name, getattr(self, name))
        limit = self.keepalive_request_limit
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit < 1
        ):
            raise ValueError(
                "H1ServerSettings.keepalive_request_limit must be None or an int >= 1, "
                f"got {limit!r}"
            )
        if (
            isinstance(self.read_size, bool)
            or not isinstance(self.read_size, int)
            or self.read_size < 1
        ):
            raise ValueError(
                f"H1ServerSettings.read_size must be an int >= 1, got {self.read_size!r}"
            )
        if self.backend is not None:
            resolve_h1_backend(self.backend)  # an unknown or missing backend: said here
        if not isinstance(self.limits, H1Limits):
            raise TypeError(f"H1ServerSettings.limits must be an H1Limits, got {self.limits!r}")
