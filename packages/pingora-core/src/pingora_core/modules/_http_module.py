"""`HttpModule` and `HttpModuleBuilder`: what an HTTP traffic module implements, and which of
its hooks it overrides.

A module is a per-request object with async hooks called at each phase of a request; every hook
defaults to doing nothing. `overridden_hooks(cls)` works out once per module class which hooks
the class really overrides, so the registry can skip the rest at no cost per request. Sans-IO:
nothing here reads or writes a socket.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from functools import cache
from typing import Final

from pingora_http import HeaderMap, RequestHeader, ResponseHeader

__all__ = ["HOOK_NAMES", "HttpModule", "HttpModuleBuilder", "overridden_hooks"]

HOOK_NAMES: Final = (
    "request_header_filter",
    "request_body_filter",
    "response_header_filter",
    "response_body_filter",
    "response_trailer_filter",
    "response_done_filter",
)


class HttpModule(ABC):  # noqa: B024 - every hook has a default; subclass to override some
    """One module's state for one request; override the hooks it needs (all async).

    - `request_header_filter(req)`: inspect or change the request head.
    - `request_body_filter(body, end_of_stream) -> body`: the request body chunk to pass on.
    - `response_header_filter(resp, end_of_stream)`: inspect or change the response head.
    - `response_body_filter(body, end_of_stream) -> body`: the response body chunk to pass on
      (`b""` means "nothing to send for now"; never write it as an HTTP/1 chunk).
    - `response_trailer_filter(trailers) -> bytes | None`: bytes to write into the body instead
      of the trailers (None: nothing); `trailers` may be changed in place.
    - `response_done_filter() -> bytes | None`: the response ended; last bytes to write, if any.
    """

    __slots__ = ()

    async def request_header_filter(self, req: RequestHeader) -> None:
        """Called with the request head before the request goes upstream."""
        return

    async def request_body_filter(self, body: bytes | None, end_of_stream: bool) -> bytes | None:
        """Called per request body chunk; returns the chunk to pass on."""
        return body

    async def response_header_filter(self, resp: ResponseHeader, end_of_stream: bool) -> None:
        """Called with the response head (`end_of_stream`: the response has no body)."""
        return

    async def response_body_filter(self, body: bytes | None, end_of_stream: bool) -> bytes | None:
        """Called per response body chunk; returns the chunk to pass on."""
        return body

    async def response_trailer_filter(self, trailers: HeaderMap | None) -> bytes | None:
        """Called with the response trailers; returns bytes to write into the body, or None."""
        return None

    async def response_done_filter(self) -> bytes | None:
        """Called when the response is complete; returns final body bytes to write, or None."""
        return None

    def _passes_body(self) -> bool:
        # Internal: True when, after the response head, this module's response body and done
        # hooks are sure to change nothing (lets the engine skip them). False: always ask.
        return False


class HttpModuleBuilder(ABC):
    """Creates one `HttpModule` per request. `order`: higher runs earlier (default 0)."""

    __slots__ = ()

    @property
    def order(self) -> int:
        """Where the module runs: the higher the value, the earlier; ties keep insertion order."""
        return 0

    @abstractmethod
    def init(self) -> HttpModule:
        """A fresh module context for one request."""


def overridden_hooks(module_type: type[HttpModule]) -> frozenset[str]:
    """The hooks `module_type` overrides (computed once per class).

    Raises `TypeError` if the class is not an `HttpModule` or overrides a hook with a plain
    (not async) function.
    """
    if not (isinstance(module_type, type) and issubclass(module_type, HttpModule)):
        raise TypeError(f"expected an HttpModule subclass, got {module_type!r}")
    return _overridden(module_type)


@cache
def _overridden(module_type: type[HttpModule]) -> frozenset[str]:
    found = set()
    for name in HOOK_NAMES:
        impl = getattr(module_type, name)
        if impl is getattr(HttpModule, name):
            continue
        if not inspect.iscoroutinefunction(impl):
            raise TypeError(
                f"{module_type.__qualname__}.{name} must be an async function (async def)"
            )
        found.add(name)
    return frozenset(found)
