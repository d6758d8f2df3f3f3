"""Opening L4 connections: `connect_tcp`, `connect_uds`, and `L4Connector`, the hook a peer uses
to supply its own (virtual) stream instead of a socket.

Every failure is an `Error` blamed on the upstream: ConnectRefused, ConnectTimedout,
ConnectNoRoute or ConnectError (BindError for a bad local `bind_to`). A refused or timed-out
connect never hangs. What is done with the connection afterwards is not this module's business.
"""

from __future__ import annotations

import abc
import asyncio
import ipaddress
import socket
import sys
from typing import Any, Final

from pingora_core.errors import Error, ErrorSource, ErrorType
from pingora_core.protocols.l4._errors import connect_error
from pingora_core.protocols.l4._sockopt import (
    TcpSocketOptions,
    apply_connected_options,
    parse_inet_address,
    parse_uds_path,
)
from pingora_core.protocols.l4._transport import TransportStream
from pingora_core.protocols.l4.stream import Stream

__all__ = ["L4Connector", "connect_tcp", "connect_uds"]

# Linux's IP_BIND_ADDRESS_NO_PORT: pick the source port at connect(), not bind(), so a fixed
# source address does not exhaust ephemeral ports.
_IP_BIND_ADDRESS_NO_PORT: Final = 24


class L4Connector(abc.ABC):
    """Supplies the L4 stream for a peer instead of opening a socket (a virtual L4 stream: an
    in-process service, a tunnel, a test double). Whatever it returns is used as the connection."""

    @abc.abstractmethod
    async def connect(self, peer_address: str) -> Stream:
        """A connected stream to `peer_address`; raise `Error` (ConnectError, ...) on failure."""


def _numeric_sockaddr(host: str, port: int) -> tuple[int, tuple[Any, ...]] | None:
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None
    if ip.version == 4:
        return socket.AF_INET, (host, port)
    return socket.AF_INET6, (host, port, 0, 0)


async def _resolve(host: str, port: int) -> tuple[int, tuple[Any, ...]]:
    numeric = _numeric_sockaddr(host, port)
    if numeric is not None:
        return numeric
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    if not infos:
        raise OSError(f"no address found for {host!r}")
    family, _, _, _, sockaddr = infos[0]
    return family, sockaddr


def _bind_source(sock: socket.socket, bind_to: str) -> None:
    if bind_to.startswith("[") or bind_to.count(":") == 1:
        host, port = parse_inet_address(bind_to, what="bind_to address")
    else:
        host, port = bind_to, 0
    numeric = _numeric_sockaddr(host, port)
    if numeric is None:
        raise ValueError(f"invalid bind_to address {bind_to!r}: expected an IP address")
    family, sockaddr = numeric
    if family != sock.family:
        raise ValueError(f"bind_to address {bind_to!r} is not of the peer's address family")
    if port == 0 and sys.platform.startswith("linux"):
        sock.setsockopt(socket.IPPROTO_IP, _IP_BIND_ADDRESS_NO_PORT, 1)
    try:
        sock.bind(sockaddr)
    except OSError as exc:
        context = f"cannot bind to {bind_to}"
        raise Error(ErrorType.BindError, ErrorSource.INTERNAL, context=context, cause=exc) from exc


async def _open(
    sock: socket.socket, sockaddr: Any, esource: ErrorSource
) -> TransportStream:
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, sockaddr)
    _, stream = await loop.create_connection(lambda: TransportStream(esource=esource), sock=sock)
    return stream


async def connect_tcp(
    addr: str,
    *,
    timeout: float | None,  # noqa: ASYNC109 - part of the agreed interface
    bind_to: str | None = None,
    options: TcpSocketOptions | None = None,
) -> TransportStream:
    """Connect to "host:port" or "[v6]:port" within `timeout` seconds (None: no limit).

    TCP_NODELAY is on; `options` (keepalive, buffers, DSCP, fast open) are applied before
    connecting; `bind_to` ("ip" or "ip:port") fixes the source address.
    """
    host, port = parse_inet_address(addr, what="peer address")
    if timeout is not None and timeout <= 0:
        raise ValueError(f"timeout must be > 0 or None, got {timeout}")
    context = f"failed to connect to {addr}"
    sock: socket.socket | None = None
    try:
        async with asyncio.timeout(timeout):
            family, sockaddr = await _resolve(host, port)
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if options is not None:
                apply_connected_options(sock, options, client=True)
            if bind_to is not None:
                _bind_source(sock, bind_to)
            return await _open(sock, sockaddr, ErrorSource.UPSTREAM)
    except TimeoutError as exc:
        _close_quietly(sock)
        raise connect_error(
            exc, f"timed out after {timeout}s connecting to {addr}", ErrorSource.UPSTREAM
        ) from exc
    except (OSError, Error) as exc:
        _close_quietly(sock)
        raise connect_error(exc, context, ErrorSource.UPSTREAM) from exc
    except BaseException:
        _close_quietly(sock)
        raise


async def connect_uds(
    path: str,
    *,
    timeout: float | None,  # noqa: ASYNC109 - part of the agreed interface
) -> TransportStream:
    """Connect to the unix socket at `path` ("unix:/path" or a bare path) within `timeout`."""
    sock_path = parse_uds_path(path)
    if timeout is not None and timeout <= 0:
        raise ValueError(f"timeout must be > 0 or None, got {timeout}")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        async with asyncio.timeout(timeout):
            return await _open(sock, sock_path, ErrorSource.UPSTREAM)
    except TimeoutError as exc:
        sock.close()
        raise connect_error(
            exc, f"timed out after {timeout}s connecting to unix:{sock_path}", ErrorSource.UPSTREAM
        ) from exc
    except OSError as exc:
        sock.close()
        raise connect_error(
            exc, f"failed to connect to unix:{sock_path}", ErrorSource.UPSTREAM
        ) from exc
    except BaseException:
        sock.close()
        raise


def _close_quietly(sock: socket.socket | None) -> None:
    if sock is not None:
        sock.close()
