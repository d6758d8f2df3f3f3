"""Downstream modules: response compression is present and off by default, switched on per
request from a phase or for the whole service by `init_downstream_modules`; a service can run
without modules at all."""

from __future__ import annotations

import gzip

import pytest

from pingora_core.modules import HttpModules, ResponseCompression, ResponseCompressionBuilder
from pingora_core.testing.mock_origin import MockOrigin, download_body
from pingora_core.upstreams import HttpPeer
from pingora_proxy import HttpProxy, ProxyHttp, Session
from pingora_proxy.testing import ProxyTestClient

pytestmark = pytest.mark.anyio

SIZE = 20_000
GZIP = {"Accept-Encoding": "gzip", "X-Set-Header": "Content-Type: text/plain"}


class PerRequest(ProxyHttp[None]):
    """Turns compression on when the request carries `x-compress: 1`."""

    def __init__(self, peer: HttpPeer) -> None:
        self.peer = peer

    async def request_filter(self, session: Session, ctx: None) -> bool:
        if session.get_header("x-compress") == b"1":
            module = session.downstream_modules_ctx.get(ResponseCompression)
            assert module is not None
            module.adjust_level(6)
        return False

    async def upstream_peer(self, session: Session, ctx: None) -> HttpPeer:
        return self.peer


class Service(PerRequest):
    def init_downstream_modules(self, modules: HttpModules) -> None:
        modules.add_module(ResponseCompressionBuilder(6))


class Bare(PerRequest):
    def init_downstream_modules(self, modules: HttpModules) -> None:
        return None

    async def request_filter(self, session: Session, ctx: None) -> bool:
        assert session.downstream_modules_ctx.get(ResponseCompression) is None
        return False


async def test_compression_is_present_but_off_by_default() -> None:
    async with MockOrigin() as origin:
        proxy = HttpProxy(PerRequest(HttpPeer(origin.address)))
        assert [type(b) for b in proxy.downstream_modules.builders] == [
            ResponseCompressionBuilder
        ]
        async with ProxyTestClient(proxy) as client:
            resp = await client.get(f"/download/{SIZE}", GZIP)
    assert resp.header("Content-Encoding") is None
    assert resp.body == download_body(SIZE)


async def test_compression_switched_on_per_request() -> None:
    async with (
        MockOrigin() as origin,
        ProxyTestClient(PerRequest(HttpPeer(origin.address))) as client,
    ):
        on = await client.get(f"/download/{SIZE}", {**GZIP, "x-compress": "1"})
        off = await client.get(f"/download/{SIZE}", GZIP)
        no_accept = await client.get(f"/download/{SIZE}", {"x-compress": "1"})
    assert on.header("Content-Encoding") == "gzip"
    assert on.header("Content-Length") is None
    assert len(on.body) < SIZE
    assert gzip.decompress(on.body) == download_body(SIZE)
    assert off.header("Content-Encoding") is None
    assert off.body == download_body(SIZE)
    assert no_accept.header("Content-Encoding") is None
    assert no_accept.body == download_body(SIZE)


async def test_compression_switched_on_for_the_service() -> None:
    async with MockOrigin() as origin, ProxyTestClient(Service(HttpPeer(origin.address))) as client:
        resp = await client.get(f"/chunked/{SIZE}", GZIP)
    assert resp.header("Content-Encoding") == "gzip"
    assert gzip.decompress(resp.body) == download_body(SIZE)


async def test_a_service_without_modules() -> None:
    async with MockOrigin() as origin:
        proxy = HttpProxy(Bare(HttpPeer(origin.address)))
        assert len(proxy.downstream_modules) == 0
        async with ProxyTestClient(proxy) as client:
            resp = await client.get(f"/download/{SIZE}", {**GZIP, "x-compress": "0"})
    assert resp.body == download_body(SIZE)
