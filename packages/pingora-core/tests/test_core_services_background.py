"""Background services: sharing the task, stopping on shutdown, cancellation when ignored."""

from __future__ import annotations

import asyncio

import anyio
import pytest

from pingora_core.server import ExecutionPhase, Server, ServerConf, ShutdownSignal, ShutdownWatch
from pingora_core.services import (
    BackgroundService,
    GenBackgroundService,
    ReadyNotifier,
    background_service,
)


class Ticker(BackgroundService):
    """Counts ticks until shutdown; records how it ended."""

    def __init__(self) -> None:
        self.ticks = 0
        self.ended = ""
        self.ticked = asyncio.Event()

    async def start(self, shutdown: ShutdownWatch) -> None:
        try:
            while not shutdown.is_shutting_down:
                self.ticks += 1
                self.ticked.set()
                with anyio.move_on_after(0.01):
                    await shutdown.wait()
            self.ended = "returned"
        except asyncio.CancelledError:
            self.ended = "cancelled"
            raise


class Deaf(BackgroundService):
    """Ignores the shutdown watch; swallows the first `swallow` cancellations."""

    def __init__(self, swallow: int = 0) -> None:
        self.swallow = swallow
        self.cancellations = 0
        self.running = asyncio.Event()
        self.release = asyncio.Event()

    async def start(self, shutdown: ShutdownWatch) -> None:
        self.running.set()
        while True:
            try:
                await self.release.wait()
                return
            except asyncio.CancelledError:
                self.cancellations += 1
                if self.cancellations > self.swallow:
                    raise


def test_background_service_wraps_and_shares_the_task() -> None:
    task = Ticker()
    service = background_service("ticker", task)
    assert isinstance(service, GenBackgroundService)
    assert service.task is task
    assert service.name == "ticker"
    assert not service.holds_connections
    assert "GenBackgroundService(name='ticker'" in repr(service)
    with pytest.raises(TypeError, match="needs a BackgroundService"):
        background_service("x", object())  # type: ignore[type-var]
    with pytest.raises(TypeError, match="non-empty str"):
        background_service("", task)


def test_adding_an_unwrapped_task_explains_the_fix() -> None:
    with pytest.raises(TypeError, match=r"wrap a BackgroundService with background_service"):
        Server().add_service(Ticker())  # type: ignore[arg-type]


async def run_with(server: Server, ready_event: asyncio.Event, kind: ShutdownSignal) -> None:
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(server.run)
            await ready_event.wait()
            server.request_shutdown(kind)


@pytest.mark.anyio
async def test_task_that_watches_shutdown_returns_on_its_own() -> None:
    task = Ticker()
    server = Server()
    handle = server.add_service(background_service("ticker", task))
    await run_with(server, task.ticked, ShutdownSignal.GRACEFUL_TERMINATE)
    assert task.ended == "returned"
    assert task.ticks >= 1
    assert handle.is_ready  # ready by default as soon as it started


@pytest.mark.anyio
async def test_fast_shutdown_cancels_at_once() -> None:
    task = Ticker()
    server = Server()
    server.add_service(background_service("ticker", task))
    await run_with(server, task.ticked, ShutdownSignal.FAST_SHUTDOWN)
    assert task.ended == "cancelled"


@pytest.mark.anyio
async def test_task_ignoring_shutdown_is_cancelled_after_the_timeout() -> None:
    # The grace period (300 s) is for connections; background work gets the shutdown timeout.
    task = Deaf()
    conf = ServerConf(grace_period_seconds=300, graceful_shutdown_timeout_seconds=0.2)
    server = Server(conf=conf)
    server.add_service(background_service("deaf", task))
    await run_with(server, task.running, ShutdownSignal.GRACEFUL_TERMINATE)
    assert task.cancellations == 1
    assert server.phase is ExecutionPhase.TERMINATED


@pytest.mark.anyio
async def test_task_swallowing_cancellation_is_abandoned_not_awaited_forever(
    caplog: pytest.LogCaptureFixture,
) -> None:
    task = Deaf(swallow=1)
    conf = ServerConf(grace_period_seconds=300, graceful_shutdown_timeout_seconds=0.1)
    server = Server(conf=conf)
    server.add_service(background_service("deaf", task))
    await run_with(server, task.running, ShutdownSignal.GRACEFUL_TERMINATE)
    assert server.phase is ExecutionPhase.TERMINATED
    assert "service 'deaf' did not stop" in caplog.text
    task.release.set()  # let the abandoned task end before the test's loop closes


class LateReady(BackgroundService):
    """Says ready only after its first round of work, like a load balancer's first discovery."""

    def __init__(self) -> None:
        self.first_round = asyncio.Event()
        self.backends: list[str] = []

    async def start(self, shutdown: ShutdownWatch) -> None:
        await shutdown.wait()

    async def start_with_ready_notifier(
        self, shutdown: ShutdownWatch, ready: ReadyNotifier
    ) -> None:
        await self.first_round.wait()
        self.backends = ["10.0.0.1:80"]
        ready.notify_ready()
        ready.notify_ready()  # only the first call counts
        await self.start(shutdown)


@pytest.mark.anyio
async def test_overriding_start_with_ready_notifier_delays_readiness() -> None:
    task = LateReady()
    server = Server()
    handle = server.add_service(background_service("lb", task))
    seen: list[list[str]] = []

    class Reader(BackgroundService):
        async def start(self, shutdown: ShutdownWatch) -> None:
            seen.append(list(task.backends))
            await shutdown.wait()

    reader = server.add_service(background_service("reader", Reader()))
    reader.add_dependency(handle)
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(server.run)
            await anyio.wait_all_tasks_blocked()
            assert not handle.is_ready
            assert seen == []
            assert "is_ready=False" in repr(handle.ready)
            task.first_round.set()
            await reader.wait_ready()
            server.request_shutdown()
    assert seen == [["10.0.0.1:80"]]
