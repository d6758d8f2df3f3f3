"""`Backends`: the discovered set of backends with their health, enablement and health checks.

`update()` asks the discovery for the current set and swaps it in only when it changed (new
backends start healthy, known ones keep their health); `run_health_check()` probes every
backend and flips health by the check's thresholds, logging each flip on "pingora.lb".
It does not choose backends: selection algorithms do, over `get_backend()`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import anyio

from pingora_load_balancing._backend import Backend
from pingora_load_balancing._discovery import ServiceDiscovery, check_backends
from pingora_load_balancing._health import Health, HealthCheck, HealthStatus, logger

__all__ = ["Backends", "UpdateCallback"]

#: Called with the new backends (sorted) when `update()` finds the set changed.
UpdateCallback = Callable[[tuple[Backend, ...]], None]


class Backends:
    """A discovery, an optional health check, and the health of every backend found.

    `ready(backend)` is True when the backend is healthy and enabled; with no health check
    set, a backend the table does not know is taken as ready (as in Pingora).
    """

    __slots__ = ("_backends", "_discovery", "_health", "_health_check", "_set")

    def __init__(
        self, discovery: ServiceDiscovery, health_check: HealthCheck | None = None
    ) -> None:
        if not isinstance(discovery, ServiceDiscovery):
            raise TypeError(f"discovery must be a ServiceDiscovery, not {type(discovery).__name__}")
        self._discovery = discovery
        self._health_check: HealthCheck | None = None
        self._set: frozenset[Backend] = frozenset()
        self._backends: tuple[Backend, ...] = ()
        self._health: dict[int, Health] = {}
        if health_check is not None:
            self.set_health_check(health_check)

    @property
    def discovery(self) -> ServiceDiscovery:
        return self._discovery

    @property
    def health_check(self) -> HealthCheck | None:
        return self._health_check

    def set_health_check(self, health_check: HealthCheck | None) -> None:
        """Use `health_check` (None: no health checking)."""
        if health_check is not None and not isinstance(health_check, HealthCheck):
            raise TypeError(
                f"health_check must be a HealthCheck or None, not {type(health_check).__name__}"
            )
        self._health_check = health_check

    def get_backend(self) -> tuple[Backend, ...]:
        """The current backends, sorted (a snapshot: later updates do not change it)."""
        return self._backends

    def ready(self, backend: Backend) -> bool:
        """Whether `backend` may take traffic: healthy and enabled."""
        health = self._health.get(backend.hash_key())
        if health is None:
            return self._health_check is None
        return health.ready

    def set_enable(self, backend: Backend, enabled: bool) -> None:
        """Stop (False) or resume (True) sending traffic to a backend without touching its
        health; a backend the table does not know is ignored."""
        health = self._health.get(backend.hash_key())
        if health is not None:
            health.enable(bool(enabled))

    def health(self, backend: Backend) -> HealthStatus | None:
        """A snapshot of `backend`'s health, or None if it is not a current backend."""
        health = self._health.get(backend.hash_key())
        return None if health is None else health.snapshot()

    async def update(self, callback: UpdateCallback | None = None) -> bool:
        """Run the discovery and apply its answer; True when the set of backends changed
        (`callback(new_backends)` is then called before the new set is visible)."""
        found, enablement = await self._discovery.discover()
        return self.apply(found, enablement, callback)

    def apply(
        self,
        found: Iterable[Backend],
        enablement: Mapping[int | Backend, bool],
        callback: UpdateCallback | None = None,
    ) -> bool:
        """Swap in `found` if it differs from the current set; apply `enablement` either way."""
        new_set = check_backends(found, "discovered backends")
        enable = {
            (k.hash_key() if isinstance(k, Backend) else k): bool(v)
            for k, v in enablement.items()
        }
        if new_set == self._set:
            for key, enabled in enable.items():
                health = self._health.get(key)
                if health is not None:
                    health.enable(enabled)
            return False
        old = self._health
        table: dict[int, Health] = {}
        for backend in new_set:
            key = backend.hash_key()
            health = old.get(key)
            if health is None:
                health = Health()
            if key in enable:
                health.enable(enable[key])
            table[key] = health
        ordered = tuple(sorted(new_set))
        if callback is not None:
            callback(ordered)
        self._set = new_set
        self._backends = ordered
        self._health = table
        return True

    async def run_health_check(self, parallel: bool = False) -> None:
        """Check every backend once (all at the same time when `parallel`) and flip the
        health of those whose results reached the check's threshold."""
        check = self._health_check
        if check is None:
            return
        backends, table = self._backends, self._health
        if parallel:
            async with anyio.create_task_group() as tg:
                for backend in backends:
                    tg.start_soon(self._check_one, check, backend, table)
        else:
            for backend in backends:
                await self._check_one(check, backend, table)

    @staticmethod
    async def _check_one(check: HealthCheck, backend: Backend, table: dict[int, Health]) -> None:
        error: Exception | None = None
        try:
            await check.check(backend)
        except Exception as exc:
            error = exc
        health = table.get(backend.hash_key())
        if health is None:
            return
        ok = error is None
        if not health.observe(ok, check.health_threshold(ok)):
            return
        if ok:
            logger.info("%s becomes healthy", backend)
        else:
            logger.warning("%s becomes unhealthy, %s", backend, error)
        try:
            await check.health_status_change(backend, ok)
        except Exception:
            logger.exception("health change callback failed for %s", backend)

    def __repr__(self) -> str:
        ready = sum(1 for h in self._health.values() if h.ready)
        return (f"Backends(discovery={type(self._discovery).__name__}, "
                f"backends={len(self._backends)}, ready={ready}, "
                f"health_check={self._health_check!r})")
