"""The httptools (llhttp) backend of the request-head seam: the fast one, from the `speedups` extra.

Only the head goes through llhttp; body framing is ours (`body.BodyReader`). Importing this
module fails with ImportError when httptools is not installed.
"""

from __future__ import annotations

from typing import Final

from httptools import HttpParserError, HttpParserUpgrade, HttpRequestParser

from pingora_core.protocols.http.v1.rules import BackendReject, ParsedHead

__all__ = ["parse_head_httptools"]

_VERSIONS: Final = {"1.1": b"1.1", "1.0": b"1.0"}


class _Collector:
    """llhttp's callbacks: keeps the target and the fields as received."""

    __slots__ = ("complete", "names", "url", "values")

    def __init__(self) -> None:
        self.url = b""
        self.names: list[bytes] = []
        self.values: list[bytes] = []
        self.complete = False

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.names.append(name)
        self.values.append(value)

    def on_headers_complete(self) -> None:
        self.complete = True


def parse_head_httptools(head: bytes) -> ParsedHead:
    """Parse a complete head (ending with the blank line); raise `BackendReject` on refusal."""
    fields = _Collector()
    parser = HttpRequestParser(fields)
    try:
        parser.feed_data(head)
    except HttpParserUpgrade:
        pass  # Upgrade / CONNECT: the head itself was fine
    except HttpParserError as exc:
        raise BackendReject(f"httptools: {exc}") from None
    if not fields.complete:
        raise BackendReject("httptools: incomplete request head")
    version = parser.get_http_version()
    return (
        parser.get_method(),
        fields.url,
        _VERSIONS.get(version) or version.encode("ascii", "replace"),
        fields.names,
        fields.values,
    )
