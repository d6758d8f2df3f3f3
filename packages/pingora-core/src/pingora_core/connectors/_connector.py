"""`Connector`: opens L4 connections to `HttpPeer`s (TCP, unix socket or the peer's custom
`L4Connector`), wraps them in HTTP/1 client sessions, and keeps released ones in a
`ConnectionPool` keyed by `peer.reuse_hash()` for the next request to the same peer.

Connect failures are `Error`s blamed on the upstream (ConnectRefused, ConnectTimedout,
ConnectNoRoute, ConnectError) and never hang: `connection_timeout` bounds the L4 connect and
`total_connection_timeout` the whole setup. TLS peers come with the TLS layer.
"""

from __future__ import annotations

import asyncio
import ipaddress
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pingora_core.errors import Error, ErrorSource, ErrorType
from pingora_core.pool import ConnectionPool
from pingora_core.protocols.http.v1.client import HttpSession
from pingora_core.protocols.l4._errors import connect_error
from pingora_core.protocols.l4.connect import connect_tcp, connect_uds
from pingora_core.protocols.l4.stream import Stream
from pingora_core.upstreams import HttpPeer

if TYPE_CHECKING:
    from pingora_core.server import ServerConf

__all__ = ["Connector", "ConnectorStats"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectorStats:
    """A snapshot of a connector's counters.

    created: connections opened. reused: sessions served from the pool. connect_errors: failed
    connects. released: sessions handed back; pooled: of those, kept for reuse. idle: connections
    waiting in the pool now. evicted: dropped to stay within the pool size. closed_idle: dropped
    because the peer closed them (or sent data) while idle or they were found broken.
    expired: dropped when their idle timeout passed.
    """

    created: int
    reused: int
    connect_errors: int
    released: int
    pooled: int
    idle: int
    evicted: int
    closed_idle: int
    expired: int

    @property
    def reuse_ratio(self) -> float:
        """reused / (created + reused): the share of sessions that needed no new connection."""
        total = self.created + self.reused
        return self.reused / total if total else 0.0


def _check_binds(values: Sequence[str], version: int, what: str) -> tuple[str, ...]:
    binds = tuple(values)
    for value in binds:
        try:
            ip = ipaddress.ip_address(value)
        except (TypeError, ValueError):
            raise ValueError(f"{what}: {value!r} is not an IP address") from None
        if ip.version != version:
            raise ValueError(f"{what}: {value!r} is not an IPv{version} address")
    return binds


class Connector:
    """Connections to HTTP peers, with a pool of idle ones.

    `pool_size` bounds the idle connections kept (ServerConf.upstream_keepalive_pool_size);
    `bind_to_v4` / `bind_to_v6` are local addresses one of which is picked at random for a peer
    without its own `bind_to` (ServerConf.client_bind_to_ipv4/6). `backend` forces the HTTP/1
    head parser ("httptools" or "h11"). Use from one event loop.
    """

    __slots__ = (
        "_backend", "_bind_v4", "_bind_v6", "_connect_errors", "_created", "_pool", "_pooled",
        "_released",
    )

    def __init__(
        self,
        pool_size: int = 128,
        *,
        bind_to_v4: Sequence[str] = (),
        bind_to_v6: Sequence[str] = (),
        backend: str | None = None,
    ) -> None:
        self._pool = ConnectionPool(pool_size)
        self._bind_v4 = _check_binds(bind_to_v4, 4, "bind_to_v4")
        self._bind_v6 = _check_binds(bind_to_v6, 6, "bind_to_v6")
        self._backend = backend
        if backend is not None:
            HttpSession._check_backend(backend)
        self._created = self._connect_errors = self._released = self._pooled = 0

    @classmethod
    def from_server_conf(cls, conf: ServerConf) -> Connector:
        """A connector sized and bound as the server configuration says."""
        return cls(
            conf.upstream_keepalive_pool_size,
            bind_to_v4=conf.client_bind_to_ipv4,
            bind_to_v6=conf.client_bind_to_ipv6,
        )

    @property
    def pool(self) -> ConnectionPool:
        """The pool of idle connections."""
        return self._pool

    @property
    def stats(self) -> ConnectorStats:
        """A snapshot of the counters (connections created, reused, evicted, ...)."""
        pool = self._pool.stats
        return ConnectorStats(
            created=self._created,
            reused=pool.hits,
            connect_errors=self._connect_errors,
            released=self._released,
            pooled=self._pooled,
            idle=pool.idle,
            evicted=pool.evicted,
            closed_idle=pool.closed_idle,
            expired=pool.expired,
        )

    # -- connections ----------------------------------------------------------------------------

    async def new_stream(self, peer: HttpPeer) -> Stream:
        """A new connection to `peer` (never from the pool)."""
        if not isinstance(peer, HttpPeer):
            raise TypeError(f"peer must be an HttpPeer, got {type(peer).__name__}")
        total = peer.options.total_connection_timeout
        try:
            if total is None:
                stream = await self._connect_l4(peer)
            else:
                async with asyncio.timeout(total):
                    stream = await self._connect_l4(peer)
        except TimeoutError as exc:
            self._connect_errors += 1
            raise connect_error(
                exc, f"total connection timeout {total}s reached connecting to {peer.address}",
                ErrorSource.UPSTREAM,
            ) from exc
        except Error:
            self._connect_errors += 1
            raise
        self._created += 1
        return stream

    async def _connect_l4(self, peer: HttpPeer) -> Stream:
        options = peer.options
        limit = options.connection_timeout
        custom = options.custom_l4
        if custom is not None:
            try:
                if limit is None:
                    stream = await custom.connect(peer.address)
                else:
                    async with asyncio.timeout(limit):
                        stream = await custom.connect(peer.address)
            except TimeoutError as exc:
                raise connect_error(
                    exc, f"timed out after {limit}s connecting to {peer.address}",
                    ErrorSource.UPSTREAM,
                ) from exc
            except Exception as exc:
                raise connect_error(exc, f"failed to connect to {peer.address}",
                                    ErrorSource.UPSTREAM) from exc
            if not isinstance(stream, Stream):
                raise Error(ErrorType.ConnectError, ErrorSource.INTERNAL,
                            context=f"custom L4 connector returned {type(stream).__name__}, "
                            "not a Stream")
            return stream
        if peer.is_uds:
            return await connect_uds(peer.address, timeout=limit)
        return await connect_tcp(
            peer.address,
            timeout=limit,
            bind_to=self._bind_for(peer),
            options=options.socket_options(),
        )

    def _bind_for(self, peer: HttpPeer) -> str | None:
        bind = peer.options.bind_to
        if bind is not None or not (self._bind_v4 or self._bind_v6):
            return bind
        try:
            version = ipaddress.ip_address((peer.host or "").split("%", 1)[0]).version
        except ValueError:
            return None  # a host name: its family is only known after resolving
        choices = self._bind_v4 if version == 4 else self._bind_v6
        return random.choice(choices) if choices else None

    # -- HTTP sessions --------------------------------------------------------------------------

    async def get_http_session(self, peer: HttpPeer) -> tuple[HttpSession, bool]:
        """A session to `peer` and whether its connection was reused from the pool."""
        if not isinstance(peer, HttpPeer):
            raise TypeError(f"peer must be an HttpPeer, got {type(peer).__name__}")
        stream = await self._pool.get(peer.reuse_hash())
        reused = stream is not None
        if stream is None:
            stream = await self.new_stream(peer)
        session = HttpSession(stream, backend=self._backend, reused=reused)
        options = peer.options
        session.read_timeout = options.read_timeout
        session.write_timeout = options.write_timeout
        return session, reused

    async def release_http_session(
        self,
        session: HttpSession,
        peer: HttpPeer,
        idle_timeout: float | None = None,
    ) -> None:
        """Hand a finished session back: its connection is pooled if it can be reused, for at
        most `idle_timeout` seconds (None: the peer's `idle_timeout` option; 0: not pooled),
        else closed."""
        if not isinstance(session, HttpSession):
            raise TypeError(f"session must be an HttpSession, got {type(session).__name__}")
        if not isinstance(peer, HttpPeer):
            raise TypeError(f"peer must be an HttpPeer, got {type(peer).__name__}")
        self._released += 1
        stream = await session.reuse()
        if stream is None:
            return
        if idle_timeout is None:
            idle_timeout = peer.options.idle_timeout
        if self._pool.put(peer.reuse_hash(), stream, idle_timeout):
            self._pooled += 1

    def close(self) -> None:
        """Close every idle pooled connection."""
        self._pool.clear()

    def __repr__(self) -> str:
        stats = self.stats
        return (
            f"<Connector pool={len(self._pool)}/{self._pool.size} created={stats.created} "
            f"reused={stats.reused} reuse_ratio={stats.reuse_ratio:.2f}>"
        )
