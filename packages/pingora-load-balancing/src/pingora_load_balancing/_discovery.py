"""Service discovery: the `ServiceDiscovery` interface and `Static`, a list kept in memory.

A discovery returns the current set of backends and, optionally, a map saying which of them are
enabled (keyed by `Backend.hash_key()`, or by the `Backend` itself); backends it leaves out of
the map keep their enablement. It does not track health or build selections (`Backends` does).
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Mapping

from pingora_load_balancing._backend import Backend

__all__ = ["Discovered", "ServiceDiscovery", "Static", "as_backend", "check_backends"]

#: What `discover()` returns: the backends, and enablement by hash key (or by backend).
Discovered = tuple[Iterable[Backend], Mapping[int | Backend, bool]]


def as_backend(item: object, where: str) -> Backend:
    """`item` as a Backend: a Backend as is, an address string parsed (weight 1)."""
    if isinstance(item, Backend):
        return item
    if isinstance(item, str):
        return Backend(item)
    raise TypeError(f"{where} must be a Backend or an address str, not {type(item).__name__}")


def check_backends(items: Iterable[Backend], where: str) -> frozenset[Backend]:
    """`items` as a frozenset, or a TypeError naming the first item that is not a Backend."""
    given: object = items
    if isinstance(given, str | bytes):
        raise TypeError(f"{where} must be an iterable of Backend, not a string")
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, Backend):
            raise TypeError(f"{where}[{i}] must be a Backend, not {type(item).__name__}")
        out.append(item)
    return frozenset(out)


class ServiceDiscovery(abc.ABC):
    """Finds the backends to balance over; `Backends.update()` calls `discover()`."""

    @abc.abstractmethod
    async def discover(self) -> Discovered:
        """The current backends and an enablement map (`{}` when there is nothing to say).

        Raise (ideally a pingora `Error`) when discovery fails: the load balancer then keeps
        the backends it already has.
        """


class Static(ServiceDiscovery):
    """A fixed collection of backends that can be changed at runtime with `set`, `add` and
    `remove` (the next `update()` picks the change up)."""

    __slots__ = ("_backends",)

    def __init__(self, backends: Iterable[Backend] = ()) -> None:
        self._backends = check_backends(backends, "Static backends")

    @classmethod
    def from_addresses(cls, addresses: Iterable[str | Backend]) -> Static:
        """A Static discovery of `addresses` ("ip:port", "[v6]:port", "unix:/path", each
        weight 1, or Backend objects). Host names are refused: use `DnsDiscovery`."""
        given: object = addresses
        if isinstance(given, str | bytes):
            raise TypeError("addresses must be an iterable of address strings, not a string")
        return cls(as_backend(a, f"addresses[{i}]") for i, a in enumerate(addresses))

    def get(self) -> frozenset[Backend]:
        """The current backends."""
        return self._backends

    def set(self, backends: Iterable[Backend]) -> None:
        """Replace the whole collection."""
        self._backends = check_backends(backends, "Static backends")

    def add(self, backend: Backend) -> None:
        """Add one backend (no change if an equal one is already there)."""
        if not isinstance(backend, Backend):
            raise TypeError(f"backend must be a Backend, not {type(backend).__name__}")
        self._backends = self._backends | {backend}

    def remove(self, backend: Backend) -> None:
        """Remove one backend (no change if it is not there)."""
        if not isinstance(backend, Backend):
            raise TypeError(f"backend must be a Backend, not {type(backend).__name__}")
        self._backends = self._backends - {backend}

    async def discover(self) -> Discovered:
        return self._backends, {}

    def __repr__(self) -> str:
        return f"Static(backends={sorted(self._backends)!r})"
