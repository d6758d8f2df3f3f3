"""TCP and HTTP health checks against real loopback servers: thresholds, flips, callbacks,
log lines, connection reuse. A server is closed to simulate a dead backend."""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from pingora_core.errors import Error, ErrorSource, ErrorType
from pingora_core.testing.mock_origin import MockOrigin
from pingora_core.upstreams import HttpPeer, PeerOptions
from pingora_http import ResponseHeader
from pingora_load_balancing import (
    Backend,
    Backends,
    HealthStatus,
    HttpHealthCheck,
    Static,
    TcpHealthCheck,
)


class HangUp:
    """Accepts connections and closes them at once. `kill(served=n)` stops listening once n
    connections have been accepted and closed (so nothing is left open when a test ends)."""

    def __init__(self) -> None:
        self.accepted = 0
        self.closed = 0
        self.changed = asyncio.Event()
        self.server: asyncio.Server | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        writer.close()
        await writer.wait_closed()
        self.closed += 1
        self.changed.set()

    async def listen(self, port: int = 0) -> str:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", port)
        host, bound = self.server.sockets[0].getsockname()[:2]
        return f"{host}:{bound}"

    async def listen_unix(self, path: str) -> None:
        self.server = await asyncio.start_unix_server(self.handle, path)

    async def kill(self, *, served: int) -> None:
        server, self.server = self.server, None
        if server is None:
            return
        while self.closed < served:
            self.changed.clear()
            await self.changed.wait()
        server.close()
        await server.wait_closed()
        while self.closed < self.accepted:
            self.changed.clear()
            await self.changed.wait()


@asynccontextmanager
async def tcp_server() -> AsyncIterator[tuple[HangUp, str]]:
    server = HangUp()
    address = await server.listen()
    try:
        yield server, address
    finally:
        await server.kill(served=0)


async def dead_address() -> str:
    server = HangUp()
    address = await server.listen()
    await server.kill(served=0)
    return address


@pytest.mark.anyio
async def test_tcp_check_passes_on_a_listener_and_fails_once_it_is_closed() -> None:
    check = TcpHealthCheck()
    async with tcp_server() as (server, address):
        backend = Backend(address)
        await check.check(backend)
        await server.kill(served=1)
        with pytest.raises(Error) as info:
            await check.check(backend)
        assert info.value.etype == ErrorType.ConnectRefused


@pytest.mark.anyio
async def test_tcp_check_on_a_unix_socket() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "lb.sock")
        server = HangUp()
        await server.listen_unix(path)
        backend = Backend(f"unix:{path}")
        try:
            await TcpHealthCheck().check(backend)
        finally:
            await server.kill(served=1)
        os.unlink(path)
        with pytest.raises(Error):
            await TcpHealthCheck().check(backend)


@pytest.mark.anyio
async def test_thresholds_callback_and_log_lines(caplog: pytest.LogCaptureFixture) -> None:
    flips: list[tuple[Backend, bool]] = []
    check = TcpHealthCheck(
        consecutive_success=2,
        consecutive_failure=3,
        health_changed_callback=lambda b, healthy: flips.append((b, healthy)),
    )
    caplog.set_level(logging.INFO, logger="pingora.lb")
    async with tcp_server() as (alive, address):
        dead_backend = Backend(await dead_address())
        alive_backend = Backend(address)
        backends = Backends(Static([alive_backend, dead_backend]), check)
        await backends.update()

        await backends.run_health_check()
        await backends.run_health_check()
        assert backends.ready(dead_backend)  # two failures: not yet
        assert backends.health(dead_backend) == HealthStatus(
            healthy=True, enabled=True, consecutive=2
        )
        assert flips == []
        await backends.run_health_check()
        assert not backends.ready(dead_backend)  # third failure flips it
        assert backends.ready(alive_backend)
        assert flips == [(dead_backend, False)]
        [record] = [r for r in caplog.records if r.name == "pingora.lb"]
        assert record.levelno == logging.WARNING
        assert record.getMessage().startswith(f"{dead_backend} becomes unhealthy, ")

        # the alive one dies; one failure is not enough, a success resets the streak
        await alive.kill(served=3)
        await backends.run_health_check()
        assert backends.health(alive_backend) == HealthStatus(
            healthy=True, enabled=True, consecutive=1
        )
    assert flips == [(dead_backend, False)]


@pytest.mark.anyio
async def test_recovery_needs_consecutive_successes(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="pingora.lb")
    flips: list[bool] = []

    async def on_flip(backend: Backend, healthy: bool) -> None:
        flips.append(healthy)

    check = TcpHealthCheck(consecutive_success=2, health_changed_callback=on_flip)
    server = HangUp()
    backend = Backend(await server.listen())
    port = backend.port
    assert port is not None
    backends = Backends(Static([backend]), check)
    await backends.update()
    await server.kill(served=0)
    await backends.run_health_check()
    assert not backends.ready(backend)
    assert flips == [False]
    try:
        await server.listen(port)
    except OSError:
        pytest.skip("the port was taken by someone else in the meantime")
    try:
        await backends.run_health_check()
        assert not backends.ready(backend)  # one success of two
        await backends.run_health_check(parallel=True)
        assert backends.ready(backend)
    finally:
        await server.kill(served=2)
    assert flips == [False, True]
    messages = [r.getMessage() for r in caplog.records if r.name == "pingora.lb"]
    assert messages[-1] == f"{backend} becomes healthy"


@pytest.mark.anyio
async def test_a_failing_callback_is_logged_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def explode(backend: Backend, healthy: bool) -> None:
        raise RuntimeError("callback bug")

    backend = Backend(await dead_address())
    backends = Backends(Static([backend]), TcpHealthCheck(health_changed_callback=explode))
    await backends.update()
    await backends.run_health_check()
    assert not backends.ready(backend)
    assert any("health change callback failed" in r.getMessage() for r in caplog.records)


def test_tcp_check_settings() -> None:
    check = TcpHealthCheck()
    assert check.connection_timeout == 1.0
    assert (check.consecutive_success, check.consecutive_failure) == (1, 1)
    assert repr(check) == (
        "TcpHealthCheck(connection_timeout=1.0, consecutive_success=1, consecutive_failure=1)"
    )
    with pytest.raises(ValueError, match="connection_timeout must be > 0"):
        TcpHealthCheck(connection_timeout=0)
    with pytest.raises(TypeError, match="health_changed_callback must be callable"):
        TcpHealthCheck(health_changed_callback=1)  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_http_check_ok_and_host_header() -> None:
    async with MockOrigin() as origin:
        check = HttpHealthCheck("example.org")
        await check.check(Backend(origin.address))
        [seen] = origin.seen
        assert (seen.method, seen.target, seen.header("host")) == ("GET", "/", "example.org")


@pytest.mark.anyio
async def test_http_check_fails_on_non_200() -> None:
    async with MockOrigin() as origin:
        check = HttpHealthCheck("example.org")
        check.req.set_uri("/status/503")
        with pytest.raises(Error) as info:
            await check.check(Backend(origin.address))
        assert info.value.etype == ErrorType.CustomCode("non 200 code", 503)


@pytest.mark.anyio
async def test_http_check_with_validator() -> None:
    def want_301(resp: ResponseHeader) -> None:
        if resp.status != 301:
            raise Error(ErrorType.CustomCode("non 301 code", resp.status), ErrorSource.UPSTREAM)

    async with MockOrigin() as origin:
        check = HttpHealthCheck("example.org", validator=want_301)
        backend = Backend(origin.address)
        check.req.set_uri("/status/301")
        await check.check(backend)
        check.req.set_uri("/")
        with pytest.raises(Error, match="non 301 code"):
            await check.check(backend)


@pytest.mark.anyio
async def test_http_check_connection_reuse() -> None:
    async with MockOrigin() as origin:
        backend = Backend(origin.address)
        fresh = HttpHealthCheck("example.org")
        await fresh.check(backend)
        await fresh.check(backend)
        assert origin.connections == 2  # every check does its own handshake
        reuse = HttpHealthCheck("example.org", reuse_connection=True)
        await reuse.check(backend)
        await reuse.check(backend)
        await reuse.check(backend)
        assert origin.connections == 3
        assert reuse.connector.stats.reused == 2
        assert [s.connection for s in origin.seen] == [1, 2, 3, 3, 3]


@pytest.mark.anyio
async def test_http_check_port_override_and_dead_backend() -> None:
    async with MockOrigin() as origin:
        check = HttpHealthCheck("example.org", port_override=origin.port)
        backend = Backend("127.0.0.1:1")  # nothing listens there
        await check.check(backend)
        assert check.peer_for(Backend("[::1]:1")).address == f"[::1]:{origin.port}"
        check.port_override = None
        with pytest.raises(Error) as info:
            await check.check(backend)
        assert info.value.etype == ErrorType.ConnectRefused


@pytest.mark.anyio
async def test_http_check_read_timeout() -> None:
    async with MockOrigin() as origin:
        check = HttpHealthCheck(
            "example.org", peer_options=PeerOptions(connection_timeout=1.0, read_timeout=0.05)
        )
        check.req.append_header("X-Sleep-Head", "5")
        with pytest.raises(Error) as info:
            await check.check(Backend(origin.address))
        assert info.value.etype == ErrorType.ReadTimedout


def test_http_check_settings() -> None:
    check = HttpHealthCheck("example.org")
    assert check.peer_options == PeerOptions(connection_timeout=1.0, read_timeout=1.0)
    assert not check.reuse_connection
    assert check.validator is None
    assert repr(check).startswith("HttpHealthCheck(host='example.org', tls=False")
    with pytest.raises(ValueError, match="port_override"):
        HttpHealthCheck("x", port_override=0)
    with pytest.raises(TypeError, match="host must be a non-empty str"):
        HttpHealthCheck("")
    with pytest.raises(TypeError, match="validator must be callable"):
        HttpHealthCheck("x", validator=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="peer_options must be a PeerOptions"):
        HttpHealthCheck("x", peer_options={})  # type: ignore[arg-type]


def test_tls_http_check_follows_what_the_core_supports() -> None:
    try:
        HttpPeer("127.0.0.1:1", tls=True, sni="example.org")
    except Error:
        with pytest.raises(Error, match="TLS"):
            HttpHealthCheck("example.org", tls=True)
    else:
        check = HttpHealthCheck("example.org", tls=True)
        assert check.sni == "example.org"
        assert check.peer_for(Backend("10.0.0.1:443")).tls
