"""Health state per backend and the `HealthCheck` interface every check implements.

`Health` is the mutable record `Backends` keeps per backend: healthy, enabled, and the count of
consecutive observations that disagree with the current health (it flips once the check's
threshold is reached). `HealthStatus` is its read-only snapshot. `HealthCheck` says how to probe
one backend, how many results in a row flip it, and what to call when it flips. No probing here.
"""

from __future__ import annotations

import abc
import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final, TypeAlias

from pingora_load_balancing._backend import Backend

__all__ = ["Health", "HealthChangedCallback", "HealthCheck", "HealthStatus", "logger"]

#: The logger every flip is reported on.
logger: Final = logging.getLogger("pingora.lb")

#: Called as `callback(backend, healthy)` when a backend flips; may return an awaitable.
HealthChangedCallback: TypeAlias = Callable[[Backend, bool], Awaitable[None] | None]


@dataclass(frozen=True, slots=True, kw_only=True)
class HealthStatus:
    """A snapshot of one backend's health: `ready` is healthy and enabled."""

    healthy: bool
    enabled: bool
    consecutive: int

    @property
    def ready(self) -> bool:
        return self.healthy and self.enabled


class Health:
    """The live health record of one backend (starts healthy and enabled)."""

    __slots__ = ("consecutive", "enabled", "healthy", "ready")

    def __init__(self) -> None:
        self.healthy = True
        self.enabled = True
        self.ready = True
        self.consecutive = 0

    def enable(self, enabled: bool) -> None:
        self.enabled = enabled
        self.ready = self.healthy and enabled

    def observe(self, healthy: bool, threshold: int) -> bool:
        """Record one check result; return True when this result flipped the health."""
        if healthy == self.healthy:
            self.consecutive = 0  # agreeing result: any streak of disagreement is broken
            return False
        self.consecutive += 1
        if self.consecutive < threshold:
            return False
        self.healthy = healthy
        self.ready = healthy and self.enabled
        self.consecutive = 0
        return True

    def snapshot(self) -> HealthStatus:
        return HealthStatus(
            healthy=self.healthy, enabled=self.enabled, consecutive=self.consecutive
        )

    def __repr__(self) -> str:
        return (f"Health(healthy={self.healthy}, enabled={self.enabled}, "
                f"consecutive={self.consecutive})")


def _check_threshold(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}")
    return value


class HealthCheck(abc.ABC):
    """How to probe a backend. Implement `check`: return when the backend is healthy, raise
    (any exception; a pingora `Error` reads best in logs) when it is not.

    `consecutive_success` results in a row flip an unhealthy backend to healthy,
    `consecutive_failure` flip a healthy one to unhealthy (both ≥ 1, default 1).
    `health_changed_callback(backend, healthy)`, if set, is called (and awaited if it returns
    an awaitable) after every flip; override `health_status_change` for more control.
    """

    def __init__(
        self,
        *,
        consecutive_success: int = 1,
        consecutive_failure: int = 1,
        health_changed_callback: HealthChangedCallback | None = None,
    ) -> None:
        self._success = _check_threshold("consecutive_success", consecutive_success)
        self._failure = _check_threshold("consecutive_failure", consecutive_failure)
        self.health_changed_callback = health_changed_callback

    @property
    def consecutive_success(self) -> int:
        """Successes in a row needed to flip an unhealthy backend to healthy."""
        return self._success

    @consecutive_success.setter
    def consecutive_success(self, value: int) -> None:
        self._success = _check_threshold("consecutive_success", value)

    @property
    def consecutive_failure(self) -> int:
        """Failures in a row needed to flip a healthy backend to unhealthy."""
        return self._failure

    @consecutive_failure.setter
    def consecutive_failure(self, value: int) -> None:
        self._failure = _check_threshold("consecutive_failure", value)

    @property
    def health_changed_callback(self) -> HealthChangedCallback | None:
        """Called as `callback(backend, healthy)` after a backend flips."""
        return self._callback

    @health_changed_callback.setter
    def health_changed_callback(self, callback: HealthChangedCallback | None) -> None:
        if callback is not None and not callable(callback):
            raise TypeError(f"health_changed_callback must be callable or None, "
                            f"not {type(callback).__name__}")
        self._callback = callback

    @abc.abstractmethod
    async def check(self, backend: Backend) -> None:
        """Probe `backend`; raise if it is unhealthy."""

    def health_threshold(self, success: bool) -> int:
        """How many results of this kind in a row flip the health."""
        return self._success if success else self._failure

    async def health_status_change(self, backend: Backend, healthy: bool) -> None:
        """Called after `backend` flipped to `healthy`; calls `health_changed_callback`."""
        callback = self._callback
        if callback is None:
            return
        result = callback(backend, healthy)
        if inspect.isawaitable(result):
            await result

    def _settings_repr(self) -> str:
        return f"consecutive_success={self._success}, consecutive_failure={self._failure}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._settings_repr()})"
