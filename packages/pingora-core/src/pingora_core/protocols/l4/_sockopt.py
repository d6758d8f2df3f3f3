"""Socket settings and address text: `TcpSocketOptions`, `TcpKeepalive`, how they are applied to
a socket, and how socket addresses are parsed from and printed as "ip:port" / "[v6]:port" /
"unix:/path".

Pure helpers around the `socket` module: no event loop, no streams.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "TcpKeepalive",
    "TcpSocketOptions",
    "apply_connected_options",
    "apply_listener_options",
    "format_sockaddr",
    "parse_inet_address",
    "parse_uds_path",
]

_UNIX_PREFIX: Final = "unix:"
# Linux's TCP_FASTOPEN_CONNECT (not exported by the socket module).
_TCP_FASTOPEN_CONNECT: Final = 30


def _check_positive_number(value: object, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{what} must be a number, got {type(value).__name__}")
    if not value > 0:
        raise ValueError(f"{what} must be > 0, got {value}")


def _check_int(value: object, what: str, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, got {type(value).__name__}")
    if not low <= value <= high:
        raise ValueError(f"{what} must be in {low}..={high}, got {value}")


@dataclass(frozen=True, slots=True, kw_only=True)
class TcpKeepalive:
    """TCP keepalive probing: first probe after `idle` seconds of silence, then every `interval`
    seconds, giving up after `count` unanswered probes. Seconds are rounded up to whole seconds,
    the kernel's unit."""

    idle: float
    interval: float
    count: int

    def __post_init__(self) -> None:
        _check_positive_number(self.idle, "TcpKeepalive.idle")
        _check_positive_number(self.interval, "TcpKeepalive.interval")
        _check_int(self.count, "TcpKeepalive.count", 1, 127)


@dataclass(frozen=True, slots=True, kw_only=True)
class TcpSocketOptions:
    """Settings for TCP sockets: listening sockets and the connections they accept, or the
    sockets `connect_tcp` opens.

    ipv6_only: IPV6_V6ONLY on an IPv6 listener (None: the system default).
    reuseport: SO_REUSEPORT, so several processes can bind the same address.
    tcp_keepalive: keepalive probing on each connection.
    tcp_fastopen: TCP Fast Open; on a listener the queue length of pending fast-open requests,
        on a client any value > 0 turns on TCP_FASTOPEN_CONNECT.
    recv_buffer / send_buffer: SO_RCVBUF / SO_SNDBUF in bytes.
    dscp: the DSCP code point (0..=63) of outgoing packets, set with IP_TOS / IPV6_TCLASS.
    """

    ipv6_only: bool | None = None
    reuseport: bool = False
    tcp_keepalive: TcpKeepalive | None = None
    tcp_fastopen: int | None = None
    recv_buffer: int | None = None
    send_buffer: int | None = None
    dscp: int | None = None

    def __post_init__(self) -> None:
        if self.ipv6_only is not None and not isinstance(self.ipv6_only, bool):
            raise TypeError("TcpSocketOptions.ipv6_only must be a bool or None")
        if not isinstance(self.reuseport, bool):
            raise TypeError("TcpSocketOptions.reuseport must be a bool")
        if self.tcp_keepalive is not None and not isinstance(self.tcp_keepalive, TcpKeepalive):
            raise TypeError("TcpSocketOptions.tcp_keepalive must be a TcpKeepalive or None")
        if self.tcp_fastopen is not None:
            _check_int(self.tcp_fastopen, "TcpSocketOptions.tcp_fastopen", 0, 2**31 - 1)
        if self.recv_buffer is not None:
            _check_int(self.recv_buffer, "TcpSocketOptions.recv_buffer", 1, 2**31 - 1)
        if self.send_buffer is not None:
            _check_int(self.send_buffer, "TcpSocketOptions.send_buffer", 1, 2**31 - 1)
        if self.dscp is not None:
            _check_int(self.dscp, "TcpSocketOptions.dscp", 0, 63)


def _whole_seconds(value: float) -> int:
    whole = int(value)
    return whole if whole == value else whole + 1


def set_keepalive(sock: socket.socket, keepalive: TcpKeepalive) -> None:
    """Turn on keepalive probing with these timings."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    idle_opt = getattr(socket, "TCP_KEEPIDLE", None) or getattr(socket, "TCP_KEEPALIVE", None)
    if idle_opt is not None:
        sock.setsockopt(socket.IPPROTO_TCP, idle_opt, _whole_seconds(keepalive.idle))
    if hasattr(socket, "TCP_KEEPINTVL"):
        interval = _whole_seconds(keepalive.interval)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, interval)
    if hasattr(socket, "TCP_KEEPCNT"):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, keepalive.count)


def set_dscp(sock: socket.socket, dscp: int) -> None:
    """Mark outgoing packets with this DSCP code point (the upper six bits of TOS / TCLASS)."""
    if sock.family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_TCLASS, dscp << 2)
    else:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, dscp << 2)


def _apply_common(sock: socket.socket, options: TcpSocketOptions) -> None:
    if options.recv_buffer is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, options.recv_buffer)
    if options.send_buffer is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, options.send_buffer)
    if options.dscp is not None:
        set_dscp(sock, options.dscp)


def apply_listener_options(sock: socket.socket, options: TcpSocketOptions) -> None:
    """Options that must be on a listening socket before bind()/listen(). Raises OSError."""
    if options.ipv6_only is not None and sock.family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, int(options.ipv6_only))
    if options.reuseport:
        if not hasattr(socket, "SO_REUSEPORT"):
            raise OSError("SO_REUSEPORT is not supported on this platform")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    if options.tcp_fastopen is not None and hasattr(socket, "TCP_FASTOPEN"):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_FASTOPEN, options.tcp_fastopen)
    _apply_common(sock, options)


def apply_connected_options(
    sock: socket.socket, options: TcpSocketOptions, *, client: bool
) -> None:
    """Options for one connection: an accepted one (client=False) or one we open (client=True,
    before connect()). Raises OSError."""
    if options.tcp_keepalive is not None:
        set_keepalive(sock, options.tcp_keepalive)
    if client:
        _apply_common(sock, options)
        if options.tcp_fastopen and sys.platform.startswith("linux"):
            sock.setsockopt(socket.IPPROTO_TCP, _TCP_FASTOPEN_CONNECT, 1)
    elif options.dscp is not None:
        set_dscp(sock, options.dscp)


def format_sockaddr(address: Any, family: int | None = None) -> str | None:
    """A socket address as text: "1.2.3.4:80", "[::1]:80", "unix:/path"; None when unnamed."""
    if isinstance(address, tuple):
        if len(address) >= 4 or family == socket.AF_INET6:
            return f"[{address[0]}]:{address[1]}"
        if len(address) >= 2:
            return f"{address[0]}:{address[1]}"
        return None
    if isinstance(address, bytes):  # Linux abstract-namespace unix socket
        address = address.decode("utf-8", "replace")
    if isinstance(address, str):
        return _UNIX_PREFIX + address if address else None
    return None


def parse_inet_address(address: str, *, what: str = "address") -> tuple[str, int]:
    """Split "host:port" or "[v6]:port" into (host, port); ValueError with a clear message."""
    if not isinstance(address, str):
        raise TypeError(f"{what} must be a str, got {type(address).__name__}")
    if address.startswith("["):
        end = address.find("]")
        if end < 0 or not address[end + 1 :].startswith(":"):
            raise ValueError(f"invalid {what} {address!r}: expected '[v6 address]:port'")
        host, port_text = address[1:end], address[end + 2 :]
        try:
            ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError:
            reason = f"{host!r} is not an IPv6 address"
            raise ValueError(f"invalid {what} {address!r}: {reason}") from None
    else:
        host, sep, port_text = address.rpartition(":")
        if not sep or not host:
            raise ValueError(f"invalid {what} {address!r}: expected 'host:port' or '[v6]:port'")
        if ":" in host:
            raise ValueError(f"invalid {what} {address!r}: put an IPv6 address in brackets")
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(f"invalid {what} {address!r}: port must be a number in 0..=65535")
    return host, int(port_text)


def parse_uds_path(address: str, *, what: str = "unix socket path") -> str:
    """A unix socket path from "unix:/path" or a bare path; ValueError when empty."""
    if not isinstance(address, str):
        raise TypeError(f"{what} must be a str, got {type(address).__name__}")
    path = address[len(_UNIX_PREFIX) :] if address.startswith(_UNIX_PREFIX) else address
    if not path:
        raise ValueError(f"invalid {what} {address!r}: the path is empty")
    if "\0" in path:
        raise ValueError(f"invalid {what} {address!r}: the path contains a NUL byte")
    return path
