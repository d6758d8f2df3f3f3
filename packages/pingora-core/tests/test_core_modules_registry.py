"""HttpModules / HttpModuleCtx: ordering (Pingora's tests), lookup by type, the precomputed
hook table (hooks a module does not override are never called), chaining and bad input."""

from __future__ import annotations

import pytest

from pingora_core.modules import (
    HOOK_NAMES,
    HttpModule,
    HttpModuleBuilder,
    HttpModuleCtx,
    HttpModules,
    ResponseCompression,
    ResponseCompressionBuilder,
    overridden_hooks,
)
from pingora_http import HeaderMap, RequestHeader, ResponseHeader

# -- Pingora's MyModule / MyOtherModule ---------------------------------------------------------


class MyModule(HttpModule):
    async def request_header_filter(self, req: RequestHeader) -> None:
        req.insert_header("my-filter", "1")


class MyModuleBuilder(HttpModuleBuilder):
    @property
    def order(self) -> int:
        return 1

    def init(self) -> HttpModule:
        return MyModule()


class MyOtherModule(HttpModule):
    async def request_header_filter(self, req: RequestHeader) -> None:
        if req.get("my-filter") is not None:
            req.insert_header("my-filter", "2")  # runs after MyModule
        else:
            req.insert_header("my-other-filter", "1")  # runs before MyModule


class MyOtherModuleBuilder(HttpModuleBuilder):
    @property
    def order(self) -> int:
        return -1

    def init(self) -> HttpModule:
        return MyOtherModule()


def test_module_get() -> None:
    modules = HttpModules()
    modules.add_module(MyModuleBuilder())
    modules.add_module(MyOtherModuleBuilder())
    ctx = modules.build_ctx()
    assert isinstance(ctx.get(MyModule), MyModule)
    assert isinstance(ctx.get(MyOtherModule), MyOtherModule)
    assert ctx.get(ResponseCompression) is None
    assert ctx.get(HttpModule) is None  # exact type only


@pytest.mark.anyio
@pytest.mark.parametrize("first", ["mine", "other"])
async def test_module_filter_runs_higher_order_first(first: str) -> None:
    modules = HttpModules()
    builders: list[HttpModuleBuilder] = [MyModuleBuilder(), MyOtherModuleBuilder()]
    if first == "other":
        builders.reverse()
    for builder in builders:
        modules.add_module(builder)
    ctx = modules.build_ctx()
    req = RequestHeader.build("GET", "/")
    await ctx.request_header_filter(req)
    # MyModule (order 1) runs before MyOtherModule (order -1), whatever the insertion order.
    assert req.get("my-filter") == b"2"
    assert req.get("my-other-filter") is None
    assert [type(m) for m in ctx.modules] == [MyModule, MyOtherModule]


# -- ordering ties and chaining ------------------------------------------------------------------


def _tagging_builder(tag: str, order: int) -> HttpModuleBuilder:
    module_type = type(f"Tag{tag}", (_Tagger,), {"tag": tag})

    class Builder(HttpModuleBuilder):
        @property
        def order(self) -> int:
            return order

        def init(self) -> HttpModule:
            module: HttpModule = module_type()
            return module

    return Builder()


class _Tagger(HttpModule):
    tag = ""

    async def response_body_filter(self, body: bytes | None, end_of_stream: bool) -> bytes | None:
        return (body or b"") + self.tag.encode()

    async def request_body_filter(self, body: bytes | None, end_of_stream: bool) -> bytes | None:
        return None if end_of_stream else (body or b"") + self.tag.encode()


@pytest.mark.anyio
async def test_equal_orders_keep_insertion_order_and_bodies_chain() -> None:
    modules = HttpModules()
    for tag, order in (("a", 0), ("b", 5), ("c", 0), ("d", -3), ("e", 5)):
        modules.add_module(_tagging_builder(tag, order))
    ctx = modules.build_ctx()
    assert await ctx.response_body_filter(b">", False) == b">beacd"
    assert await ctx.request_body_filter(b"", False) == b"beacd"
    assert await ctx.request_body_filter(b"x", True) is None  # a module may drop the body


# -- hooks that are not overridden are not called ----------------------------------------------


class CountingModule(HttpModule):
    """Overrides only the response body hook."""

    calls = 0

    async def response_body_filter(self, body: bytes | None, end_of_stream: bool) -> bytes | None:
        CountingModule.calls += 1
        return body


def _explode(name: str) -> object:
    async def hook(self: HttpModule, *args: object) -> None:
        raise AssertionError(f"{name} must not be called")

    return hook


class CountingBuilder(HttpModuleBuilder):
    def init(self) -> HttpModule:
        return CountingModule()


def test_overridden_hooks_is_computed_per_class() -> None:
    assert overridden_hooks(CountingModule) == frozenset({"response_body_filter"})
    assert overridden_hooks(HttpModule) == frozenset()
    assert overridden_hooks(ResponseCompression) == frozenset(
        {
            "request_header_filter",
            "response_header_filter",
            "response_body_filter",
            "response_done_filter",
        }
    )
    assert set(HOOK_NAMES) == {
        "request_header_filter",
        "request_body_filter",
        "response_header_filter",
        "response_body_filter",
        "response_trailer_filter",
        "response_done_filter",
    }


@pytest.mark.anyio
async def test_hooks_not_overridden_are_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    modules = HttpModules()
    modules.add_module(CountingBuilder())
    ctx = modules.build_ctx()
    table = modules.hook_table()
    assert table["response_body_filter"] == (CountingModule,)
    for name in HOOK_NAMES:
        if name != "response_body_filter":
            assert table[name] == (), name
    assert ctx.hook_table() == table

    # Make the inherited no-op hooks fail loudly: the plan must not call them.
    for name in HOOK_NAMES:
        if name != "response_body_filter":
            monkeypatch.setattr(HttpModule, name, _explode(name))
    CountingModule.calls = 0
    req = RequestHeader.build("GET", "/")
    resp = ResponseHeader.build(200)
    await ctx.request_header_filter(req)
    assert await ctx.request_body_filter(b"q", True) == b"q"
    await ctx.response_header_filter(resp, False)
    assert await ctx.response_body_filter(b"abc", False) == b"abc"
    assert await ctx.response_body_filter(None, True) is None
    assert await ctx.response_trailer_filter(HeaderMap()) is None
    assert await ctx.response_done_filter() is None
    assert CountingModule.calls == 2


@pytest.mark.anyio
async def test_trailer_and_done_filters_keep_the_last_bytes() -> None:
    class First(HttpModule):
        async def response_trailer_filter(self, trailers: HeaderMap | None) -> bytes | None:
            assert trailers is not None
            trailers.append("x-first", "1")
            return b"first"

        async def response_done_filter(self) -> bytes | None:
            return b"first-done"

    class Second(HttpModule):
        async def response_trailer_filter(self, trailers: HeaderMap | None) -> bytes | None:
            return b"second"

        async def response_done_filter(self) -> bytes | None:
            return None

    class B1(HttpModuleBuilder):
        def init(self) -> HttpModule:
            return First()

    class B2(HttpModuleBuilder):
        def init(self) -> HttpModule:
            return Second()

    modules = HttpModules()
    modules.add_module(B1())
    modules.add_module(B2())
    ctx = modules.build_ctx()
    trailers = HeaderMap()
    assert await ctx.response_trailer_filter(trailers) == b"second"
    assert trailers.get("x-first") == b"1"
    assert await ctx.response_done_filter() == b"first-done"


def test_each_request_gets_fresh_instances() -> None:
    modules = HttpModules()
    modules.add_module(ResponseCompressionBuilder())
    one, two = modules.build_ctx(), modules.build_ctx()
    assert one.get(ResponseCompression) is not two.get(ResponseCompression)
    assert len(modules) == 1


@pytest.mark.anyio
async def test_empty_ctx_does_nothing() -> None:
    ctx = HttpModuleCtx.empty()
    assert ctx.modules == ()
    assert ctx.get(ResponseCompression) is None
    assert await ctx.response_body_filter(b"x", True) == b"x"
    assert await ctx.response_done_filter() is None
    assert all(v == () for v in ctx.hook_table().values())


# -- bad input -----------------------------------------------------------------------------------


def test_duplicate_module_types_are_refused() -> None:
    modules = HttpModules()
    modules.add_module(ResponseCompressionBuilder())
    modules.add_module(ResponseCompressionBuilder(6))
    with pytest.raises(ValueError, match="added twice"):
        modules.build_ctx()


def test_no_module_after_build() -> None:
    modules = HttpModules()
    modules.add_module(CountingBuilder())
    modules.build_ctx()
    with pytest.raises(RuntimeError, match="after build_ctx"):
        modules.add_module(ResponseCompressionBuilder())
    assert "frozen=True" in repr(modules)


def test_not_a_builder_is_refused() -> None:
    with pytest.raises(TypeError, match="HttpModuleBuilder"):
        HttpModules().add_module(CountingModule())  # type: ignore[arg-type]


def test_bad_order_is_refused() -> None:
    class BadOrder(HttpModuleBuilder):
        @property
        def order(self) -> int:
            return "high"  # type: ignore[return-value]

        def init(self) -> HttpModule:
            return CountingModule()

    with pytest.raises(TypeError, match="order must be an int"):
        HttpModules().add_module(BadOrder())


def test_init_must_return_a_module() -> None:
    class Wrong(HttpModuleBuilder):
        def init(self) -> HttpModule:
            return object()  # type: ignore[return-value]

    modules = HttpModules()
    modules.add_module(Wrong())
    with pytest.raises(TypeError, match="not an HttpModule"):
        modules.build_ctx()


def test_init_must_keep_returning_the_same_type() -> None:
    class Flaky(HttpModuleBuilder):
        calls = 0

        def init(self) -> HttpModule:
            Flaky.calls += 1
            return CountingModule() if Flaky.calls == 1 else ResponseCompression()

    modules = HttpModules()
    modules.add_module(Flaky())
    modules.build_ctx()
    with pytest.raises(TypeError, match="first returned CountingModule"):
        modules.build_ctx()


def test_sync_hook_override_is_refused() -> None:
    class SyncHook(HttpModule):
        def response_body_filter(  # type: ignore[override]
            self, body: bytes | None, end_of_stream: bool
        ) -> bytes | None:
            return body

    with pytest.raises(TypeError, match="must be an async function"):
        overridden_hooks(SyncHook)

    class B(HttpModuleBuilder):
        def init(self) -> HttpModule:
            return SyncHook()

    modules = HttpModules()
    modules.add_module(B())
    with pytest.raises(TypeError, match=r"SyncHook\.response_body_filter"):
        modules.build_ctx()


def test_overridden_hooks_wants_a_module_class() -> None:
    with pytest.raises(TypeError, match="HttpModule subclass"):
        overridden_hooks(int)  # type: ignore[arg-type]


def test_reprs_show_state() -> None:
    modules = HttpModules()
    modules.add_module(ResponseCompressionBuilder(5))
    assert "ResponseCompressionBuilder(order=-16384)" in repr(modules)
    assert "frozen=False" in repr(modules)
    ctx = modules.build_ctx()
    assert "ResponseCompression(" in repr(ctx)
    assert "gzip" in repr(ctx)
