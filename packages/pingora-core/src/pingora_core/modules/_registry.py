"""`HttpModules` (the ordered set of module builders a service runs) and `HttpModuleCtx` (one
request's module instances, run in order).

The first `build_ctx()` freezes the registry and computes a `_Plan` shared by every request:
the module type at each position, a type → position index for `ctx.get(T)`, and per hook the
positions of the modules that override it. A hook no module overrides costs one empty loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TypeVar

from pingora_core.modules._http_module import (
    HOOK_NAMES,
    HttpModule,
    HttpModuleBuilder,
    overridden_hooks,
)
from pingora_http import HeaderMap, RequestHeader, ResponseHeader

__all__ = ["HttpModuleCtx", "HttpModules"]

M = TypeVar("M", bound=HttpModule)


class _Plan:
    """What every request of one `HttpModules` shares; immutable once built."""

    __slots__ = (
        "index",
        "req_body",
        "req_header",
        "resp_body",
        "resp_body_or_done",
        "resp_done",
        "resp_header",
        "resp_trailer",
        "types",
    )

    def __init__(self, types: tuple[type[HttpModule], ...]) -> None:
        index: dict[type[HttpModule], int] = {}
        for position, module_type in enumerate(types):
            if module_type in index:
                raise ValueError(f"module type {module_type.__qualname__} was added twice")
            index[module_type] = position
        self.types = types
        self.index = index
        runs = {
            name: tuple(i for i, t in enumerate(types) if name in overridden_hooks(t))
            for name in HOOK_NAMES
        }
        self.req_header = runs["request_header_filter"]
        self.req_body = runs["request_body_filter"]
        self.resp_header = runs["response_header_filter"]
        self.resp_body = runs["response_body_filter"]
        self.resp_trailer = runs["response_trailer_filter"]
        self.resp_done = runs["response_done_filter"]
        self.resp_body_or_done = tuple(sorted(set(self.resp_body) | set(self.resp_done)))

    def table(self) -> dict[str, tuple[type[HttpModule], ...]]:
        runs = (
            self.req_header,
            self.req_body,
            self.resp_header,
            self.resp_body,
            self.resp_trailer,
            self.resp_done,
        )
        return {
            name: tuple(self.types[i] for i in positions)
            for name, positions in zip(HOOK_NAMES, runs, strict=True)
        }


_EMPTY_PLAN = _Plan(())


class HttpModules:
    """The module builders of a service, kept sorted by `order` (highest first, ties in the
    order they were added). Frozen by the first `build_ctx()`."""

    __slots__ = ("_builders", "_plan")

    def __init__(self) -> None:
        self._builders: list[HttpModuleBuilder] = []
        self._plan: _Plan | None = None

    def add_module(self, builder: HttpModuleBuilder) -> None:
        """Add a builder. Each module type may be added once; not after `build_ctx()`."""
        if not isinstance(builder, HttpModuleBuilder):
            raise TypeError(f"expected an HttpModuleBuilder, got {type(builder).__name__}")
        if self._plan is not None:
            raise RuntimeError("cannot add a module after build_ctx() has been called")
        order = builder.order
        if not isinstance(order, int) or isinstance(order, bool):
            raise TypeError(f"{type(builder).__qualname__}.order must be an int, got {order!r}")
        self._builders.append(builder)
        self._builders.sort(key=_neg_order)  # stable: equal orders keep insertion order

    @property
    def builders(self) -> tuple[HttpModuleBuilder, ...]:
        """The builders in the order their modules run."""
        return tuple(self._builders)

    def build_ctx(self) -> HttpModuleCtx:
        """One request's module instances, in order."""
        modules = [builder.init() for builder in self._builders]
        plan = self._plan
        if plan is None:
            for builder, module in zip(self._builders, modules, strict=True):
                if not isinstance(module, HttpModule):
                    raise TypeError(
                        f"{type(builder).__qualname__}.init() returned "
                        f"{type(module).__name__}, not an HttpModule"
                    )
            plan = self._plan = _Plan(tuple(type(m) for m in modules))
        else:
            for module, expected in zip(modules, plan.types, strict=True):
                if type(module) is not expected:
                    raise TypeError(
                        f"a builder returned {type(module).__name__} where it first "
                        f"returned {expected.__name__}"
                    )
        return HttpModuleCtx._make(modules, plan)

    def hook_table(self) -> Mapping[str, tuple[type[HttpModule], ...]]:
        """Per hook, the module types that override it, in run order (freezes the registry)."""
        if self._plan is None:
            self.build_ctx()
        assert self._plan is not None
        return MappingProxyType(self._plan.table())

    def __len__(self) -> int:
        return len(self._builders)

    def __repr__(self) -> str:
        names = [f"{type(b).__qualname__}(order={b.order})" for b in self._builders]
        return f"HttpModules({names}, frozen={self._plan is not None})"


def _neg_order(builder: HttpModuleBuilder) -> int:
    return -builder.order


class HttpModuleCtx:
    """The modules of one request. Each phase method runs the modules that override that hook,
    in order, feeding each one's output to the next."""

    __slots__ = ("_modules", "_plan")

    _modules: list[HttpModule]
    _plan: _Plan

    def __init__(self) -> None:
        # A context without modules; `HttpModules.build_ctx()` makes the real ones.
        self._modules = []
        self._plan = _EMPTY_PLAN

    @classmethod
    def empty(cls) -> HttpModuleCtx:
        """A context without modules."""
        return cls()

    @classmethod
    def _make(cls, modules: list[HttpModule], plan: _Plan) -> HttpModuleCtx:
        new = cls.__new__(cls)
        new._modules = modules
        new._plan = plan
        return new

    @property
    def modules(self) -> tuple[HttpModule, ...]:
        """The module instances in run order."""
        return tuple(self._modules)

    def get(self, module_type: type[M]) -> M | None:
        """This request's instance of `module_type` (exact type), or None."""
        position = self._plan.index.get(module_type)
        if position is None:
            return None
        module = self._modules[position]
        assert isinstance(module, module_type)
        return module

    def hook_table(self) -> Mapping[str, tuple[type[HttpModule], ...]]:
        """Per hook, the module types this context runs for it, in order."""
        return MappingProxyType(self._plan.table())

    def _passes_body(self) -> bool:
        """True when, after the response head went through `response_header_filter`, the
        response body, trailer and done hooks of every module would change nothing (the caller
        may skip them for the rest of this response)."""
        plan = self._plan
        if plan.resp_trailer:
            return False
        modules = self._modules
        for i in plan.resp_body_or_done:  # noqa: SIM110 - a loop costs less than all() + genexpr
            if not modules[i]._passes_body():
                return False
        return True

    async def request_header_filter(self, req: RequestHeader) -> None:
        """Run every module's `request_header_filter` in order."""
        modules = self._modules
        for i in self._plan.req_header:
            await modules[i].request_header_filter(req)

    async def request_body_filter(self, body: bytes | None, end_of_stream: bool) -> bytes | None:
        """Run every module's `request_body_filter` in order; returns the final chunk."""
        modules = self._modules
        for i in self._plan.req_body:
            body = await modules[i].request_body_filter(body, end_of_stream)
        return body

    async def response_header_filter(self, resp: ResponseHeader, end_of_stream: bool) -> None:
        """Run every module's `response_header_filter` in order."""
        modules = self._modules
        for i in self._plan.resp_header:
            await modules[i].response_header_filter(resp, end_of_stream)

    async def response_body_filter(self, body: bytes | None, end_of_stream: bool) -> bytes | None:
        """Run every module's `response_body_filter` in order; returns the final chunk."""
        modules = self._modules
        for i in self._plan.resp_body:
            body = await modules[i].response_body_filter(body, end_of_stream)
        return body

    async def response_trailer_filter(self, trailers: HeaderMap | None) -> bytes | None:
        """Run every module's `response_trailer_filter`; the last bytes returned win."""
        encoded = None
        modules = self._modules
        for i in self._plan.resp_trailer:
            out = await modules[i].response_trailer_filter(trailers)
            if out is not None:
                encoded = out
        return encoded

    async def response_done_filter(self) -> bytes | None:
        """Run every module's `response_done_filter`; the last bytes returned win."""
        encoded = None
        modules = self._modules
        for i in self._plan.resp_done:
            out = await modules[i].response_done_filter()
            if out is not None:
                encoded = out
        return encoded

    def __repr__(self) -> str:
        return f"HttpModuleCtx({self._modules!r})"
