"""Listening sockets: `TcpListener` and `UdsListener` (bind, accept, serve each connection as a
`Stream`), the `TcpSocketOptions` applied to them, and the `ConnectionFilter` run right after
accept."""

from pingora_core.listeners._filter import AcceptAllFilter, ConnectionFilter
from pingora_core.listeners._listener import LISTENER_BACKLOG, Listener
from pingora_core.listeners._tcp import TcpListener
from pingora_core.listeners._uds import UdsListener
from pingora_core.protocols.l4._sockopt import TcpKeepalive, TcpSocketOptions

__all__ = [
    "LISTENER_BACKLOG",
    "AcceptAllFilter",
    "ConnectionFilter",
    "Listener",
    "TcpKeepalive",
    "TcpListener",
    "TcpSocketOptions",
    "UdsListener",
]
