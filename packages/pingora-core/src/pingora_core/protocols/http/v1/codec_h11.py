"""The h11 backend of the request-head seam: the pure-Python reference, always installed.

h11 checks the syntax of the head; the fields handed on are the head's own plain reading
(`naive_split`), because h11 merges repeated Content-Length fields and our rules must see them.
"""

from __future__ import annotations

import h11

from pingora_core.protocols.http.v1.rules import BackendReject, ParsedHead, naive_split

__all__ = ["parse_head_h11"]

_SERVER = h11.SERVER
_Connection = h11.Connection
_Request = h11.Request
_RemoteProtocolError = h11.RemoteProtocolError


def parse_head_h11(head: bytes) -> ParsedHead:
    """Parse a complete head (ending with the blank line); raise `BackendReject` if h11 refuses."""
    conn = _Connection(_SERVER, max_incomplete_event_size=len(head) + 1)
    conn.receive_data(head)
    try:
        event = conn.next_event()
    except _RemoteProtocolError as exc:
        raise BackendReject(f"h11: {exc}") from None
    if not isinstance(event, _Request):
        raise BackendReject("h11: incomplete request head")
    return naive_split(head[:-4])
