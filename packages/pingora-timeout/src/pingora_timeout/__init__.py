"""pingora-timeout: cheap timeouts and sleeps for asyncio (and anyio on its asyncio backend).

`await timeout(seconds, awaitable)` returns the awaitable's result or raises `Elapsed` (a
`TimeoutError`); `async with timeout_scope(seconds):` puts a deadline on a block; `await
sleep(seconds)` sleeps. Deadlines are rounded up to 10 ms slots that share one loop timer each,
`timeout()` makes no timer at all when the awaitable finishes without suspending, and finishing
before the deadline costs a dict pop. A deadline never fires early and at most ~20 ms late.
"""

from __future__ import annotations

from pingora_timeout._errors import Elapsed
from pingora_timeout._scope import TimeoutScope, timeout_scope
from pingora_timeout._sleep import sleep
from pingora_timeout._timeout import timeout
from pingora_timeout._wheel import RESOLUTION, TimerWheel, wheel_for

__all__ = [
    "RESOLUTION",
    "Elapsed",
    "TimeoutScope",
    "TimerWheel",
    "sleep",
    "timeout",
    "timeout_scope",
    "wheel_for",
]
