"""`LoadBalancer`: backends, their health, and a selection algorithm, kept fresh in the
background.

`select(key, max_iterations)` walks the algorithm's order and returns the first backend that
is ready (healthy and enabled), skipping repeats; every item pulled counts toward
`max_iterations`. As a core `BackgroundService` it runs discovery every `update_frequency` and
health checks every `health_check_frequency` seconds until shutdown (each once when its
frequency is None), and says it is ready after its first round.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Iterable

import anyio

from pingora_core.server import ShutdownWatch
from pingora_core.services import BackgroundService, ReadyNotifier
from pingora_load_balancing._backend import Backend
from pingora_load_balancing._backends import Backends
from pingora_load_balancing._discovery import Static
from pingora_load_balancing._health import HealthCheck, logger
from pingora_load_balancing._selection._base import (
    BackendSelection,
    SelectionLease,
    UniqueIterator,
    check_max_iterations,
)
from pingora_load_balancing._selection._weighted import RoundRobin

__all__ = ["DEFAULT_MAX_ITERATIONS", "Accept", "LoadBalancer"]

#: The `max_iterations` of `select` when none is given.
DEFAULT_MAX_ITERATIONS = 256

#: `accept(backend, ready) -> bool` decides in `select_with` whether to take a backend.
Accept = Callable[[Backend, bool], bool]


def _frequency(name: str, value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be seconds (a number) or None, not {type(value).__name__}")
    if math.isnan(value) or value <= 0:
        raise ValueError(f"{name} must be > 0 seconds or None, got {value}")
    return float(value)


class LoadBalancer(BackgroundService):
    """Chooses a backend for each request: `LoadBalancer.try_from_iter(["10.0.0.1:80", ...])`
    or `LoadBalancer.from_backends(Backends(discovery), selection=Consistent)`.

    `selection` is a `BackendSelection` class (RoundRobin, Random, FNVHash, Consistent,
    LeastConnections, or your own); it is rebuilt whenever the set of backends changes.
    """

    def __init__(
        self, backends: Backends, selection: type[BackendSelection] = RoundRobin
    ) -> None:
        if not isinstance(backends, Backends):
            raise TypeError(f"backends must be a Backends, not {type(backends).__name__}")
        if not (isinstance(selection, type) and issubclass(selection, BackendSelection)):
            raise TypeError(f"selection must be a BackendSelection class, got {selection!r}")
        self._backends = backends
        self._selection_type = selection
        self._selection: BackendSelection = selection.build(backends.get_backend(), None)
        self._health_check_frequency: float | None = None
        self._update_frequency: float | None = None
        self.parallel_health_check = False
        self._ready = asyncio.Event()

    @classmethod
    def from_backends(
        cls, backends: Backends, selection: type[BackendSelection] = RoundRobin
    ) -> LoadBalancer:
        """A load balancer over `backends`; it has no backends until its first `update()`."""
        return cls(backends, selection)

    @classmethod
    def try_from_iter(
        cls, addresses: Iterable[str | Backend], selection: type[BackendSelection] = RoundRobin
    ) -> LoadBalancer:
        """A ready load balancer over a fixed list of addresses ("ip:port", "[v6]:port",
        "unix:/path") or `Backend`s; a bad address raises ValueError."""
        lb = cls(Backends(Static.from_addresses(addresses)), selection)
        discovery = lb._backends.discovery
        assert isinstance(discovery, Static)
        lb._apply(discovery.get())
        lb._ready.set()
        return lb

    # -- settings -------------------------------------------------------------------------------

    @property
    def health_check_frequency(self) -> float | None:
        """Seconds between health check rounds in the background (None: once at start)."""
        return self._health_check_frequency

    @health_check_frequency.setter
    def health_check_frequency(self, value: float | None) -> None:
        self._health_check_frequency = _frequency("health_check_frequency", value)

    @property
    def update_frequency(self) -> float | None:
        """Seconds between discovery rounds in the background (None: once at start)."""
        return self._update_frequency

    @update_frequency.setter
    def update_frequency(self, value: float | None) -> None:
        self._update_frequency = _frequency("update_frequency", value)

    @property
    def backends(self) -> Backends:
        return self._backends

    @property
    def selection(self) -> BackendSelection:
        """The current selection (replaced when the set of backends changes)."""
        return self._selection

    @property
    def health_check(self) -> HealthCheck | None:
        return self._backends.health_check

    def set_health_check(self, health_check: HealthCheck | None) -> None:
        """Check backends with `health_check` (None: no health checks, all count as healthy)."""
        self._backends.set_health_check(health_check)

    # -- work -----------------------------------------------------------------------------------

    def _apply(self, found: Iterable[Backend]) -> bool:
        return self._backends.apply(found, {}, self._rebuild)

    def _rebuild(self, backends: tuple[Backend, ...]) -> None:
        self._selection = self._selection_type.build(backends, self._selection)

    async def update(self) -> bool:
        """Run discovery; rebuild the selection if the set of backends changed (returned)."""
        changed = await self._backends.update(self._rebuild)
        self._ready.set()
        return changed

    async def run_health_check(self) -> None:
        """One round of health checks (in parallel if `parallel_health_check`)."""
        await self._backends.run_health_check(self.parallel_health_check)

    @property
    def is_ready(self) -> bool:
        """True after the first update (or first background round)."""
        return self._ready.is_set()

    async def wait_ready(self) -> None:
        """Return once the load balancer has had its first update."""
        await self._ready.wait()

    # -- selection ------------------------------------------------------------------------------

    def select(self, key: bytes, max_iterations: int = DEFAULT_MAX_ITERATIONS) -> Backend | None:
        """The first ready backend in the algorithm's order for `key`, or None when none is
        found within `max_iterations` items."""
        if max_iterations.__class__ is not int or max_iterations < 0:
            check_max_iterations(max_iterations)
        backends = self._backends
        table = backends._health
        unknown_ok = backends._health_check is None
        candidates = self._selection.iter(key)
        for backend in candidates:  # the first choice, on the fast path
            if max_iterations < 1:
                return None
            health = table.get(backend._hk)
            if health.ready if health is not None else unknown_ok:
                return backend
            break
        else:
            return None
        steps = 1
        seen = {backend._hk}
        for backend in candidates:
            if steps >= max_iterations:
                return None
            steps += 1
            hk = backend._hk
            if hk in seen:
                continue
            seen.add(hk)
            health = table.get(hk)
            if health.ready if health is not None else unknown_ok:
                return backend
        return None

    def select_with(self, key: bytes, max_iterations: int, accept: Accept) -> Backend | None:
        """Like `select`, but `accept(backend, ready)` decides which backend to take."""
        if not callable(accept):
            raise TypeError(f"accept must be callable, not {type(accept).__name__}")
        ready = self._backends.ready
        for backend in UniqueIterator(self._selection.iter(key), max_iterations):
            if accept(backend, ready(backend)):
                return backend
        return None

    def track(self, backend: Backend) -> SelectionLease:
        """Count a request to `backend` until the lease is released (use `with`); this is what
        `LeastConnections` balances on."""
        return SelectionLease(self._selection, backend, self._current_selection)

    def _current_selection(self) -> BackendSelection:
        return self._selection

    # -- background service ---------------------------------------------------------------------

    async def start(self, shutdown: ShutdownWatch) -> None:
        await self._run(shutdown, None)

    async def start_with_ready_notifier(
        self, shutdown: ShutdownWatch, ready: ReadyNotifier
    ) -> None:
        await self._run(shutdown, ready)

    async def _run(self, shutdown: ShutdownWatch, ready: ReadyNotifier | None) -> None:
        now = anyio.current_time()
        next_update = next_check = now
        first = True
        while not shutdown.is_shutting_down:
            if next_update <= now:
                try:
                    await self.update()
                except Exception as exc:
                    logger.warning("load balancer discovery failed: %s", exc)
                next_update = now + (self._update_frequency or math.inf)
            if next_check <= now:
                await self.run_health_check()
                next_check = now + (self._health_check_frequency or math.inf)
            if first:
                first = False
                self._ready.set()
                if ready is not None:
                    ready.notify_ready()
            if self._update_frequency is None and self._health_check_frequency is None:
                return
            delay = min(next_update, next_check) - anyio.current_time()
            if delay > 0:
                with anyio.move_on_after(delay):
                    await shutdown.wait()
            now = anyio.current_time()

    def __repr__(self) -> str:
        return (f"LoadBalancer(selection={self._selection!r}, backends={self._backends!r}, "
                f"update_frequency={self._update_frequency}, "
                f"health_check_frequency={self._health_check_frequency}, "
                f"parallel_health_check={self.parallel_health_check}, ready={self.is_ready})")
