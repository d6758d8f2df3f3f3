"""Run a listening service inside a real `Server` for the length of a test.

`serving(server, service)` starts the server, waits (bounded) until every service says it is
ready, yields the service's first bound address and requests a shutdown on exit (graceful
unless `shutdown` says otherwise). It is the harness the end-to-end tests of every package
share.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio

from pingora_core.server import Server, ShutdownSignal
from pingora_core.services import Service

__all__ = ["serving"]


@asynccontextmanager
async def serving(
    server: Server,
    service: Service,
    *,
    time_limit: float = 15.0,
    shutdown: ShutdownSignal = ShutdownSignal.GRACEFUL_TERMINATE,
) -> AsyncIterator[str]:
    """Add `service` to `server`, run it, and yield the service's first bound address; on exit
    ask the server to stop with `shutdown`."""
    server.add_service(service)
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.run)
        try:
            with anyio.fail_after(time_limit):
                for handle in server.services:
                    await handle.wait_ready()
            yield service.bound_addresses()[0]
        finally:
            server.request_shutdown(shutdown)
