"""Execution phases: the sequences of a graceful and a fast stop, watched two ways."""

from __future__ import annotations

import threading

import anyio
import pytest

from pingora_core.server import (
    ExecutionPhase,
    Server,
    ServerConf,
    ShutdownSignal,
    ShutdownTrigger,
)

P = ExecutionPhase
START = [P.SETUP, P.BOOTSTRAP, P.BOOTSTRAP_COMPLETE, P.RUNNING]
GRACEFUL = [
    P.GRACEFUL_TERMINATE,
    P.SHUTDOWN_STARTED,
    P.SHUTDOWN_GRACE_PERIOD,
    P.SHUTDOWN_RUNTIMES,
    P.TERMINATED,
]
FAST = [P.SHUTDOWN_STARTED, P.SHUTDOWN_RUNTIMES, P.TERMINATED]


async def run_and_stop(server: Server, kind: ShutdownSignal) -> list[ExecutionPhase]:
    seen: list[ExecutionPhase] = []
    watch = server.watch_phases()
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(server.run)
            async for phase in watch:
                seen.append(phase)
                if phase is P.RUNNING:
                    server.request_shutdown(kind)
    return seen


@pytest.mark.anyio
@pytest.mark.parametrize(
    "kind", [ShutdownSignal.GRACEFUL_TERMINATE, ShutdownSignal.GRACEFUL_UPGRADE]
)
async def test_graceful_sequence(kind: ShutdownSignal) -> None:
    server = Server()
    assert server.phase_history == (P.SETUP,)
    assert await run_and_stop(server, kind) == START + GRACEFUL
    assert server.phase is P.TERMINATED
    assert list(server.phase_history) == START + GRACEFUL
    assert server.shutdown_watch.is_shutting_down


@pytest.mark.anyio
async def test_fast_sequence() -> None:
    server = Server()
    assert await run_and_stop(server, ShutdownSignal.FAST_SHUTDOWN) == START + FAST


@pytest.mark.anyio
async def test_callback_sees_every_later_phase() -> None:
    server = Server()
    seen: list[ExecutionPhase] = []
    server.on_phase(seen.append)
    server.on_phase(lambda phase: 1 / 0)  # a failing callback is logged, not fatal
    await run_and_stop(server, ShutdownSignal.GRACEFUL_TERMINATE)
    assert seen == START[1:] + GRACEFUL


@pytest.mark.anyio
async def test_late_watcher_sees_terminated_once() -> None:
    server = Server()
    await run_and_stop(server, ShutdownSignal.FAST_SHUTDOWN)
    assert [phase async for phase in server.watch_phases()] == [P.TERMINATED]


@pytest.mark.anyio
async def test_closed_watcher_stops() -> None:
    server = Server()
    watch = server.watch_phases()
    watch.close()
    assert [phase async for phase in watch] == []
    assert "done=True" in repr(watch)


@pytest.mark.anyio
async def test_shutdown_requested_before_run_is_honoured() -> None:
    server = Server()
    server.request_shutdown()
    with anyio.fail_after(10):
        await server.run()
    assert list(server.phase_history) == START + GRACEFUL


@pytest.mark.anyio
async def test_request_from_another_thread() -> None:
    server = Server()
    watch = server.watch_phases()
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(server.run)
            async for phase in watch:
                if phase is P.RUNNING:
                    thread = threading.Thread(target=server.request_shutdown)
                    thread.start()
                    await anyio.to_thread.run_sync(thread.join)
    assert server.phase is P.TERMINATED


@pytest.mark.anyio
async def test_cancelling_run_stops_the_server() -> None:
    server = Server()
    watch = server.watch_phases()
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(server.run)
            async for phase in watch:
                if phase is P.RUNNING:
                    tg.cancel_scope.cancel()
                    break
    assert server.phase is P.TERMINATED
    assert list(server.phase_history) == START + FAST


@pytest.mark.anyio
async def test_second_request_cuts_the_grace_period_short() -> None:
    # A listening-like service that never finishes: only the second request ends the wait.
    from pingora_core.services import ServiceBase, ServiceContext

    class Stubborn(ServiceBase):
        holds_connections = True

        @property
        def name(self) -> str:
            return "stubborn"

        async def start_service(self, ctx: ServiceContext) -> None:
            ctx.ready.notify_ready()
            await anyio.sleep_forever()

    server = Server(conf=ServerConf(grace_period_seconds=300))
    server.add_service(Stubborn())
    watch = server.watch_phases()
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(server.run)
            async for phase in watch:
                if phase is P.RUNNING:
                    server.request_shutdown()
                elif phase is P.SHUTDOWN_GRACE_PERIOD:
                    server.request_shutdown(ShutdownSignal.FAST_SHUTDOWN)
    assert server.phase is P.TERMINATED


@pytest.mark.anyio
async def test_a_server_runs_once() -> None:
    server = Server()
    server.request_shutdown()
    await server.run()
    with pytest.raises(RuntimeError, match="runs once"):
        await server.run()


def test_bootstrap_is_idempotent() -> None:
    server = Server()
    server.bootstrap()
    server.bootstrap()
    assert list(server.phase_history) == [P.SETUP, P.BOOTSTRAP, P.BOOTSTRAP_COMPLETE]
    assert "BootstrapComplete" in repr(server)


def test_request_shutdown_checks_its_argument() -> None:
    with pytest.raises(TypeError, match="ShutdownSignal"):
        Server().request_shutdown("now")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="opt must be an Opt"):
        Server("x")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="conf must be a ServerConf"):
        Server(conf={})  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_shutdown_watch() -> None:
    trigger = ShutdownTrigger()
    watch = trigger.watch
    assert repr(watch) == "ShutdownWatch(is_shutting_down=False)"
    async with anyio.create_task_group() as tg:
        tg.start_soon(watch.wait)
        await anyio.wait_all_tasks_blocked()
        trigger.trigger()
    trigger.trigger()  # idempotent
    assert watch.is_shutting_down
    assert trigger.is_triggered
    with anyio.fail_after(1):
        await watch.wait()  # returns at once once set


def test_on_shutdown_callbacks_run_inside_trigger() -> None:
    trigger = ShutdownTrigger()
    calls: list[str] = []
    trigger.watch.on_shutdown(lambda: calls.append("first"))
    remove = trigger.watch.on_shutdown(lambda: calls.append("removed"))
    trigger.watch.on_shutdown(lambda: 1 / 0)  # logged, does not stop the others
    trigger.watch.on_shutdown(lambda: calls.append("last"))
    remove()
    remove()
    trigger.trigger()
    assert calls == ["first", "last"]
    trigger.trigger()
    assert calls == ["first", "last"]  # once only
    trigger.watch.on_shutdown(lambda: calls.append("late"))  # already set: runs at once
    assert calls == ["first", "last", "late"]
    assert repr(trigger) == "ShutdownTrigger(is_triggered=True)"
