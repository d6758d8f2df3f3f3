"""The listening Service over real loopback sockets: serve, reuse, filter, bind errors, stops."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path

import anyio
import pytest

from pingora_core.apps import ServerApp
from pingora_core.errors import Error, ErrorType
from pingora_core.listeners import ConnectionFilter, TcpSocketOptions
from pingora_core.protocols.l4.stream import Stream
from pingora_core.server import ExecutionPhase, Server, ServerConf, ShutdownSignal, ShutdownWatch
from pingora_core.services import Service


class LineApp(ServerApp):
    """Answers each line: "echo X" → "X"; "hold" → waits for `release`, then "released".

    Hands the stream back after each line (keep-alive), so the service decides about reuse.
    """

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.holding = asyncio.Event()
        self.cleanups = 0
        self.served = 0

    async def process_new(self, stream: Stream, shutdown: ShutdownWatch) -> Stream | None:
        line = b""
        while not line.endswith(b"\n"):
            chunk = await stream.read()
            if not chunk:
                return None
            line += chunk
        self.served += 1
        text = line.decode().strip()
        if text == "hold":
            self.holding.set()
            await self.release.wait()
            stream.write(b"released\n")
        elif text == "boom":
            raise ValueError("app bug")
        else:
            stream.write(text.removeprefix("echo ").encode() + b"\n")
        await stream.drain()
        return stream

    async def cleanup(self) -> None:
        self.cleanups += 1


@asynccontextmanager
async def running(server: Server, *handles_to_wait: object) -> AsyncIterator[anyio.abc.TaskGroup]:
    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            tg.start_soon(server.run)
            for handle in server.services:
                await handle.wait_ready()
            yield tg


def tcp_service(app: ServerApp, name: str = "lines") -> Service:
    service = Service(name, app)
    service.add_tcp("127.0.0.1:0")
    return service


async def connect(addr: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    host, _, port = addr.rpartition(":")
    return await asyncio.open_connection(host, int(port))


async def ask(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, line: str) -> bytes:
    writer.write(line.encode() + b"\n")
    await writer.drain()
    return await reader.readline()


@pytest.mark.anyio
async def test_serves_and_reuses_connections() -> None:
    app = LineApp()
    service = tcp_service(app)
    server = Server()
    server.add_service(service)
    async with running(server):
        [addr] = service.bound_addresses()
        assert addr.startswith("127.0.0.1:")
        assert not addr.endswith(":0")
        reader, writer = await connect(addr)
        assert await ask(reader, writer, "echo one") == b"one\n"
        assert await ask(reader, writer, "echo two") == b"two\n"  # same connection, reused
        assert service.live_connections == 1
        writer.close()
        server.request_shutdown()
    assert app.served == 2
    assert app.cleanups == 1


@pytest.mark.anyio
async def test_several_endpoints_including_uds(tmp_path: Path) -> None:
    app = LineApp()
    service = Service("multi", app)
    service.add_tcp("127.0.0.1:0")
    service.add_tcp_with_settings("127.0.0.1:0", TcpSocketOptions(recv_buffer=65536))
    sock_path = str(tmp_path / "lines.sock")
    service.add_uds(sock_path, permissions=0o600)
    assert service.endpoints == ("127.0.0.1:0", "127.0.0.1:0", sock_path)
    server = Server()
    server.add_service(service)
    async with running(server):
        tcp1, tcp2, uds = service.bound_addresses()
        assert tcp1 != tcp2
        assert uds.startswith("unix:")
        for addr in (tcp1, tcp2):
            reader, writer = await connect(addr)
            assert await ask(reader, writer, f"echo {addr}") == f"{addr}\n".encode()
            writer.close()
        reader, writer = await asyncio.open_unix_connection(sock_path)
        assert await ask(reader, writer, "echo unix") == b"unix\n"
        writer.close()
        assert (await anyio.Path(sock_path).stat()).st_mode & 0o777 == 0o600
        server.request_shutdown()


@pytest.mark.anyio
async def test_address_in_use_is_a_clear_error() -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    addr = f"127.0.0.1:{taken.getsockname()[1]}"
    try:
        app = LineApp()
        service = Service("clash", app)
        service.add_tcp(addr)
        server = Server()
        server.add_service(service)
        with anyio.fail_after(10), pytest.raises(Error) as info:
            await server.run()
    finally:
        taken.close()
    assert info.value.etype == ErrorType.BindError
    assert f"{addr}: address already in use" in str(info.value)
    assert server.phase is ExecutionPhase.TERMINATED
    assert app.cleanups == 1


@pytest.mark.anyio
async def test_a_service_without_endpoints_fails_to_start() -> None:
    server = Server()
    server.add_service(Service("empty", LineApp()))
    with anyio.fail_after(10), pytest.raises(Error, match="'empty' has no endpoints"):
        await server.run()


class OnlyFrom(ConnectionFilter):
    def __init__(self) -> None:
        self.seen: list[str | None] = []

    async def should_accept(self, addr: str | None) -> bool:
        self.seen.append(addr)
        return len(self.seen) > 1  # refuse the first connection only


@pytest.mark.anyio
async def test_connection_filter() -> None:
    app = LineApp()
    service = tcp_service(app)
    refuse_first = OnlyFrom()
    service.set_connection_filter(refuse_first)
    assert service.connection_filter is refuse_first
    server = Server()
    server.add_service(service)
    async with running(server):
        [addr] = service.bound_addresses()
        reader, writer = await connect(addr)
        assert await ask(reader, writer, "echo refused?") == b""  # closed unanswered
        writer.close()
        reader, writer = await connect(addr)
        assert await ask(reader, writer, "echo welcome") == b"welcome\n"
        writer.close()
        server.request_shutdown()
    assert len(refuse_first.seen) == 2
    assert refuse_first.seen[0] is not None
    assert refuse_first.seen[0].startswith("127.0.0.1:")


@pytest.mark.anyio
async def test_app_failure_closes_only_that_connection(caplog: pytest.LogCaptureFixture) -> None:
    app = LineApp()
    service = tcp_service(app)
    server = Server()
    server.add_service(service)
    async with running(server):
        [addr] = service.bound_addresses()
        reader, writer = await connect(addr)
        assert await ask(reader, writer, "boom") == b""
        writer.close()
        reader, writer = await connect(addr)
        assert await ask(reader, writer, "echo still here") == b"still here\n"
        writer.close()
        server.request_shutdown()
    assert "app failed on connection" in caplog.text


@pytest.mark.anyio
async def test_graceful_stop_lets_in_flight_request_finish_then_closes() -> None:
    app = LineApp()
    service = tcp_service(app)
    server = Server(conf=ServerConf(grace_period_seconds=30))
    server.add_service(service)
    watch = server.watch_phases()
    async with running(server):
        [addr] = service.bound_addresses()
        idle_reader, idle_writer = await connect(addr)
        assert await ask(idle_reader, idle_writer, "echo idle") == b"idle\n"
        reader, writer = await connect(addr)
        writer.write(b"hold\n")
        await writer.drain()
        await app.holding.wait()
        server.request_shutdown(ShutdownSignal.GRACEFUL_TERMINATE)
        async for phase in watch:
            if phase is ExecutionPhase.SHUTDOWN_GRACE_PERIOD:
                break
        # No new connections once shutdown started.
        with pytest.raises(ConnectionRefusedError):
            await connect(addr)
        assert server.phase_history[-1] is ExecutionPhase.SHUTDOWN_GRACE_PERIOD
        app.release.set()
        assert await reader.readline() == b"released\n"
        assert await reader.read() == b""  # not reused: closed after the request
        writer.close()
        # The idle connection is still open (the app waits in read); ending it lets the stop end.
        idle_writer.close()
    assert server.phase is ExecutionPhase.TERMINATED
    assert app.cleanups == 1


@pytest.mark.anyio
async def test_grace_period_expiry_aborts_what_is_left() -> None:
    app = LineApp()
    service = tcp_service(app)
    server = Server(conf=ServerConf(grace_period_seconds=0.2, graceful_shutdown_timeout_seconds=5))
    server.add_service(service)
    async with running(server):
        [addr] = service.bound_addresses()
        reader, writer = await connect(addr)
        writer.write(b"hold\n")
        await writer.drain()
        await app.holding.wait()
        server.request_shutdown()
        with contextlib.suppress(ConnectionResetError):  # a reset is as good as an EOF here
            assert await reader.read() == b""
        writer.close()
    assert server.phase is ExecutionPhase.TERMINATED
    assert service.live_connections == 0
    assert app.cleanups == 1


@pytest.mark.anyio
async def test_fast_stop_aborts_in_flight_at_once() -> None:
    app = LineApp()
    service = tcp_service(app)
    server = Server(conf=ServerConf(grace_period_seconds=300))
    server.add_service(service)
    async with running(server):
        [addr] = service.bound_addresses()
        reader, writer = await connect(addr)
        writer.write(b"hold\n")
        await writer.drain()
        await app.holding.wait()
        server.request_shutdown(ShutdownSignal.FAST_SHUTDOWN)
        with suppress(ConnectionResetError):
            assert await reader.read() == b""
        writer.close()
    assert ExecutionPhase.SHUTDOWN_GRACE_PERIOD not in server.phase_history
    assert app.cleanups == 1


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(TypeError, match="needs a ServerApp"):
        Service("x", object())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="non-empty str"):
        Service("", LineApp())
    service = Service("x", LineApp())
    with pytest.raises(TypeError, match="non-empty str"):
        service.add_tcp("")
    with pytest.raises(TypeError, match="permissions must be an int"):
        service.add_uds("/tmp/x.sock", permissions="rw")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="permissions must be within"):
        service.add_uds("/tmp/x.sock", permissions=0o17777)
    assert service.bound_addresses() == []
    assert "Service(name='x', app=LineApp" in repr(service)


@pytest.mark.anyio
async def test_endpoints_cannot_change_once_started() -> None:
    service = tcp_service(LineApp())
    server = Server()
    server.add_service(service)
    async with running(server):
        with pytest.raises(RuntimeError, match="already started"):
            service.add_tcp("127.0.0.1:0")
        server.request_shutdown()
