"""`PeerOptions`: how to connect to an upstream peer and how long each step may take.

Settings only (validated on construction); the connector acts on them. Durations are seconds
as floats, None meaning "no limit". TLS settings arrive with the TLS layer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from pingora_core.protocols.l4._sockopt import TcpKeepalive, TcpSocketOptions, parse_inet_address
from pingora_core.protocols.l4.connect import L4Connector

__all__ = ["PeerOptions"]

_TIMEOUTS: Final = (
    "connection_timeout",
    "total_connection_timeout",
    "read_timeout",
    "write_timeout",
    "idle_timeout",
)


def _check_duration(name: str, value: object, *, allow_zero: bool) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"PeerOptions.{name} must be seconds (a number) or None, got "
                        f"{type(value).__name__}")
    if math.isnan(value) or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"PeerOptions.{name} must be {bound} seconds or None, got {value}")


def _check_bind_to(value: object) -> None:
    if value is None:
        return
    if not isinstance(value, str) or not value:
        raise TypeError("PeerOptions.bind_to must be a non-empty str ('ip' or 'ip:port') or None")
    if value.startswith("[") or value.count(":") == 1:
        parse_inet_address(value, what="bind_to address")


@dataclass(frozen=True, slots=True, kw_only=True)
class PeerOptions:
    """How to reach a peer (Pingora's `PeerOptions`, the parts that apply before TLS).

    connection_timeout: limit on the L4 connect (TCP handshake, or the custom connector).
    total_connection_timeout: limit on the whole connection setup (connect, later TLS too).
    read_timeout / write_timeout: limit on each read / write of the HTTP session.
    idle_timeout: how long a released connection may wait in the pool; 0 disables pooling.
    bind_to: local source address, "ip" or "ip:port".
    tcp_keepalive: keepalive probing on the connection.
    tcp_recv_buf: SO_RCVBUF in bytes.
    dscp: the DSCP code point (0..=63) of packets we send.
    tcp_fast_open: use TCP Fast Open on connect (Linux).
    custom_l4: an `L4Connector` that supplies the stream instead of a socket (its identity is
        part of the pool key: two peers with different connectors never share a connection).
    """

    connection_timeout: float | None = None
    total_connection_timeout: float | None = None
    read_timeout: float | None = None
    write_timeout: float | None = None
    idle_timeout: float | None = None
    bind_to: str | None = None
    tcp_keepalive: TcpKeepalive | None = None
    tcp_recv_buf: int | None = None
    dscp: int | None = None
    tcp_fast_open: bool = False
    custom_l4: L4Connector | None = None

    def __post_init__(self) -> None:
        for name in _TIMEOUTS:
            _check_duration(name, getattr(self, name), allow_zero=name == "idle_timeout")
        _check_bind_to(self.bind_to)
        if self.tcp_keepalive is not None and not isinstance(self.tcp_keepalive, TcpKeepalive):
            raise TypeError("PeerOptions.tcp_keepalive must be a TcpKeepalive or None")
        if self.tcp_recv_buf is not None and (
            isinstance(self.tcp_recv_buf, bool) or not isinstance(self.tcp_recv_buf, int)
        ):
            raise TypeError("PeerOptions.tcp_recv_buf must be an int (bytes) or None")
        if not isinstance(self.tcp_fast_open, bool):
            raise TypeError("PeerOptions.tcp_fast_open must be a bool")
        if self.custom_l4 is not None and not isinstance(self.custom_l4, L4Connector):
            raise TypeError("PeerOptions.custom_l4 must be an L4Connector or None")
        # The socket-level values are checked (ranges) by TcpSocketOptions itself.
        self.socket_options()

    def socket_options(self) -> TcpSocketOptions | None:
        """The socket settings for a TCP connect, or None when there are none."""
        if (
            self.tcp_keepalive is None
            and self.tcp_recv_buf is None
            and self.dscp is None
            and not self.tcp_fast_open
        ):
            return None
        try:
            return TcpSocketOptions(
                tcp_keepalive=self.tcp_keepalive,
                recv_buffer=self.tcp_recv_buf,
                dscp=self.dscp,
                tcp_fastopen=1 if self.tcp_fast_open else None,
            )
        except (TypeError, ValueError) as exc:
            raise type(exc)(str(exc).replace("TcpSocketOptions.recv_buffer", "PeerOptions."
                            "tcp_recv_buf").replace("TcpSocketOptions.", "PeerOptions.")) from None
