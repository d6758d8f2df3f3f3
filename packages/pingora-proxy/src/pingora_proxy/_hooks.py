"""`Hooks`: the phase table of one `ProxyHttp` instance, worked out once when the proxy is built.

For each optional phase it holds the bound method when the subclass overrides it, else None, so
the engine skips a phase nobody wrote at the cost of one `is None` test. The phases that always
run (they have default behaviour) are held bound. An override written as a plain function is
accepted and adapted to a coroutine here, once.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from typing import Any, Final

from pingora_proxy._trait import ProxyHttp

__all__ = ["ALWAYS", "OPTIONAL", "Hooks"]

#: Phases skipped unless the subclass overrides them.
OPTIONAL: Final = (
    "early_request_filter",
    "request_filter",
    "request_body_filter",
    "proxy_upstream_filter",
    "connected_to_upstream",
    "upstream_request_filter",
    "upstream_response_filter",
    "response_filter",
    "upstream_response_body_filter",
    "response_body_filter",
    "upstream_response_trailer_filter",
    "response_trailer_filter",
    "logging",
    "fail_to_connect",
)
#: Phases that always run (their defaults do something).
ALWAYS: Final = (
    "upstream_peer",
    "error_while_proxy",
    "fail_to_proxy",
    "request_summary",
    "suppress_error_log",
)

AsyncFn = Callable[..., Coroutine[Any, Any, Any]]


def _adapt(name: str, fn: object) -> AsyncFn:
    if not callable(fn):
        raise TypeError(f"ProxyHttp.{name} must be a method, got {type(fn).__name__}")
    if inspect.iscoroutinefunction(fn):
        return fn

    async def call(*args: Any) -> Any:
        return fn(*args)

    call.__qualname__ = call.__name__ = name
    return call


class Hooks:
    """The phases of `app` (see the module docstring)."""

    __slots__ = (*OPTIONAL, *ALWAYS, "app", "new_ctx", "overridden")

    early_request_filter: AsyncFn | None
    request_filter: AsyncFn | None
    request_body_filter: AsyncFn | None
    proxy_upstream_filter: AsyncFn | None
    connected_to_upstream: AsyncFn | None
    upstream_request_filter: AsyncFn | None
    upstream_response_filter: AsyncFn | None
    response_filter: AsyncFn | None
    upstream_response_body_filter: AsyncFn | None
    response_body_filter: AsyncFn | None
    upstream_response_trailer_filter: AsyncFn | None
    response_trailer_filter: AsyncFn | None
    logging: AsyncFn | None
    fail_to_connect: AsyncFn | None
    upstream_peer: AsyncFn
    error_while_proxy: AsyncFn
    fail_to_proxy: AsyncFn
    request_summary: AsyncFn
    suppress_error_log: AsyncFn
    new_ctx: Callable[[], Any]
    overridden: frozenset[str]

    def __init__(self, app: ProxyHttp[Any]) -> None:
        if not isinstance(app, ProxyHttp):
            raise TypeError(f"the proxy app must be a ProxyHttp, got {type(app).__name__}")
        kind = type(app)
        overridden = set()
        self.app = app
        for name in OPTIONAL:
            if getattr(kind, name) is getattr(ProxyHttp, name):
                setattr(self, name, None)
            else:
                overridden.add(name)
                setattr(self, name, _adapt(name, getattr(app, name)))
        for name in ALWAYS:
            if getattr(kind, name) is not getattr(ProxyHttp, name):
                overridden.add(name)
            setattr(self, name, _adapt(name, getattr(app, name)))
        new_ctx = app.new_ctx
        if not callable(new_ctx) or inspect.iscoroutinefunction(new_ctx):
            raise TypeError("ProxyHttp.new_ctx must be a plain (not async) method")
        self.new_ctx = new_ctx
        self.overridden = frozenset(overridden)

    def __repr__(self) -> str:
        return f"Hooks({type(self.app).__name__}, overridden={sorted(self.overridden)})"
