"""`sleep(seconds)`: wait at least `seconds`, woken by the loop's timer wheel at a 10 ms boundary.

Every sleeper in one 10 ms slot is woken by the same loop timer; a cancelled sleep just takes its
future out of the slot.
"""

from __future__ import annotations

import types
from asyncio import get_running_loop
from collections.abc import Generator
from math import inf

from pingora_timeout._errors import as_seconds
from pingora_timeout._wheel import wheel_for

__all__ = ["sleep"]


async def sleep(seconds: float) -> None:
    """Sleep at least `seconds` (rounded up to the next 10 ms boundary, so never early).

    `sleep(0)` only lets other tasks run once, like `asyncio.sleep(0)`; `sleep(math.inf)` sleeps
    until cancelled. `seconds` must not be negative or NaN.
    """
    kind = seconds.__class__
    if (kind is not float and kind is not int) or not seconds >= 0:
        seconds = as_seconds(seconds, "sleep()")
    if seconds == 0:
        await _yield_once()
        return
    loop = get_running_loop()
    future = loop.create_future()
    if seconds == inf:
        await future
        return
    entries = wheel_for(loop).arm(loop, loop.time() + seconds, future, future)
    try:
        await future
    finally:
        if entries is not None:
            entries.pop(future, None)


@types.coroutine
def _yield_once() -> Generator[None, None, None]:
    yield
