"""Background services: work that runs beside the listening services (discovery, health checks).

`BackgroundService` is what users implement; `background_service(name, task)` wraps one as a
`GenBackgroundService` the server can run, and keeps the task reachable through `.task` so other
services can share it (a load balancer updated in the background and read by a proxy).
"""

from __future__ import annotations

import abc
from typing import Generic, TypeVar

from pingora_core.server.shutdown import ShutdownWatch
from pingora_core.services._base import ReadyNotifier, ServiceBase, ServiceContext

__all__ = ["BackgroundService", "GenBackgroundService", "background_service"]


class BackgroundService(abc.ABC):
    """A task the server starts and stops with its other services.

    Implement `start`: run until `shutdown.wait()` returns (or return early when done). On a
    graceful stop the task gets `graceful_shutdown_timeout_seconds` after the shutdown signal
    fires, then it is cancelled.

    Readiness: by default the service counts as ready as soon as it starts. To make dependents
    wait for some first piece of work (a first discovery round, a warmed cache), override
    `start_with_ready_notifier` and call `ready.notify_ready()` when that work is done.
    """

    @abc.abstractmethod
    async def start(self, shutdown: ShutdownWatch) -> None:
        """Run the background work until shutdown."""

    async def start_with_ready_notifier(
        self, shutdown: ShutdownWatch, ready: ReadyNotifier
    ) -> None:
        """Say ready, then run `start`; override to say ready later."""
        ready.notify_ready()
        await self.start(shutdown)


T = TypeVar("T", bound=BackgroundService)


class GenBackgroundService(ServiceBase, Generic[T]):
    """Runs a `BackgroundService` as a server service; `.task` is the shared task object."""

    __slots__ = ("_name", "_task")

    def __init__(self, name: str, task: T) -> None:
        if not isinstance(name, str) or not name:
            raise TypeError(f"a service name must be a non-empty str, got {name!r}")
        if not isinstance(task, BackgroundService):
            raise TypeError(
                f"background_service needs a BackgroundService, got {type(task).__name__}"
            )
        self._name = name
        self._task = task

    @property
    def name(self) -> str:
        return self._name

    @property
    def task(self) -> T:
        """The task object, for other services to share."""
        return self._task

    async def start_service(self, ctx: ServiceContext) -> None:
        await self._task.start_with_ready_notifier(ctx.shutdown, ctx.ready)

    def __repr__(self) -> str:
        return f"GenBackgroundService(name={self._name!r}, task={self._task!r})"


def background_service(name: str, task: T) -> GenBackgroundService[T]:
    """Wrap `task` as a service named `name` for `server.add_service`."""
    return GenBackgroundService(name, task)
