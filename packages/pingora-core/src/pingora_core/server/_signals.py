"""Which shutdown was asked for, and the OS signals that ask for it.

SIGINT asks for a fast shutdown, SIGTERM for a graceful one, SIGQUIT for a graceful upgrade
(handled as a graceful shutdown until zero-downtime upgrade exists). Handlers are installed on
the running loop only and removed when the server stops; this module never exits the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import signal
from collections.abc import Callable

__all__ = ["ShutdownSignal", "install_signal_handlers"]

log = logging.getLogger("pingora_core.server")


class ShutdownSignal(enum.Enum):
    """How the server was asked to stop."""

    GRACEFUL_UPGRADE = "GracefulUpgrade"  # SIGQUIT
    GRACEFUL_TERMINATE = "GracefulTerminate"  # SIGTERM
    FAST_SHUTDOWN = "FastShutdown"  # SIGINT

    @property
    def is_graceful(self) -> bool:
        return self is not ShutdownSignal.FAST_SHUTDOWN


_SIGNALS: dict[str, ShutdownSignal] = {
    "SIGINT": ShutdownSignal.FAST_SHUTDOWN,
    "SIGTERM": ShutdownSignal.GRACEFUL_TERMINATE,
    "SIGQUIT": ShutdownSignal.GRACEFUL_UPGRADE,
}


def install_signal_handlers(
    loop: asyncio.AbstractEventLoop, request: Callable[[ShutdownSignal], None]
) -> Callable[[], None]:
    """Route SIGINT/SIGTERM/SIGQUIT to `request`; returns the function that removes them.

    Outside the main thread, or where the loop cannot watch signals, nothing is installed and
    a warning is logged: the server can still be stopped with `request_shutdown()`.
    """
    installed: list[int] = []
    for name, kind in _SIGNALS.items():
        signum = getattr(signal, name, None)
        if signum is None:
            continue
        try:
            loop.add_signal_handler(signum, request, kind)
        except (ValueError, RuntimeError, NotImplementedError) as exc:
            log.warning("cannot watch %s here (%s); use request_shutdown() instead", name, exc)
            continue
        installed.append(signum)

    def remove() -> None:
        for signum in installed:
            with contextlib.suppress(ValueError, RuntimeError):  # the loop is already closed
                loop.remove_signal_handler(signum)
        installed.clear()

    return remove
