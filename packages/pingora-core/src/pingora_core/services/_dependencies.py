"""Service handles and the dependency graph: who waits for whom before starting.

`ServiceHandle.add_dependency(other)` records that this service starts only after `other` says
it is ready; a dependency that would close a cycle is refused at once with the cycle spelled out.
The graph only orders and gates starts: a service that depends on A never delays an unrelated B.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

from pingora_core.errors import Error, ErrorSource, ErrorType
from pingora_core.services._base import ReadyNotifier, ServiceBase

__all__ = ["DEPENDENCY_ERROR", "ServiceHandle", "start_order"]

#: The error type of a refused dependency (a cycle, or a handle from another server).
DEPENDENCY_ERROR: Final = ErrorType.Custom("ServiceDependencyError")


def _dependency_error(message: str) -> Error:
    return Error(DEPENDENCY_ERROR, ErrorSource.INTERNAL, context=message)


class ServiceHandle:
    """A service added to a server: declare its dependencies and see whether it is ready."""

    __slots__ = ("_deps", "_frozen", "_owner", "_ready", "_service")

    def __init__(self, service: ServiceBase, owner: object) -> None:
        self._service = service
        self._owner = owner
        self._deps: list[ServiceHandle] = []
        self._ready = ReadyNotifier(service.name)
        self._frozen = False

    @property
    def name(self) -> str:
        return self._service.name

    @property
    def service(self) -> ServiceBase:
        """The service object that was added."""
        return self._service

    @property
    def dependencies(self) -> tuple[ServiceHandle, ...]:
        """The handles this service waits for, in the order they were added."""
        return tuple(self._deps)

    @property
    def ready(self) -> ReadyNotifier:
        """This service's readiness; `await handle.ready.wait()` returns once it is ready."""
        return self._ready

    @property
    def is_ready(self) -> bool:
        return self._ready.is_ready

    async def wait_ready(self) -> None:
        """Return once the service has said it is ready (or has stopped)."""
        await self._ready.wait()

    def add_dependency(self, other: ServiceHandle) -> None:
        """Start this service only after `other` is ready; raises Error on a cycle."""
        if not isinstance(other, ServiceHandle):
            raise TypeError(
                "add_dependency needs the handle returned by add_service, "
                f"got {type(other).__name__}"
            )
        if other._owner is not self._owner:
            raise _dependency_error(
                f"service {other.name!r} belongs to another server than {self.name!r}"
            )
        if self._frozen:
            raise RuntimeError(f"server already started: cannot add dependencies to {self.name!r}")
        if other is self:
            raise _dependency_error(f"dependency cycle: service {self.name!r} depends on itself")
        if other in self._deps:
            return
        path = other._path_to(self)
        if path is not None:
            cycle = " -> ".join(repr(h.name) for h in (self, *path))
            raise _dependency_error(f"dependency cycle: {cycle}")
        self._deps.append(other)

    def add_dependencies(self, others: Iterable[ServiceHandle]) -> None:
        """`add_dependency` for each handle in `others`."""
        for other in others:
            self.add_dependency(other)

    def _path_to(self, target: ServiceHandle) -> list[ServiceHandle] | None:
        """The dependency path from self to target (both included), if there is one."""
        stack: list[tuple[ServiceHandle, list[ServiceHandle]]] = [(self, [self])]
        seen: set[int] = set()
        while stack:
            node, path = stack.pop()
            if node is target:
                return path
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.extend((dep, [*path, dep]) for dep in reversed(node._deps))
        return None

    def __repr__(self) -> str:
        deps = [d.name for d in self._deps]
        return f"ServiceHandle(name={self.name!r}, dependencies={deps}, is_ready={self.is_ready})"


def start_order(handles: Sequence[ServiceHandle]) -> list[ServiceHandle]:
    """Dependencies before dependents, otherwise in the order the services were added."""
    order: list[ServiceHandle] = []
    placed: set[int] = set()
    remaining = list(handles)
    while remaining:
        progressed = False
        for handle in list(remaining):
            if all(id(dep) in placed for dep in handle._deps):
                order.append(handle)
                placed.add(id(handle))
                remaining.remove(handle)
                progressed = True
                break
        if not progressed:  # unreachable while add_dependency refuses cycles
            names = ", ".join(repr(h.name) for h in remaining)
            raise _dependency_error(f"dependency cycle among {names}")
    return order
