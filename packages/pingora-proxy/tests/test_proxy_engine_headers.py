"""Hop-by-hop header fields are not forwarded in either direction; every other field goes on
unchanged, in its case and its order; the client's head is left alone (upstream gets a copy)."""

from __future__ import annotations

import pytest

from pingora_core.apps import ServerApp
from pingora_core.protocols.l4 import Stream
from pingora_core.server import ShutdownWatch
from pingora_core.upstreams import HttpPeer
from pingora_http import HeaderMap, RequestHeader
from pingora_proxy import HOP_BY_HOP, ProxyHttp, Session, strip_hop_by_hop
from pingora_proxy.testing import InMemoryUpstream, ProxyTestClient, read_head

pytestmark = pytest.mark.anyio


def fields(*pairs: tuple[str, str]) -> HeaderMap:
    return HeaderMap(pairs)


def test_hop_by_hop_fields_are_removed_and_the_rest_keeps_case_and_order() -> None:
    headers = fields(
        ("Host", "a"),
        ("connection", "Keep-Alive, X-Private, close"),
        ("X-Keep", "1"),
        ("Keep-Alive", "timeout=5"),
        ("x-private", "secret"),
        ("TE", "trailers"),
        ("Trailer", "X-Sum"),
        ("Proxy-Connection", "keep-alive"),
        ("Upgrade", "h2c"),
        ("x-KEEP", "2"),
    )
    strip_hop_by_hop(headers)
    assert headers.items() == [(b"Host", b"a"), (b"X-Keep", b"1"), (b"x-KEEP", b"2")]


@pytest.mark.parametrize("value", ["keep-alive", "Keep-Alive", "close", " close "])
def test_a_plain_connection_field_is_removed(value: str) -> None:
    headers = fields(("Server", "o"), ("Connection", value), ("Content-Length", "5"))
    strip_hop_by_hop(headers)
    assert headers.items() == [(b"Server", b"o"), (b"Content-Length", b"5")]
    upgrading = fields(("Connection", value), ("X-A", "1"))
    strip_hop_by_hop(upgrading, upgrade=True)
    assert upgrading.items() == [(b"Connection", value.encode()), (b"X-A", b"1")]


def test_a_connection_field_naming_another_goes_with_it() -> None:
    headers = fields(("Connection", "x-private"), ("X-Private", "1"), ("X-B", "2"))
    strip_hop_by_hop(headers)
    assert headers.items() == [(b"X-B", b"2")]


def test_an_upgrade_keeps_its_pair() -> None:
    headers = fields(("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Keep-Alive", "5"))
    strip_hop_by_hop(headers, upgrade=True)
    assert headers.items() == [(b"Upgrade", b"websocket"), (b"Connection", b"Upgrade")]


def test_connection_cannot_remove_framing_or_host() -> None:
    headers = fields(
        ("Host", "a"), ("Connection", "host, content-length, transfer-encoding"),
        ("Content-Length", "3"),
    )
    strip_hop_by_hop(headers)
    assert headers.items() == [(b"Host", b"a"), (b"Content-Length", b"3")]


def test_nothing_to_strip_leaves_the_map_as_it_was() -> None:
    headers = fields(("A", "1"), ("b", "2"))
    before = headers.copy()
    strip_hop_by_hop(headers)
    assert headers == before
    assert "connection" in {name.decode() for name in HOP_BY_HOP}


class Recorder(ServerApp):
    """Records the raw request head; answers with hop-by-hop fields mixed into its own."""

    def __init__(self) -> None:
        self.head = b""

    async def process_new(self, stream: Stream, shutdown: ShutdownWatch) -> Stream | None:

        try:
            self.head, _ = await read_head(stream)
        except EOFError:
            return None
        stream.write(
            b"HTTP/1.1 200 OK\r\n"
            b"x-first: 1\r\n"
            b"Connection: keep-alive, X-Upstream-Private\r\n"
            b"Keep-Alive: timeout=5, max=100\r\n"
            b"X-Upstream-Private: no\r\n"
            b"Set-Cookie: a=1\r\n"
            b"Proxy-Connection: close\r\n"
            b"set-cookie: b=2\r\n"
            b"Content-Length: 2\r\n"
            b"\r\nok"
        )
        await stream.drain()
        return stream


class Plain(ProxyHttp[None]):
    def __init__(self, peer: HttpPeer) -> None:
        self.peer = peer
        self.client_head: list[tuple[bytes, bytes]] = []

    async def upstream_peer(self, session: Session, ctx: None) -> HttpPeer:
        return self.peer

    async def upstream_request_filter(
        self, session: Session, upstream_request: RequestHeader, ctx: None
    ) -> None:
        upstream_request.append_header("X-Added", "by-filter")

    async def logging(self, session: Session, error: object, ctx: None) -> None:
        self.client_head = session.req_header.headers.items()


async def test_hop_by_hop_fields_stop_at_the_proxy_both_ways() -> None:
    origin = Recorder()
    async with InMemoryUpstream(origin) as upstream:
        app = Plain(upstream.peer())
        async with ProxyTestClient(app) as client:
            resp = await client.get(
                "/path?q=1",
                [
                    ("Host", "example.org"),
                    ("x-lower", "a"),
                    ("Connection", "keep-alive, X-Hop"),
                    ("X-Hop", "1"),
                    ("Keep-Alive", "timeout=5"),
                    ("X-MiXeD-CaSe", "b"),
                    ("TE", "trailers"),
                    ("Accept", "*/*"),
                    ("accept", "text/html"),
                ],
            )
    lines = origin.head.split(b"\r\n")
    assert lines[0] == b"GET /path?q=1 HTTP/1.1"
    assert lines[1:] == [
        b"Host: example.org",
        b"x-lower: a",
        b"X-MiXeD-CaSe: b",
        b"Accept: */*",
        b"accept: text/html",
        b"X-Added: by-filter",
    ]
    # the client's own head was not touched: upstream got a copy
    assert (b"X-Hop", b"1") in app.client_head
    assert (b"X-Added", b"by-filter") not in app.client_head
    assert resp.body == b"ok"
    names = [name for name, _ in resp.headers]
    assert names == ["x-first", "Set-Cookie", "set-cookie", "Content-Length", "Date",
                     "Connection"]
    assert resp.header_all("set-cookie") == ["a=1", "b=2"]
    assert resp.header("Connection") == "keep-alive"  # ours, for the client's connection


async def test_an_http10_request_goes_upstream_as_http11() -> None:
    origin = Recorder()
    async with (
        InMemoryUpstream(origin) as upstream,
        ProxyTestClient(Plain(upstream.peer())) as client,
    ):
        resp = await client.request("GET", "/", [("Host", "h")], version="HTTP/1.0")
    assert origin.head.startswith(b"GET / HTTP/1.1\r\n")
    assert resp.status == 200


class OldOrigin(ServerApp):
    """Answers in HTTP/1.0 with a body delimited by the close of the connection."""

    async def process_new(self, stream: Stream, shutdown: ShutdownWatch) -> Stream | None:
        try:
            await read_head(stream)
        except EOFError:
            return None
        stream.write(b"HTTP/1.0 200 OK\r\nX-Old: 1\r\n\r\nuntil close")
        await stream.close()
        return None


async def test_an_http10_close_delimited_response_is_rechunked_for_the_client() -> None:
    async with (
        InMemoryUpstream(OldOrigin()) as upstream,
        ProxyTestClient(Plain(upstream.peer())) as client,
    ):
        stream = await client.open_connection()
        stream.write(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        head, rest = await read_head(stream)
        while not rest.endswith(b"0\r\n\r\n"):
            rest += await stream.read()
        await stream.close()
        again = await client.get("/")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"Transfer-Encoding: chunked" in head
    assert b"Connection: keep-alive" in head
    assert rest == b"B\r\nuntil close\r\n0\r\n\r\n"
    assert again.body == b"until close"
    assert again.header("X-Old") == "1"
