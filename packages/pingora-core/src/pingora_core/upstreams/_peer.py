"""`HttpPeer`: where an HTTP upstream is ("ip:port", "[v6]:port", "host:port" or "unix:/path"),
whether to speak TLS to it, its `PeerOptions`, and `reuse_hash()`, the connection pool key.

A description only: opening connections is the connector's job.
"""

from __future__ import annotations

from typing import Final

from pingora_core.errors import Error, ErrorSource, ErrorType
from pingora_core.protocols.l4._sockopt import parse_inet_address, parse_uds_path
from pingora_core.upstreams._options import PeerOptions

__all__ = ["HttpPeer"]

_UNIX: Final = "unix:"


def _bad_address(address: object, reason: str) -> Error:
    return Error(
        ErrorType.SocketError,
        ErrorSource.INTERNAL,
        context=f"invalid peer address {address!r}: {reason}",
    )


def _parse_address(address: object) -> tuple[str, str | None, int | None]:
    """(normalized address, host, port); host and port are None for a unix socket."""
    if not isinstance(address, str):
        raise TypeError(f"peer address must be a str, got {type(address).__name__}")
    if address.startswith(_UNIX):
        try:
            path = parse_uds_path(address)
        except ValueError as exc:
            raise _bad_address(address, str(exc)) from None
        return _UNIX + path, None, None
    try:
        host, port = parse_inet_address(address, what="peer address")
    except ValueError as exc:
        raise _bad_address(address, str(exc)) from None
    if port == 0:
        raise _bad_address(address, "port 0 cannot be connected to")
    if any(ch.isspace() for ch in host) or "/" in host:
        raise _bad_address(address, "the host contains a space or '/'")
    return address, host, port


class HttpPeer:
    """An HTTP upstream: `HttpPeer("127.0.0.1:8080")`, `HttpPeer("[::1]:80")`,
    `HttpPeer("unix:/run/app.sock")`.

    `tls=True` is refused until the TLS layer lands (an `Error` says so). `options` holds the
    `PeerOptions` (replace it, it is frozen: `peer.options = dataclasses.replace(peer.options,
    read_timeout=5.0)`). `group_key` isolates connection reuse: peers that differ only in it
    never share pooled connections.
    """

    __slots__ = ("_address", "_host", "_options", "_port", "group_key", "sni", "tls")

    def __init__(
        self,
        address: str,
        tls: bool = False,
        sni: str = "",
        *,
        options: PeerOptions | None = None,
        group_key: int = 0,
    ) -> None:
        if not isinstance(tls, bool):
            raise TypeError(f"tls must be a bool, got {type(tls).__name__}")
        if not isinstance(sni, str):
            raise TypeError(f"sni must be a str, got {type(sni).__name__}")
        if isinstance(group_key, bool) or not isinstance(group_key, int):
            raise TypeError(f"group_key must be an int, got {type(group_key).__name__}")
        self._address, self._host, self._port = _parse_address(address)
        if tls:
            raise Error(
                ErrorType.InternalError,
                ErrorSource.INTERNAL,
                context=f"cannot use TLS to {self._address}: TLS upstreams are not available "
                "yet in this version of pingora_core (use tls=False)",
            )
        self.tls = tls
        self.sni = sni
        self.group_key = group_key
        self._options = PeerOptions()
        if options is not None:
            self.options = options

    @property
    def address(self) -> str:
        """The address to connect to, as given ("unix:" + path for unix sockets)."""
        return self._address

    @property
    def is_uds(self) -> bool:
        """True for a unix domain socket peer."""
        return self._host is None

    @property
    def host(self) -> str | None:
        """The host part of a TCP address (None for a unix socket)."""
        return self._host

    @property
    def port(self) -> int | None:
        """The port of a TCP address (None for a unix socket)."""
        return self._port

    @property
    def uds_path(self) -> str | None:
        """The socket path of a unix socket peer, else None."""
        return self._address[len(_UNIX) :] if self._host is None else None

    @property
    def scheme(self) -> str:
        """"https" when TLS is used, else "http"."""
        return "https" if self.tls else "http"

    @property
    def options(self) -> PeerOptions:
        """How to connect (timeouts, socket options, custom L4 connector)."""
        return self._options

    @options.setter
    def options(self, options: PeerOptions) -> None:
        if not isinstance(options, PeerOptions):
            raise TypeError(f"options must be a PeerOptions, got {type(options).__name__}")
        self._options = options

    def reuse_key(self) -> tuple[object, ...]:
        """Everything that makes connections to two peers not interchangeable: the address,
        scheme, SNI, local bind address, custom L4 connector (by identity) and group key."""
        options = self._options
        custom = options.custom_l4
        return (
            self._address,
            self.tls,
            self.sni,
            options.bind_to,
            None if custom is None else id(custom),
            self.group_key,
        )

    def reuse_hash(self) -> int:
        """The connection pool key: equal for peers whose connections can be shared."""
        return hash(self.reuse_key())

    def __str__(self) -> str:
        text = f"addr: {self._address}, scheme: {self.scheme.upper()},"
        if self.sni:
            text += f"sni: {self.sni},"
        return text

    def __repr__(self) -> str:
        return (
            f"HttpPeer(address={self._address!r}, tls={self.tls}, sni={self.sni!r}, "
            f"group_key={self.group_key}, options={self._options!r})"
        )
