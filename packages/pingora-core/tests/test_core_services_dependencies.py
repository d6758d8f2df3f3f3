"""Service dependencies: start order, readiness gating, cycle rejection, start failures."""

from __future__ import annotations

import asyncio

import anyio
import pytest

from pingora_core.errors import Error, ErrorType
from pingora_core.server import ExecutionPhase, Server, ServerConf, ShutdownWatch
from pingora_core.services import (
    DEPENDENCY_ERROR,
    BackgroundService,
    ReadyNotifier,
    ServiceBase,
    ServiceContext,
    ServiceHandle,
    background_service,
)
from pingora_core.services._dependencies import start_order


class Recorder(BackgroundService):
    """Logs its start; says ready only once `gate` is set (if given)."""

    def __init__(self, name: str, log: list[str], gate: asyncio.Event | None = None) -> None:
        self.name = name
        self.log = log
        self.gate = gate

    async def start(self, shutdown: ShutdownWatch) -> None:
        await shutdown.wait()

    async def start_with_ready_notifier(
        self, shutdown: ShutdownWatch, ready: ReadyNotifier
    ) -> None:
        self.log.append(f"{self.name} start")
        if self.gate is not None:
            await self.gate.wait()
        self.log.append(f"{self.name} ready")
        ready.notify_ready()
        await self.start(shutdown)


def add(
    server: Server, name: str, log: list[str], gate: asyncio.Event | None = None
) -> ServiceHandle:
    return server.add_service(background_service(name, Recorder(name, log, gate)))


@pytest.mark.anyio
async def test_dependent_starts_only_after_dependency_is_ready() -> None:
    server = Server()
    log: list[str] = []
    gate = asyncio.Event()
    b = add(server, "b", log)  # added first, but depends on a
    a = add(server, "a", log, gate)
    c = add(server, "c", log)  # unrelated: must not wait for a
    b.add_dependency(a)
    assert b.dependencies == (a,)
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(server.run)
            await c.wait_ready()
            await anyio.wait_all_tasks_blocked()
            assert "a start" in log
            assert "b start" not in log
            assert not a.is_ready
            assert not b.is_ready
            gate.set()
            await b.wait_ready()
            assert log.index("a ready") < log.index("b start")
            server.request_shutdown()
    assert server.phase is ExecutionPhase.TERMINATED


@pytest.mark.anyio
async def test_chain_starts_in_order() -> None:
    server = Server()
    log: list[str] = []
    handles = [add(server, name, log) for name in "dcba"]
    d, c, b, a = handles
    d.add_dependency(c)
    c.add_dependency(b)
    b.add_dependencies([a])
    assert [h.name for h in start_order(server.services)] == ["a", "b", "c", "d"]
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(server.run)
            await d.wait_ready()
            server.request_shutdown()
    assert [entry for entry in log if entry.endswith("start")] == [
        "a start",
        "b start",
        "c start",
        "d start",
    ]


def test_cycles_are_rejected() -> None:
    server = Server()
    log: list[str] = []
    a, b, c = (add(server, name, log) for name in "abc")
    a.add_dependency(b)
    b.add_dependency(c)
    with pytest.raises(Error) as info:
        c.add_dependency(a)
    assert info.value.etype == DEPENDENCY_ERROR == ErrorType.Custom("ServiceDependencyError")
    assert info.value.context == "dependency cycle: 'c' -> 'a' -> 'b' -> 'c'"
    assert c.dependencies == ()
    with pytest.raises(Error, match="'a' depends on itself"):
        a.add_dependency(a)
    a.add_dependency(b)  # adding the same edge twice is a no-op
    assert a.dependencies == (b,)


def test_bad_dependencies_are_rejected() -> None:
    server, other = Server(), Server()
    log: list[str] = []
    a = add(server, "a", log)
    x = add(other, "x", log)
    with pytest.raises(Error, match="belongs to another server"):
        a.add_dependency(x)
    with pytest.raises(TypeError, match="handle returned by add_service"):
        a.add_dependency("x")  # type: ignore[arg-type]
    assert "ServiceHandle(name='a'" in repr(a)


@pytest.mark.anyio
async def test_no_changes_once_running() -> None:
    server = Server()
    log: list[str] = []
    a, b = add(server, "a", log), add(server, "b", log)
    server.request_shutdown()
    await server.run()
    with pytest.raises(RuntimeError, match="already started"):
        a.add_dependency(b)
    with pytest.raises(RuntimeError, match="already running"):
        add(server, "c", log)


class Quiet(ServiceBase):
    """Never says ready itself; returns at once (or raises `fail`)."""

    def __init__(self, name: str, fail: BaseException | None = None, ready_first: bool = False):
        self._name = name
        self.fail = fail
        self.ready_first = ready_first
        self.started = False

    @property
    def name(self) -> str:
        return self._name

    async def start_service(self, ctx: ServiceContext) -> None:
        self.started = True
        if self.ready_first:
            ctx.ready.notify_ready()
        if self.fail is not None:
            raise self.fail


@pytest.mark.anyio
async def test_a_service_that_returns_counts_as_ready() -> None:
    server = Server()
    log: list[str] = []
    quiet = server.add_service(Quiet("quiet"))
    after = add(server, "after", log)
    after.add_dependency(quiet)
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(server.run)
            await after.wait_ready()
            server.request_shutdown()
    assert "after start" in log


@pytest.mark.anyio
async def test_start_failure_stops_the_server_and_is_raised() -> None:
    server = Server()
    log: list[str] = []
    boom = Error.explain(ErrorType.BindError, "127.0.0.1:1: address already in use")
    broken = server.add_service(Quiet("broken", fail=boom))
    dependent = add(server, "dependent", log)
    dependent.add_dependency(broken)
    with anyio.fail_after(10), pytest.raises(Error) as info:
        await server.run()
    assert info.value is boom
    assert log == []  # the dependent never started
    assert server.phase is ExecutionPhase.TERMINATED
    assert ExecutionPhase.GRACEFUL_TERMINATE not in server.phase_history


@pytest.mark.anyio
async def test_failure_after_ready_is_logged_not_fatal(caplog: pytest.LogCaptureFixture) -> None:
    server = Server()
    log: list[str] = []
    late = server.add_service(Quiet("late", fail=ValueError("oops"), ready_first=True))
    other = add(server, "other", log)
    other.add_dependency(late)
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(server.run)
            await other.wait_ready()
            server.request_shutdown()
    assert "service 'late' failed" in caplog.text
    assert "other start" in log


@pytest.mark.anyio
async def test_dependents_waiting_at_shutdown_never_start() -> None:
    # "slow" ignores the shutdown watch while it waits: it is cancelled after the timeout.
    server = Server(conf=ServerConf(graceful_shutdown_timeout_seconds=0.1))
    log: list[str] = []
    gate = asyncio.Event()  # never set
    slow = add(server, "slow", log, gate)
    waiting = add(server, "waiting", log)
    waiting.add_dependency(slow)
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(server.run)
            await anyio.wait_all_tasks_blocked()
            server.request_shutdown()
    assert log == ["slow start"]
