"""Hop-by-hop header fields: what a proxy must not forward (RFC 9110 7.6.1).

`Connection` and every field it names, `Keep-Alive`, `Proxy-Connection`, `TE`, `Trailer` and
`Upgrade` are removed; on an upgrade (a request asking for one, or its 101) `Upgrade` and
`Connection` stay so the next hop can switch too. Everything else keeps its place, case and
value. Framing fields are never removed by being named in `Connection` (Transfer-Encoding is
re-framed by the writer; Host and Content-Length are end-to-end). Pure functions over a
`HeaderMap`; a message without hop-by-hop fields costs one set check.
"""

from __future__ import annotations

from typing import Final

from pingora_http import HeaderMap

__all__ = ["HOP_BY_HOP", "strip_hop_by_hop"]

#: The fields removed whatever `Connection` says.
HOP_BY_HOP: Final = frozenset(
    (b"connection", b"keep-alive", b"proxy-connection", b"te", b"trailer", b"upgrade")
)
_UPGRADE_KEEPS: Final = frozenset((b"connection", b"upgrade"))
_PROTECTED: Final = frozenset((b"host", b"content-length", b"transfer-encoding"))
_CONNECTION_ONLY: Final = frozenset((b"connection",))
_PLAIN_CONNECTION: Final = frozenset((b"keep-alive", b"close"))


def strip_hop_by_hop(headers: HeaderMap, upgrade: bool = False) -> None:
    """Remove the hop-by-hop fields of `headers` in place (keep the upgrade pair if `upgrade`)."""
    keys = headers._keys  # read only here, and not copied: this runs twice per request
    if HOP_BY_HOP.isdisjoint(keys):
        return
    if keys.count(b"connection") == 1 and HOP_BY_HOP.intersection(keys) == _CONNECTION_ONLY:
        # the usual hop-by-hop field: one `Connection: keep-alive` (or close), naming no other
        value = headers.get(b"connection")
        if value is not None and value.strip(b" \t").lower() in _PLAIN_CONNECTION:
            if not upgrade:
                headers.remove(b"connection")
            return
    keys = headers.keys()  # removals below change the map
    doomed = set(HOP_BY_HOP)
    if b"connection" in keys:
        for value in headers.get_all(b"connection"):
            for token in value.split(b","):
                name = token.strip(b" \t").lower()
                if name and name not in _PROTECTED:
                    doomed.add(name)
    if upgrade:
        doomed -= _UPGRADE_KEEPS
    for name in doomed.intersection(keys):
        headers.remove(name)
