"""LoadBalancer: construction, select / select_with over health and enablement, in-flight
tracking, and its life as a core background service (rounds, readiness, shutdown)."""

from __future__ import annotations

import asyncio
import logging

import anyio
import pytest

from pingora_core.server import Server, ShutdownTrigger, ShutdownWatch
from pingora_core.services import BackgroundService, ReadyNotifier, background_service
from pingora_load_balancing import (
    Backend,
    Backends,
    Consistent,
    Discovered,
    FNVHash,
    HealthCheck,
    LeastConnections,
    LoadBalancer,
    RoundRobin,
    ServiceDiscovery,
    Static,
)

B1 = Backend("1.1.1.1:80")
B2 = Backend("1.0.0.1:80")


class Scripted(HealthCheck):
    """Fails the backends in `down`; counts rounds."""

    def __init__(self) -> None:
        super().__init__()
        self.down: set[Backend] = set()
        self.checks = 0

    async def check(self, backend: Backend) -> None:
        self.checks += 1
        if backend in self.down:
            raise ConnectionRefusedError("down")


class Counting(ServiceDiscovery):
    """A Static discovery that counts calls and can be made to fail."""

    def __init__(self, backends: list[Backend]) -> None:
        self.inner = Static(backends)
        self.calls = 0
        self.fail = False
        self.called = asyncio.Event()

    async def discover(self) -> Discovered:
        self.calls += 1
        self.called.set()
        if self.fail:
            raise RuntimeError("discovery is down")
        return await self.inner.discover()


def test_static_backends() -> None:
    lb = LoadBalancer.try_from_iter(["1.1.1.1:80", "1.0.0.1:80"])
    assert set(lb.backends.get_backend()) == {B1, B2}
    assert lb.is_ready
    assert isinstance(lb.selection, RoundRobin)
    assert [lb.select(b"", 256) for _ in range(3)] == [B2, B1, B2]


def test_try_from_iter_refuses_bad_addresses_and_selections() -> None:
    with pytest.raises(ValueError, match="for host names use DnsDiscovery"):
        LoadBalancer.try_from_iter(["localhost:80"])
    with pytest.raises(TypeError, match=r"addresses\[0\] must be a Backend or an address str"):
        LoadBalancer.try_from_iter([80])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="selection must be a BackendSelection class"):
        LoadBalancer.try_from_iter(["1.1.1.1:80"], selection=RoundRobin([]))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="backends must be a Backends"):
        LoadBalancer(Static())  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_from_backends_is_empty_until_updated() -> None:
    backends = Backends(Static([Backend("127.0.0.1:80", weight=3), B1]))
    lb = LoadBalancer.from_backends(backends, selection=FNVHash)
    assert lb.select(b"key", 8) is None
    was_ready = lb.is_ready
    await lb.update()
    assert (was_ready, lb.is_ready) == (False, True)
    await lb.wait_ready()
    assert lb.select(b"key", 8) in backends.get_backend()


@pytest.mark.anyio
async def test_select_skips_unhealthy_and_disabled_backends() -> None:
    check = Scripted()
    lb = LoadBalancer.try_from_iter([B1, B2], selection=Consistent)
    lb.set_health_check(check)
    assert lb.health_check is check
    choice = lb.select(b"user-42", 256)
    assert choice is not None
    other = B1 if choice == B2 else B2
    check.down = {choice}
    await lb.run_health_check()
    assert lb.select(b"user-42", 256) == other
    lb.backends.set_enable(other, False)
    assert lb.select(b"user-42", 256) is None
    lb.backends.set_enable(other, True)
    check.down = set()
    await lb.run_health_check()
    assert lb.select(b"user-42", 256) == choice  # consistent: back to the first choice


def test_max_iterations_counts_every_pulled_item() -> None:
    lb = LoadBalancer.try_from_iter([B1, B2], selection=Consistent)
    first = lb.select(b"k", 1)
    assert first is not None
    lb.backends.set_enable(first, False)
    assert lb.select(b"k", 1) is None
    assert lb.select(b"k", 0) is None
    # the ring repeats a backend many times before the other comes up: a large bound is needed
    assert lb.select(b"k", 10_000) not in (None, first)
    with pytest.raises(ValueError, match="max_iterations must be >= 0"):
        lb.select(b"k", -1)
    with pytest.raises(TypeError, match="max_iterations must be an int"):
        lb.select(b"k", 1.5)  # type: ignore[arg-type]


def test_select_with_a_user_predicate() -> None:
    lb = LoadBalancer.try_from_iter([B1, B2])
    lb.backends.set_enable(B2, False)
    seen: list[tuple[Backend, bool]] = []

    def take_any(backend: Backend, ready: bool) -> bool:
        seen.append((backend, ready))
        return True

    assert lb.select_with(b"", 4, take_any) == B2  # ignores health / enablement
    assert seen == [(B2, False)]
    assert lb.select_with(b"", 4, lambda b, ready: b == B1) == B1
    assert lb.select_with(b"", 4, lambda b, ready: False) is None
    with pytest.raises(TypeError, match="accept must be callable"):
        lb.select_with(b"", 4, None)  # type: ignore[arg-type]


def test_least_connections_through_track() -> None:
    lb = LoadBalancer.try_from_iter([B1, B2], selection=LeastConnections)
    first = lb.select(b"", 4)
    assert first == B2  # tie: the first in order
    with lb.track(first) as lease:
        assert lb.select(b"", 4) == B1
        with lb.track(B1):
            assert lb.select(b"", 4) == B2
            second = lb.track(B2)
            assert lb.select(b"", 4) == B1
            second.release()
            second.release()  # once only
            assert second.released
        assert lease.backend == B2
        held = lease.released
    assert (held, lease.released) == (False, True)
    sel = lb.selection
    assert isinstance(sel, LeastConnections)
    assert sel.inflight(B1) == sel.inflight(B2) == 0


@pytest.mark.anyio
async def test_in_flight_counts_survive_a_backend_change() -> None:
    static = Static([B1, B2])
    lb = LoadBalancer(Backends(static), selection=LeastConnections)
    await lb.update()
    lease = lb.track(B2)
    added = Backend("1.0.0.2:80")
    static.add(added)
    await lb.update()
    assert lb.select(b"", 8) == added  # B2 is busy; the new one sorts before B1
    sel = lb.selection
    assert isinstance(sel, LeastConnections)
    assert sel.inflight(B2) == 1
    lease.release()
    assert sel.inflight(B2) == 0


def test_frequencies_are_checked() -> None:
    lb = LoadBalancer.try_from_iter([B1])
    lb.health_check_frequency = 2
    lb.update_frequency = 0.5
    assert (lb.health_check_frequency, lb.update_frequency) == (2.0, 0.5)
    with pytest.raises(ValueError, match="update_frequency must be > 0"):
        lb.update_frequency = 0
    with pytest.raises(TypeError, match="health_check_frequency must be seconds"):
        lb.health_check_frequency = "1s"  # type: ignore[assignment]
    assert "update_frequency=0.5, health_check_frequency=2.0" in repr(lb)


@pytest.mark.anyio
async def test_background_runs_once_without_frequencies() -> None:
    discovery = Counting([B1])
    check = Scripted()
    lb = LoadBalancer(Backends(discovery, check))
    trigger = ShutdownTrigger()
    with anyio.fail_after(10):
        await lb.start(trigger.watch)  # returns by itself: nothing to repeat
    assert (discovery.calls, check.checks) == (1, 1)
    assert lb.is_ready


@pytest.mark.anyio
async def test_background_service_repeats_then_stops_on_shutdown() -> None:
    discovery = Counting([B1, B2])
    check = Scripted()
    lb = LoadBalancer(Backends(discovery, check))
    lb.update_frequency = 0.001
    lb.health_check_frequency = 0.001
    lb.parallel_health_check = True
    trigger = ShutdownTrigger()
    ready = ReadyNotifier("lb")
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(lb.start_with_ready_notifier, trigger.watch, ready)
            await ready.wait()
            assert lb.is_ready
            assert lb.select(b"", 4) is not None
            while discovery.calls < 3:
                discovery.called.clear()
                await discovery.called.wait()
            trigger.trigger()
    assert check.checks >= 4


@pytest.mark.anyio
async def test_failed_discovery_is_logged_and_still_makes_it_ready(
    caplog: pytest.LogCaptureFixture,
) -> None:
    discovery = Counting([B1])
    discovery.fail = True
    lb = LoadBalancer(Backends(discovery))
    with anyio.fail_after(10):
        await lb.start(ShutdownTrigger().watch)
    assert lb.is_ready
    assert lb.select(b"", 4) is None
    [record] = [r for r in caplog.records if r.name == "pingora.lb"]
    assert record.levelno == logging.WARNING
    assert "discovery is down" in record.getMessage()


@pytest.mark.anyio
async def test_as_a_server_service_dependents_start_after_the_first_update() -> None:
    discovery = Counting([B1, B2])
    lb = LoadBalancer(Backends(discovery), selection=RoundRobin)
    lb.update_frequency = 60
    server = Server()
    handle = server.add_service(background_service("health check", lb))
    picks: list[Backend | None] = []
    started = asyncio.Event()

    class Proxy(BackgroundService):
        async def start(self, shutdown: ShutdownWatch) -> None:
            picks.append(lb.select(b"", 4))
            started.set()
            await shutdown.wait()

    proxy = server.add_service(background_service("proxy", Proxy()))
    proxy.add_dependency(handle)
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(server.run)
            await started.wait()
            server.request_shutdown()
    assert picks == [B2]  # the first update was done before the proxy started
    assert discovery.calls == 1
