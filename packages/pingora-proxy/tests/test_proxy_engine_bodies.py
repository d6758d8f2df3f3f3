"""Bodies through the proxy: body filters that replace, split, drop, or buffer and release, in
both directions; request bodies streaming while the response streams back; backpressure that
keeps memory bounded for a slow client; 100-continue and 103 passing through; trailers; an
HTTP/1.0 client."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from pingora_core.apps import ServerApp
from pingora_core.protocols.l4 import Stream
from pingora_core.server import ShutdownWatch
from pingora_core.testing.mock_origin import MockOrigin, download_body
from pingora_core.upstreams import HttpPeer
from pingora_http import HeaderMap, RequestHeader, ResponseHeader
from pingora_proxy import ProxyHttp, Session
from pingora_proxy.testing import InMemoryUpstream, ProxyTestClient, read_head

pytestmark = pytest.mark.anyio

BodyFn = Callable[[bytes | None, bool], bytes | None]


class Bodies(ProxyHttp[None]):
    """Runs `up_fn` on request body pieces and `down_fn` on response body pieces; drops
    Content-Length both ways when asked (the filters change the size)."""

    def __init__(
        self, peer: HttpPeer, *, up_fn: BodyFn | None = None, down_fn: BodyFn | None = None
    ) -> None:
        self.peer = peer
        self.up_fn = up_fn
        self.down_fn = down_fn
        self.seen_down: list[tuple[bytes | None, bool]] = []

    async def upstream_peer(self, session: Session, ctx: None) -> HttpPeer:
        return self.peer

    async def upstream_request_filter(
        self, session: Session, upstream_request: RequestHeader, ctx: None
    ) -> None:
        if self.up_fn is not None:
            upstream_request.remove_header("Content-Length")

    async def response_filter(
        self, session: Session, upstream_response: ResponseHeader, ctx: None
    ) -> None:
        if self.down_fn is not None:
            upstream_response.remove_header("Content-Length")

    async def request_body_filter(
        self, session: Session, body: bytes | None, end_of_stream: bool, ctx: None
    ) -> bytes | None:
        return body if self.up_fn is None else self.up_fn(body, end_of_stream)

    async def response_body_filter(
        self, session: Session, body: bytes | None, end_of_stream: bool, ctx: None
    ) -> bytes | None:
        self.seen_down.append((body, end_of_stream))
        return body if self.down_fn is None else self.down_fn(body, end_of_stream)


def upper(body: bytes | None, end: bool) -> bytes | None:
    return None if body is None else body.upper()


def drop_all_but_end(body: bytes | None, end: bool) -> bytes | None:
    return b"[dropped]" if end else None


class Buffer:
    """Holds everything back and releases it, reversed, at the end."""

    def __init__(self) -> None:
        self.held = bytearray()

    def __call__(self, body: bytes | None, end: bool) -> bytes | None:
        if body:
            self.held += body
        return bytes(reversed(self.held)) if end else b""


class Split:
    """Passes on the first half of each piece now and the rest with the next one."""

    def __init__(self) -> None:
        self.rest = b""

    def __call__(self, body: bytes | None, end: bool) -> bytes | None:
        data = self.rest + (body or b"")
        if end:
            self.rest = b""
            return data
        half = len(data) // 2
        self.rest = data[half:]
        return data[:half]


async def echo(req: RequestHeader, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
    framing = "chunked" if req.get("transfer-encoding") else "length"
    return 200, [("X-Request-Framing", framing)], body


SIZE = 300_000


@pytest.mark.parametrize(
    ("fn", "expected"),
    [
        (upper, download_body(SIZE).upper()),
        (drop_all_but_end, b"[dropped]"),
        (Buffer(), bytes(reversed(download_body(SIZE)))),
        (Split(), download_body(SIZE)),
    ],
    ids=["replace", "drop", "buffer-and-release", "split"],
)
async def test_response_body_filters(fn: BodyFn, expected: bytes) -> None:
    async with MockOrigin() as origin:
        app = Bodies(HttpPeer(origin.address), down_fn=fn)
        async with ProxyTestClient(app) as client:
            resp = await client.get(f"/download/{SIZE}")
            assert resp.status == 200
            assert resp.header("Transfer-Encoding") == "chunked"  # the size changed: re-framed
            assert resp.body == expected
            # the connection is still good
            assert (await client.get("/")).status == 200
            assert client.connections == 1
    assert app.seen_down[-1][1] is True


@pytest.mark.parametrize(
    ("fn", "expected"),
    [
        (upper, download_body(SIZE).upper()),
        (drop_all_but_end, b"[dropped]"),
        (Buffer(), bytes(reversed(download_body(SIZE)))),
        (Split(), download_body(SIZE)),
    ],
    ids=["replace", "drop", "buffer-and-release", "split"],
)
async def test_request_body_filters(fn: BodyFn, expected: bytes) -> None:
    async with InMemoryUpstream(echo) as upstream:
        app = Bodies(upstream.peer(), up_fn=fn)
        async with ProxyTestClient(app) as client:
            resp = await client.post("/echo", download_body(SIZE))
    assert resp.status == 200
    assert resp.header("X-Request-Framing") == "chunked"
    assert resp.body == expected


async def test_large_bodies_pass_through_unchanged_with_their_framing() -> None:
    async with MockOrigin() as origin, ProxyTestClient(Bodies(HttpPeer(origin.address))) as client:
        down = await client.get("/download/2000000")
        up = await client.post("/echo", download_body(1_000_000))
        chunked = await client.get("/chunked/123456")
    assert down.body == download_body(2_000_000)
    assert down.header("Content-Length") == "2000000"
    assert up.body == download_body(1_000_000)
    assert chunked.body == download_body(123456)
    assert chunked.header("Transfer-Encoding") == "chunked"


class Streamer(ServerApp):
    """Answers with a `total`-byte chunked body written in 64 KiB pieces; counts what it wrote."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.written = 0

    async def process_new(self, stream: Stream, shutdown: ShutdownWatch) -> Stream | None:
        try:
            await read_head(stream)
        except EOFError:
            return None
        stream.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % self.total)
        piece = b"z" * 65536
        while self.written < self.total:
            stream.write(piece)
            self.written += len(piece)
            await stream.drain()
        return stream


async def test_a_slow_client_slows_the_upstream_down() -> None:
    total = 32 * 1024 * 1024
    origin = Streamer(total)
    async with (
        InMemoryUpstream(origin) as upstream,
        ProxyTestClient(Bodies(upstream.peer())) as client,
    ):
        stream = await client.open_connection()
        stream.write(b"GET /big HTTP/1.1\r\nHost: t\r\n\r\n")
        first = await stream.read()
        assert first.startswith(b"HTTP/1.1 200")
        # the client stops reading; give every task plenty of turns to run
        for _ in range(500):
            await asyncio.sleep(0)
        stalled_at = origin.written
        assert stalled_at < 2 * 1024 * 1024  # buffers are bounded: not the whole body
        received = len(first.partition(b"\r\n\r\n")[2])
        while received < total:
            data = await stream.read()
            assert data
            received += len(data)
        assert origin.written == total
        await stream.close()


async def test_100_continue_comes_from_the_upstream() -> None:
    class Continues(ServerApp):
        async def process_new(self, stream: Stream, shutdown: ShutdownWatch) -> Stream | None:
            try:
                _, rest = await read_head(stream)
            except EOFError:
                return None
            stream.write(b"HTTP/1.1 100 Continue\r\nX-From: upstream\r\n\r\n")
            body = rest
            while len(body) < 5:
                body += await stream.read()
            stream.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n" + body.upper())
            await stream.drain()
            return stream

    async with (
        InMemoryUpstream(Continues()) as upstream,
        ProxyTestClient(Bodies(upstream.peer())) as client,
    ):
        stream = await client.open_connection()
        stream.write(
            b"POST /x HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"
        )
        interim, buf = await read_head(stream)  # the body is only sent after the 100
        assert interim.startswith(b"HTTP/1.1 100")
        assert b"X-From: upstream" in interim  # forwarded, not made up by the proxy
        stream.write(b"hello")
        while not buf.endswith(b"HELLO"):
            buf += await stream.read()
        assert buf.startswith(b"HTTP/1.1 200")
        assert buf.count(b"HTTP/1.1 100") == 0
        await stream.close()


async def test_a_final_answer_instead_of_100_skips_the_body() -> None:
    async def refuse(req: RequestHeader, body: bytes) -> tuple[int, dict[str, str], bytes]:
        raise AssertionError("the handler reads the body first")

    class Refuses(ServerApp):
        async def process_new(self, stream: Stream, shutdown: ShutdownWatch) -> Stream | None:
            try:
                await read_head(stream)
            except EOFError:
                return None
            stream.write(b"HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\n\r\n")
            await stream.drain()
            return None

    async with (
        InMemoryUpstream(Refuses()) as upstream,
        ProxyTestClient(Bodies(upstream.peer())) as client,
    ):
        stream = await client.open_connection()
        stream.write(
            b"POST /x HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"
        )
        head, _ = await read_head(stream)
        assert head.startswith(b"HTTP/1.1 417")
        assert b"Connection: close" in head  # the unsent body makes the connection unusable
        await stream.close()


async def test_early_hints_pass_through() -> None:
    async with MockOrigin() as origin, ProxyTestClient(Bodies(HttpPeer(origin.address))) as client:
        resp = await client.get("/", headers={"X-Early-Hints": "1"})
    assert resp.informational == (103,)
    assert resp.status == 200


class Trailers(ServerApp):
    async def process_new(self, stream: Stream, shutdown: ShutdownWatch) -> Stream | None:
        try:
            await read_head(stream)
        except EOFError:
            return None
        stream.write(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n"
            b"5\r\nhello\r\n0\r\nX-Checksum: abc\r\n\r\n"
        )
        await stream.drain()
        return stream


class TrailerFilter(Bodies):
    async def upstream_response_trailer_filter(
        self, session: Session, trailers: HeaderMap, ctx: None
    ) -> None:
        trailers.append("X-Seen", "yes")


async def test_trailers_pass_through_the_trailer_filters() -> None:
    async with (
        InMemoryUpstream(Trailers()) as upstream,
        ProxyTestClient(TrailerFilter(upstream.peer())) as client,
    ):
        resp = await client.get("/")
    assert resp.body == b"hello"
    assert resp.trailers == (("X-Checksum", "abc"), ("X-Seen", "yes"))
    assert resp.header("Trailer") is None  # hop-by-hop


async def test_an_http10_client_gets_the_body_until_close() -> None:
    async with MockOrigin() as origin, ProxyTestClient(Bodies(HttpPeer(origin.address))) as client:
        stream = await client.open_connection()
        stream.write(b"GET /chunked/5000 HTTP/1.0\r\nHost: t\r\n\r\n")
        data = b""
        while piece := await stream.read():
            data += piece
        await stream.close()
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"transfer-encoding" not in head.lower()
    assert body == download_body(5000)


async def test_head_requests_get_no_body() -> None:
    async with MockOrigin() as origin, ProxyTestClient(Bodies(HttpPeer(origin.address))) as client:
        resp = await client.head("/download/100")
        after = await client.get("/")
    assert resp.status == 200
    assert resp.body == b""
    assert resp.header("Content-Length") == "100"
    assert after.status == 200
    assert client.connections == 1


async def test_a_client_gone_mid_upload_fails_the_request_once() -> None:
    seen = asyncio.Event()

    class Waits(ServerApp):
        async def process_new(self, stream: Stream, shutdown: ShutdownWatch) -> Stream | None:
            while await stream.read():  # takes whatever comes until the proxy gives up
                seen.set()
            return None

    class Logs(Bodies):
        logged: list[object]

        async def logging(self, session: Session, error: object, ctx: None) -> None:
            self.logged.append(error)

    async with InMemoryUpstream(Waits()) as upstream:
        app = Logs(upstream.peer())
        app.logged = []
        async with ProxyTestClient(app) as client:
            stream = await client.open_connection()
            stream.write(b"POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n")
            stream.write(b"x" * 1000)
            await seen.wait()
            stream.abort()  # the client goes away with the upload unfinished
            for _ in range(100):
                if app.logged:
                    break
                await asyncio.sleep(0)
    assert len(app.logged) == 1
    error = app.logged[0]
    assert isinstance(error, Exception)
    assert "Downstream" in str(error)
