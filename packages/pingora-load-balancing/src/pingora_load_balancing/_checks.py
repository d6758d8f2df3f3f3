"""The health checks shipped with the package: `TcpHealthCheck` and `HttpHealthCheck`.

TCP: a connection can be opened (within 1 s by default), then it is closed. HTTP: a request
(GET / with a Host header by default) gets a 200, or passes a user validator; the connection
is pooled for the next check only when `reuse_connection` is set. Both go through the core's
connection code, so a failure is the core's `Error` (refused, timed out, bad response, ...).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from pingora_core.connectors import Connector
from pingora_core.errors import Error, ErrorSource, ErrorType
from pingora_core.protocols.l4 import connect_tcp, connect_uds
from pingora_core.upstreams import HttpPeer, PeerOptions
from pingora_http import RequestHeader, ResponseHeader
from pingora_load_balancing._backend import Backend
from pingora_load_balancing._health import HealthChangedCallback, HealthCheck

__all__ = ["HttpHealthCheck", "ResponseValidator", "TcpHealthCheck"]

#: `validator(response_header)`: return to accept the response, raise to fail the check.
ResponseValidator = Callable[[ResponseHeader], None]


def _check_timeout(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be seconds (a number), not {type(value).__name__}")
    if math.isnan(value) or value <= 0:
        raise ValueError(f"{name} must be > 0 seconds, got {value}")
    return float(value)


class TcpHealthCheck(HealthCheck):
    """Healthy when a TCP (or unix socket) connection to the backend opens within
    `connection_timeout` seconds (default 1)."""

    def __init__(
        self,
        *,
        connection_timeout: float = 1.0,
        consecutive_success: int = 1,
        consecutive_failure: int = 1,
        health_changed_callback: HealthChangedCallback | None = None,
    ) -> None:
        super().__init__(
            consecutive_success=consecutive_success,
            consecutive_failure=consecutive_failure,
            health_changed_callback=health_changed_callback,
        )
        self.connection_timeout = connection_timeout

    @property
    def connection_timeout(self) -> float:
        """Seconds a connect may take before the check fails."""
        return self._timeout

    @connection_timeout.setter
    def connection_timeout(self, value: float) -> None:
        self._timeout = _check_timeout("connection_timeout", value)

    async def check(self, backend: Backend) -> None:
        if backend.is_unix:
            stream = await connect_uds(backend.addr, timeout=self._timeout)
        else:
            stream = await connect_tcp(backend.canonical_addr, timeout=self._timeout)
        await stream.close()

    def _settings_repr(self) -> str:
        return f"connection_timeout={self._timeout}, {super()._settings_repr()}"


class HttpHealthCheck(HealthCheck):
    """Healthy when the backend answers `req` (default: GET / with `Host: host`) with a 200,
    or with a response `validator` accepts.

    `peer_options` sets the timeouts (connect and each read 1 s by default); `port_override`
    sends the check to another port of the backend's IP; `reuse_connection` keeps the
    connection in `connector`'s pool between checks (faster, but an established connection
    can hide a broken firewall or L4 balancer in front of the backend). `tls=True` needs the
    core's TLS upstreams and fails with a clear error where they are not available.
    """

    def __init__(
        self,
        host: str,
        tls: bool = False,
        *,
        consecutive_success: int = 1,
        consecutive_failure: int = 1,
        health_changed_callback: HealthChangedCallback | None = None,
        reuse_connection: bool = False,
        validator: ResponseValidator | None = None,
        port_override: int | None = None,
        peer_options: PeerOptions | None = None,
        connector: Connector | None = None,
    ) -> None:
        super().__init__(
            consecutive_success=consecutive_success,
            consecutive_failure=consecutive_failure,
            health_changed_callback=health_changed_callback,
        )
        if not isinstance(host, str) or not host:
            raise TypeError(f"host must be a non-empty str, got {host!r}")
        if not isinstance(tls, bool):
            raise TypeError(f"tls must be a bool, not {type(tls).__name__}")
        self.host = host
        self.tls = tls
        self.sni = host if tls else ""
        if tls:  # surface a missing TLS layer now, not as a failing check later
            HttpPeer("127.0.0.1:1", tls=True, sni=host)
        req = RequestHeader.build("GET", b"/")
        req.append_header("Host", host)
        self.req = req
        self.reuse_connection = reuse_connection
        self.validator = validator
        self.port_override = port_override
        self.peer_options = (
            PeerOptions(connection_timeout=1.0, read_timeout=1.0)
            if peer_options is None else peer_options
        )
        self.connector = Connector() if connector is None else connector

    @property
    def port_override(self) -> int | None:
        """Check this port of the backend's IP instead of the backend's own port."""
        return self._port_override

    @port_override.setter
    def port_override(self, port: int | None) -> None:
        if port is not None and (
            isinstance(port, bool) or not isinstance(port, int) or not 0 < port <= 0xFFFF
        ):
            raise ValueError(f"port_override must be a port in 1..=65535 or None, got {port!r}")
        self._port_override = port

    @property
    def validator(self) -> ResponseValidator | None:
        """Decides on the response instead of "status is 200"; raise to fail the check."""
        return self._validator

    @validator.setter
    def validator(self, validator: ResponseValidator | None) -> None:
        if validator is not None and not callable(validator):
            raise TypeError(f"validator must be callable or None, not {type(validator).__name__}")
        self._validator = validator

    @property
    def peer_options(self) -> PeerOptions:
        """Timeouts and socket settings used to reach each backend."""
        return self._options

    @peer_options.setter
    def peer_options(self, options: PeerOptions) -> None:
        if not isinstance(options, PeerOptions):
            raise TypeError(f"peer_options must be a PeerOptions, not {type(options).__name__}")
        self._options = options

    def peer_for(self, backend: Backend) -> HttpPeer:
        """The peer a check of `backend` connects to."""
        port = self._port_override
        if backend.is_unix or port is None:
            address = backend.addr if backend.is_unix else backend.canonical_addr
        else:
            host = backend.host or ""
            address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        options = self._options
        return HttpPeer(address, self.tls, self.sni, options=options)

    async def check(self, backend: Backend) -> None:
        peer = self.peer_for(backend)
        session, _ = await self.connector.get_http_session(peer)
        released = False
        try:
            await session.write_request_header(self.req.copy())
            await session.finish_body()
            resp = await session.read_response_header(skip_informational=True)
            if self._validator is not None:
                self._validator(resp)
            elif resp.status != 200:
                raise Error(
                    ErrorType.CustomCode("non 200 code", resp.status),
                    ErrorSource.UPSTREAM,
                    context="during http healthcheck",
                )
            while await session.read_response_body() is not None:
                pass  # drain the body so the connection can be reused
            if self.reuse_connection:
                released = True
                await self.connector.release_http_session(session, peer)
        finally:
            if not released:
                await session.shutdown()

    def _settings_repr(self) -> str:
        return (f"host={self.host!r}, tls={self.tls}, reuse_connection={self.reuse_connection}, "
                f"{super()._settings_repr()}")
