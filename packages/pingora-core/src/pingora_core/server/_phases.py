"""The server's execution phases and the fan-out that lets callers watch them.

A server walks Setup → Bootstrap → BootstrapComplete → Running, then on shutdown
[GracefulTerminate →] ShutdownStarted → [ShutdownGracePeriod →] ShutdownRuntimes → Terminated
(the bracketed phases only on a graceful stop). Watchers never miss a phase: each gets its own
queue from the moment it subscribes. This module only records and broadcasts phases.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import AsyncIterator, Callable

__all__ = ["ExecutionPhase", "PhaseIterator", "PhaseTracker"]

log = logging.getLogger("pingora_core.server")


class ExecutionPhase(enum.Enum):
    """Where a server is in its life; `server.phase` holds the current one."""

    SETUP = "Setup"
    BOOTSTRAP = "Bootstrap"
    BOOTSTRAP_COMPLETE = "BootstrapComplete"
    RUNNING = "Running"
    GRACEFUL_TERMINATE = "GracefulTerminate"
    SHUTDOWN_STARTED = "ShutdownStarted"
    SHUTDOWN_GRACE_PERIOD = "ShutdownGracePeriod"
    SHUTDOWN_RUNTIMES = "ShutdownRuntimes"
    TERMINATED = "Terminated"

    def __repr__(self) -> str:
        return f"ExecutionPhase.{self.name}"


class PhaseIterator(AsyncIterator[ExecutionPhase]):
    """Yields the phase current at subscription, then every later one; stops after Terminated."""

    __slots__ = ("_done", "_queue", "_tracker")

    def __init__(self, tracker: PhaseTracker, current: ExecutionPhase) -> None:
        self._tracker = tracker
        self._queue: asyncio.Queue[ExecutionPhase] = asyncio.Queue()
        self._queue.put_nowait(current)
        self._done = False

    def _push(self, phase: ExecutionPhase) -> None:
        self._queue.put_nowait(phase)

    def __aiter__(self) -> PhaseIterator:
        return self

    async def __anext__(self) -> ExecutionPhase:
        if self._done:
            raise StopAsyncIteration
        phase = await self._queue.get()
        if phase is ExecutionPhase.TERMINATED:
            self._done = True
            self._tracker._unsubscribe(self)
        return phase

    def close(self) -> None:
        """Stop watching; later phases are no longer queued."""
        self._done = True
        self._tracker._unsubscribe(self)

    def __repr__(self) -> str:
        return f"PhaseIterator(pending={self._queue.qsize()}, done={self._done})"


class PhaseTracker:
    """Holds the current phase and broadcasts every change to iterators and callbacks."""

    __slots__ = ("_callbacks", "_history", "_iterators", "_phase")

    def __init__(self) -> None:
        self._phase = ExecutionPhase.SETUP
        self._history: list[ExecutionPhase] = [ExecutionPhase.SETUP]
        self._iterators: list[PhaseIterator] = []
        self._callbacks: list[Callable[[ExecutionPhase], object]] = []

    @property
    def phase(self) -> ExecutionPhase:
        return self._phase

    @property
    def history(self) -> tuple[ExecutionPhase, ...]:
        """Every phase entered so far, in order."""
        return tuple(self._history)

    def set(self, phase: ExecutionPhase) -> None:
        """Enter `phase` and tell every watcher; callbacks that raise are logged, not fatal."""
        self._phase = phase
        self._history.append(phase)
        log.info("server phase: %s", phase.value)
        for it in list(self._iterators):
            it._push(phase)
        for callback in list(self._callbacks):
            try:
                callback(phase)
            except Exception:
                log.exception("phase callback %r failed on %s", callback, phase.value)

    def subscribe(self) -> PhaseIterator:
        it = PhaseIterator(self, self._phase)
        if self._phase is not ExecutionPhase.TERMINATED:
            self._iterators.append(it)
        return it

    def _unsubscribe(self, it: PhaseIterator) -> None:
        if it in self._iterators:
            self._iterators.remove(it)

    def add_callback(self, callback: Callable[[ExecutionPhase], object]) -> None:
        self._callbacks.append(callback)

    def __repr__(self) -> str:
        return f"PhaseTracker(phase={self._phase.value}, watchers={len(self._iterators)})"
