"""Choosing and driving the event loop for `Server.run_forever`.

"auto" means uvloop when it is installed, else asyncio; the PINGORA_EVENT_LOOP environment
variable overrides the configuration. Closing the loop is bounded: tasks that ignore
cancellation are abandoned after a short wait rather than hanging the exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
import os
import sys
from collections.abc import Coroutine
from typing import Any, Final, TypeVar

from pingora_core.server._conf import EVENT_LOOPS
from pingora_core.server._config_error import ConfigError

__all__ = ["ENV_EVENT_LOOP", "choose_event_loop", "run_bounded"]

log = logging.getLogger("pingora_core.server")

ENV_EVENT_LOOP: Final = "PINGORA_EVENT_LOOP"
#: How long leftover tasks get to unwind when the loop closes.
CLOSE_WAIT_SECONDS: Final = 1.0

T = TypeVar("T")


def uvloop_available() -> bool:
    return sys.platform != "win32" and importlib.util.find_spec("uvloop") is not None


def choose_event_loop(configured: str) -> str:
    """ "uvloop" or "asyncio", from the environment variable, else the configured value."""
    env = os.environ.get(ENV_EVENT_LOOP, "").strip()
    choice, where = (env, ENV_EVENT_LOOP) if env else (configured, "event_loop")
    if choice not in EVENT_LOOPS:
        raise ConfigError(f"{where}: expected one of {', '.join(EVENT_LOOPS)}, got {choice!r}")
    if choice == "auto":
        return "uvloop" if uvloop_available() else "asyncio"
    if choice == "uvloop" and not uvloop_available():
        raise ConfigError(
            f"{where}: uvloop is not installed (pip install 'pingora-core[speedups]')"
        )
    return choice


def _new_loop(name: str) -> asyncio.AbstractEventLoop:
    if name == "uvloop":
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def run_bounded(name: str, main: Coroutine[Any, Any, T]) -> T:
    """Run `main` on a new loop of kind `name`, then close the loop without waiting forever."""
    loop = _new_loop(name)
    try:
        asyncio.set_event_loop(loop)
        return loop.run_until_complete(main)
    finally:
        try:
            _finish(loop)
        finally:
            asyncio.set_event_loop(None)
            loop.close()


def _finish(loop: asyncio.AbstractEventLoop) -> None:
    leftovers = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in leftovers:
        task.cancel()
    if leftovers:
        _, stuck = loop.run_until_complete(asyncio.wait(leftovers, timeout=CLOSE_WAIT_SECONDS))
        if stuck:
            log.warning("abandoning %d task(s) that ignored cancellation", len(stuck))
    for step in (loop.shutdown_asyncgens(), loop.shutdown_default_executor()):
        with contextlib.suppress(Exception):
            loop.run_until_complete(asyncio.wait_for(step, CLOSE_WAIT_SECONDS))
