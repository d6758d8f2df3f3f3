"""The proxy as a real service: `http_proxy_service` in a `Server` on 127.0.0.1:0 in front of
`MockOrigin`, driven by a raw asyncio client over loopback TCP. Upstream connections are pooled
across requests and client connections; keep-alive works on both sides."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from pingora_core.server import Server, ServerConf
from pingora_core.testing import serving
from pingora_core.testing.mock_origin import DEFAULT_BODY, MockOrigin, download_body
from pingora_core.upstreams import HttpPeer
from pingora_proxy import DEFAULT_SERVICE_NAME, HttpProxy, ProxyHttp, Session, http_proxy_service

pytestmark = pytest.mark.anyio

CONF = ServerConf(grace_period_seconds=1, graceful_shutdown_timeout_seconds=1)


class ToOrigin(ProxyHttp[None]):
    def __init__(self, address: str) -> None:
        self.address = address

    async def upstream_peer(self, session: Session, ctx: None) -> HttpPeer:
        return HttpPeer(self.address)


@asynccontextmanager
async def running(app: ProxyHttp[None]) -> AsyncIterator[tuple[str, HttpProxy]]:
    server = Server(conf=CONF)
    service = http_proxy_service(server.configuration, app)
    assert service.name == DEFAULT_SERVICE_NAME
    service.add_tcp("127.0.0.1:0")
    proxy = service.app
    assert isinstance(proxy, HttpProxy)
    async with serving(server, service, time_limit=10) as address:
        yield address, proxy


async def exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[bytes, bytes]:
    writer.write(request)
    async with asyncio.timeout(10):
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1]) for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        return head, await reader.readexactly(length)


async def test_requests_through_a_real_service_reuse_upstream_connections() -> None:
    async with MockOrigin() as origin, running(ToOrigin(origin.address)) as (address, proxy):
        host, _, port = address.rpartition(":")
        for _ in range(2):  # two client connections, three requests each
            reader, writer = await asyncio.open_connection(host, int(port))
            for _ in range(3):
                head, body = await exchange(reader, writer, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
                assert head.startswith(b"HTTP/1.1 200")
                assert body == DEFAULT_BODY
            head, body = await exchange(
                reader, writer,
                b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n"
                + download_body(100_000),
            )
            assert body == download_body(100_000)
            writer.close()
            await writer.wait_closed()
        assert origin.requests == 8
        assert origin.connections == 1  # one pooled upstream connection served them all
        stats = proxy.connector.stats
        assert stats.created == 1
        assert stats.reused == 7


async def test_an_unreachable_upstream_is_a_502_over_tcp() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{sock.getsockname()[1]}"
    async with running(ToOrigin(dead)) as (address, _):
        host, _, port = address.rpartition(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        head, body = await exchange(reader, writer, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 502")
        assert b"Connection: close" in head
        assert body == b""
        writer.close()
        await writer.wait_closed()
