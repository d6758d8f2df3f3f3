"""The httptools (llhttp) backend of the request-head seam: the fast one, from the `speedups` extra.

Only the head goes through llhttp; body framing is ours (`body.BodyReader`). An llhttp parser
that finished a body-less keep-alive request is back at its start state, so such parsers are
kept in a small pool and reused instead of being made per head. Importing this module fails
with ImportError when httptools is not installed.
"""

from __future__ import annotations

from typing import Final

from httptools import HttpParserError, HttpParserUpgrade, HttpRequestParser

from pingora_core.protocols.http.v1.rules import BackendReject, ParsedHead

__all__ = ["parse_head_httptools"]

_VERSIONS: Final = {"1.1": b"1.1", "1.0": b"1.0"}
_POOL_SIZE: Final = 16


class _Collector:
    """llhttp's callbacks: keep the target and the fields as received, one append each."""

    __slots__ = ("ended", "names", "parser", "url", "values")

    def __init__(self) -> None:
        self.url = b""
        self.names: list[bytes] = []
        self.values: list[bytes] = []
        # 1: the head ended; 2: the message too (no body, no upgrade) and the parser may read
        # another; 3: it ended but the connection ends with it (the parser must not be reused)
        self.ended = 0
        self.parser = HttpRequestParser(self)

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.names.append(name)
        self.values.append(value)

    def on_headers_complete(self) -> None:
        self.ended = 1

    def on_message_complete(self) -> None:
        # asked here: once feed_data returns, llhttp has reset and always says keep-alive
        self.ended = 2 if self.parser.should_keep_alive() else 3


# Idle collectors whose llhttp parser is at its start state. list.pop/append are atomic, so a
# collector is only ever used by one caller at a time.
_pool: list[_Collector] = []


def parse_head_httptools(head: bytes) -> ParsedHead:
    """Parse a complete head (ending with the blank line); raise `BackendReject` on refusal."""
    fields = _pool.pop() if _pool else _Collector()
    names: list[bytes] = []
    values: list[bytes] = []
    fields.url = b""
    fields.names = names
    fields.values = values
    fields.ended = 0
    parser = fields.parser
    reuse = True
    try:
        parser.feed_data(head)
    except HttpParserUpgrade:
        reuse = False  # Upgrade / CONNECT: the head was fine; the parser stays paused
    except HttpParserError as exc:
        raise BackendReject(f"httptools: {exc}") from None
    if not fields.ended:
        raise BackendReject("httptools: incomplete request head")
    version = parser.get_http_version()
    result = (
        parser.get_method(),
        fields.url,
        _VERSIONS.get(version) or version.encode("ascii", "replace"),
        names,
        values,
    )
    if reuse and fields.ended == 2 and len(_pool) < _POOL_SIZE:
        _pool.append(fields)  # at its start state again: good for the next head
    return result
