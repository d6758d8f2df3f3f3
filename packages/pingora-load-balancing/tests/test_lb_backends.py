"""Backends: updates only on change, health carried over, enablement, readiness rules."""

from __future__ import annotations

import pytest

from pingora_load_balancing import (
    Backend,
    Backends,
    Discovered,
    HealthCheck,
    HealthStatus,
    ServiceDiscovery,
    Static,
)

GOOD1 = Backend("1.1.1.1:80")
GOOD2 = Backend("1.0.0.1:80")
BAD = Backend("127.0.0.1:79")


class FailUnless(HealthCheck):
    """Fails every backend not in `good` (no network)."""

    def __init__(
        self, good: set[Backend], consecutive_success: int = 1, consecutive_failure: int = 1
    ) -> None:
        super().__init__(
            consecutive_success=consecutive_success, consecutive_failure=consecutive_failure
        )
        self.good = good

    async def check(self, backend: Backend) -> None:
        if backend not in self.good:
            raise ConnectionRefusedError(f"{backend} refused")


@pytest.mark.anyio
async def test_update_reports_changes_and_calls_back_once() -> None:
    discovery = Static()
    discovery.add(GOOD1)
    discovery.add(GOOD2)
    discovery.add(BAD)
    backends = Backends(discovery)
    calls: list[tuple[Backend, ...]] = []
    assert await backends.update(calls.append) is True
    assert calls == [(GOOD2, GOOD1, BAD)]
    assert await backends.update(calls.append) is False
    assert len(calls) == 1
    assert backends.get_backend() == (GOOD2, GOOD1, BAD)
    discovery.remove(BAD)
    assert await backends.update() is True
    assert backends.get_backend() == (GOOD2, GOOD1)
    assert backends.health(BAD) is None


@pytest.mark.anyio
async def test_health_check_marks_only_the_bad_backend() -> None:
    backends = Backends(Static([GOOD1, GOOD2, BAD]), FailUnless({GOOD1, GOOD2}))
    await backends.update()
    assert all(backends.ready(b) for b in (GOOD1, GOOD2, BAD))  # new backends start healthy
    await backends.run_health_check()
    assert backends.ready(GOOD1)
    assert backends.ready(GOOD2)
    assert not backends.ready(BAD)
    assert backends.health(BAD) == HealthStatus(healthy=False, enabled=True, consecutive=0)


@pytest.mark.anyio
async def test_parallel_health_check() -> None:
    backends = Backends(Static([GOOD1, GOOD2, BAD]), FailUnless({GOOD1, GOOD2}))
    await backends.update()
    await backends.run_health_check(parallel=True)
    assert [backends.ready(b) for b in (GOOD1, GOOD2, BAD)] == [True, True, False]


@pytest.mark.anyio
async def test_existing_health_carries_over_and_new_backends_start_healthy() -> None:
    discovery = Static([GOOD1, BAD])
    backends = Backends(discovery, FailUnless({GOOD1}))
    await backends.update()
    await backends.run_health_check()
    assert not backends.ready(BAD)
    late = Backend("127.0.0.1:78")
    discovery.add(late)
    assert await backends.update() is True
    assert not backends.ready(BAD)  # kept
    assert backends.ready(late)  # new: healthy until checked


@pytest.mark.anyio
async def test_set_enable_drains_without_removing() -> None:
    backends = Backends(Static([GOOD1, GOOD2]))
    await backends.update()
    backends.set_enable(GOOD1, False)
    assert not backends.ready(GOOD1)
    assert backends.health(GOOD1) == HealthStatus(healthy=True, enabled=False, consecutive=0)
    assert GOOD1 in backends.get_backend()
    await backends.update()  # an unchanged discovery leaves the enablement alone
    assert not backends.ready(GOOD1)
    backends.set_enable(GOOD1, True)
    assert backends.ready(GOOD1)
    backends.set_enable(BAD, False)  # unknown: ignored
    assert backends.health(BAD) is None


@pytest.mark.anyio
async def test_discovery_readiness() -> None:
    class Disabling(ServiceDiscovery):
        def __init__(self) -> None:
            self.inner = Static([GOOD1, GOOD2, BAD])
            self.enabled: dict[int | Backend, bool] = {BAD.hash_key(): False}

        async def discover(self) -> Discovered:
            found, _ = await self.inner.discover()
            return found, self.enabled

    discovery = Disabling()
    backends = Backends(discovery)
    assert await backends.update() is True
    assert [backends.ready(b) for b in (GOOD1, GOOD2, BAD)] == [True, True, False]
    # an enablement map applies even when the set did not change, keyed by backend too
    discovery.enabled = {BAD: True, GOOD2: False}
    assert await backends.update() is False
    assert [backends.ready(b) for b in (GOOD1, GOOD2, BAD)] == [True, False, True]


@pytest.mark.anyio
async def test_backends_keep_their_ext() -> None:
    b1 = Backend("1.1.1.1:80", ext={"flag": True})
    b2 = Backend("1.0.0.1:80", ext={"n": 1})
    backends = Backends(Static([b1, b2]))
    await backends.update()
    found = backends.get_backend()
    assert found[0].ext == {"n": 1}
    assert found[-1].ext == {"flag": True}


@pytest.mark.anyio
async def test_ready_without_and_with_a_health_check_for_unknown_backends() -> None:
    backends = Backends(Static([GOOD1]))
    await backends.update()
    assert backends.ready(BAD)  # no health check: unknown counts as ready (as in Pingora)
    backends.set_health_check(FailUnless(set()))
    assert not backends.ready(BAD)
    assert "backends=1, ready=1" in repr(backends)


def test_bad_arguments() -> None:
    with pytest.raises(TypeError, match="discovery must be a ServiceDiscovery"):
        Backends([GOOD1])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="health_check must be a HealthCheck"):
        Backends(Static(), object())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"Static backends\[0\] must be a Backend"):
        Static(["1.1.1.1:80"])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="not a string"):
        Static.from_addresses("1.1.1.1:80")
    with pytest.raises(ValueError, match="not an IP address"):
        Static.from_addresses(["localhost:80"])
    with pytest.raises(ValueError, match="consecutive_failure must be at least 1"):
        FailUnless(set(), consecutive_failure=0)
    with pytest.raises(TypeError, match="consecutive_success must be an int"):
        FailUnless(set(), consecutive_success=1.5)  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_apply_checks_what_discovery_returned() -> None:
    class Broken(ServiceDiscovery):
        async def discover(self) -> Discovered:
            return ["1.1.1.1:80"], {}  # type: ignore[list-item]

    with pytest.raises(TypeError, match=r"discovered backends\[0\] must be a Backend"):
        await Backends(Broken()).update()


def test_static_runtime_changes() -> None:
    s = Static.from_addresses(["1.1.1.1:80", GOOD2])
    assert s.get() == {GOOD1, GOOD2}
    s.add(BAD)
    s.remove(GOOD1)
    s.remove(GOOD1)
    assert s.get() == {GOOD2, BAD}
    s.set([GOOD1])
    assert s.get() == {GOOD1}
    assert repr(s) == "Static(backends=[Backend('1.1.1.1:80', weight=1)])"
    with pytest.raises(TypeError, match="backend must be a Backend"):
        s.add("1.1.1.1:80")  # type: ignore[arg-type]
