"""Response compression at level 0 costs little: shared settings until adjusted, and a body
the modules promise to pass through unchanged (`HttpModuleCtx._passes_body`)."""

from __future__ import annotations

import pytest

from pingora_core.modules import HttpModule, HttpModules
from pingora_core.modules.compression import ResponseCompression, ResponseCompressionBuilder
from pingora_http import RequestHeader, ResponseHeader


def _modules(level: int) -> HttpModules:
    modules = HttpModules()
    modules.add_module(ResponseCompressionBuilder(level))
    return modules


def _request() -> RequestHeader:
    req = RequestHeader.build("GET", b"/")
    req.append_header("Accept-Encoding", "gzip")
    return req


def _response() -> ResponseHeader:
    resp = ResponseHeader(200)
    resp.append_header("Content-Type", "text/html")
    resp.append_header("Content-Length", "5000")
    return resp


def test_adjusting_one_request_leaves_the_others_alone() -> None:
    modules = _modules(0)
    first = modules.build_ctx().get(ResponseCompression)
    second = modules.build_ctx().get(ResponseCompression)
    assert first is not None
    assert second is not None
    first.adjust_level(6)
    assert first.is_enabled()
    assert not second.is_enabled()
    third = modules.build_ctx().get(ResponseCompression)
    assert third is not None
    assert not third.is_enabled()


@pytest.mark.anyio
async def test_level_zero_passes_the_body_after_the_head() -> None:
    ctx = _modules(0).build_ctx()
    await ctx.request_header_filter(_request())
    assert not ctx._passes_body()  # before the head nothing is decided
    await ctx.response_header_filter(_response(), False)
    assert ctx._passes_body()
    assert await ctx.response_body_filter(b"hello", True) == b"hello"
    assert await ctx.response_done_filter() is None


@pytest.mark.anyio
async def test_compressing_request_does_not_pass_the_body() -> None:
    ctx = _modules(0).build_ctx()
    module = ctx.get(ResponseCompression)
    assert module is not None
    module.adjust_level(6)
    await ctx.request_header_filter(_request())
    await ctx.response_header_filter(_response(), False)
    assert not ctx._passes_body()


class _Upper(HttpModule):
    async def response_body_filter(self, body: bytes | None, end_of_stream: bool) -> bytes | None:
        return None if body is None else body.upper()


class _UpperBuilder(ResponseCompressionBuilder):
    def init(self) -> HttpModule:  # type: ignore[override]
        return _Upper()


@pytest.mark.anyio
async def test_a_module_without_the_promise_is_always_run() -> None:
    modules = HttpModules()
    modules.add_module(_UpperBuilder())
    ctx = modules.build_ctx()
    await ctx.response_header_filter(_response(), False)
    assert not ctx._passes_body()
    assert await ctx.response_body_filter(b"abc", True) == b"ABC"


def test_empty_context_passes_the_body() -> None:
    assert HttpModules().build_ctx()._passes_body()
