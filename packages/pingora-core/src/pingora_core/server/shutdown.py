"""The server's shutdown signal: a one-way latch the server sets and every service reads.

`ShutdownTrigger` is the write side the server owns; `ShutdownWatch` is the read side handed to
services and apps. Once set it stays set. This module must not know about signals or services.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

__all__ = ["ShutdownTrigger", "ShutdownWatch"]

log = logging.getLogger("pingora_core.server")


class ShutdownWatch:
    """Read side of the server's shutdown signal, handed to every app and service.

    `is_shutting_down` is a cheap check for loops (the HTTP app checks it between requests);
    `await wait()` returns once graceful shutdown has started; `on_shutdown(fn)` runs `fn()`
    synchronously the moment it starts (listeners use it to stop accepting before anything else).
    """

    __slots__ = ("_callbacks", "_event")

    def __init__(self, event: asyncio.Event) -> None:
        self._event = event
        self._callbacks: list[Callable[[], object]] = []

    @property
    def is_shutting_down(self) -> bool:
        """True once the server has started shutting down."""
        return self._event.is_set()

    async def wait(self) -> None:
        """Return once graceful shutdown has started (at once if it already has)."""
        if not self._event.is_set():
            await self._event.wait()

    def on_shutdown(self, callback: Callable[[], object]) -> Callable[[], None]:
        """Call `callback()` when shutdown starts (now, if it has); returns an unsubscribe function.

        Callbacks run in the loop's thread, inside `trigger()`; one that raises is logged.
        """
        if self._event.is_set():
            _call(callback)
            return _noop
        self._callbacks.append(callback)

        def remove() -> None:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

        return remove

    def _fire(self) -> None:
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            _call(callback)

    def __repr__(self) -> str:
        return f"ShutdownWatch(is_shutting_down={self.is_shutting_down})"


class ShutdownTrigger:
    """Write side of the shutdown signal: `trigger()` flips every watch made from it, once."""

    __slots__ = ("_event", "_watch")

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self._watch = ShutdownWatch(self._event)

    @property
    def watch(self) -> ShutdownWatch:
        """The read side to hand to services and apps."""
        return self._watch

    @property
    def is_triggered(self) -> bool:
        """True once `trigger()` has been called."""
        return self._event.is_set()

    def trigger(self) -> None:
        """Start the shutdown; idempotent. Must be called from the event loop's thread."""
        if self._event.is_set():
            return
        self._event.set()
        self._watch._fire()

    def __repr__(self) -> str:
        return f"ShutdownTrigger(is_triggered={self.is_triggered})"


def _call(callback: Callable[[], object]) -> None:
    try:
        callback()
    except Exception:
        log.exception("shutdown callback %r failed", callback)


def _noop() -> None:
    return None
