"""Integration tests ported from Pingora's pingora-proxy/tests/test_basic.rs (the HTTP/1, no TLS,
no cache parts): a small ProxyHttp runs in a real Server on 127.0.0.1:0 in front of MockOrigin
or a scripted origin, and raw asyncio clients talk to it over loopback (or a unix socket).

Covered: simple proxying and the addresses the session reports, unix socket listener and peer,
a dropped pooled connection retried transparently (GET, empty POST, POST with a body) and not
retried for a body over the 64 KiB retry buffer (502), Connection: close, HEAD through an
origin that sends 100 Continue, compression to the client and decompression for it, CONNECT
refused (405) and tunnelled when allowed.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from pingora_core.errors import Error
from pingora_core.modules import ResponseCompression
from pingora_core.server import Server, ServerConf
from pingora_core.testing import (
    DEFAULT_BODY,
    MockOrigin,
    RawHttpClient,
    RawResponse,
    download_body,
    serving,
)
from pingora_core.upstreams import HttpPeer
from pingora_http import RequestHeader, ResponseHeader
from pingora_proxy import ProxyHttp, Session, http_proxy_service

pytestmark = pytest.mark.anyio

TIMEOUT = 15.0
TEST_CONF = ServerConf(grace_period_seconds=1, graceful_shutdown_timeout_seconds=1)


# -- the proxy under test -------------------------------------------------------------------------


@dataclass(slots=True)
class Ctx:
    peer_calls: int = 0


@dataclass(slots=True)
class Logged:
    status: int | None
    error: Error | None


class TestProxy(ProxyHttp[Ctx]):
    """Pingora's test proxy, reduced to what these tests use.

    `x-peer: ADDR` picks the peer (default `upstream`); `x-downstream-compression: 1` turns on
    gzip for the client; `x-downstream-decompression: 1` turns on decompression;
    `x-upstream-accept-encoding: V` sets Accept-Encoding upstream. The response carries the
    addresses the session reports; every `logging` call is recorded.
    """

    __test__ = False

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.logged: list[Logged] = []

    def new_ctx(self) -> Ctx:
        return Ctx()

    async def request_filter(self, session: Session, ctx: Ctx) -> bool:
        req = session.req_header
        modules = session.downstream_modules_ctx
        if req.get("x-downstream-compression") == b"1":
            module = modules.get(ResponseCompression)
            assert module is not None
            module.adjust_level(6)
        if req.get("x-downstream-decompression") == b"1":
            module = modules.get(ResponseCompression)
            assert module is not None
            module.adjust_decompression(True)
        return False

    async def upstream_peer(self, session: Session, ctx: Ctx) -> HttpPeer:
        ctx.peer_calls += 1
        chosen = session.req_header.get("x-peer")
        return HttpPeer(self.upstream if chosen is None else chosen.decode())

    async def upstream_request_filter(
        self, session: Session, upstream_request: RequestHeader, ctx: Ctx
    ) -> None:
        encoding = session.req_header.get("x-upstream-accept-encoding")
        if encoding is not None:
            upstream_request.insert_header("Accept-Encoding", encoding)

    async def response_filter(
        self, session: Session, upstream_response: ResponseHeader, ctx: Ctx
    ) -> None:
        upstream_response.insert_header("x-server-addr", session.server_addr or "unset")
        upstream_response.insert_header("x-client-addr", session.client_addr or "unset")
        upstream_response.insert_header("x-peer-calls", str(ctx.peer_calls))

    async def logging(self, session: Session, error: Error | None, ctx: Ctx) -> None:
        written = session.response_written
        self.logged.append(Logged(status=None if written is None else written.status, error=error))


@asynccontextmanager
async def serve(app: ProxyHttp[Ctx], *, uds: Path | None = None) -> AsyncIterator[str]:
    """Run `app` in a Server on 127.0.0.1:0 (or the unix socket `uds`); yield its address."""
    server = Server(conf=TEST_CONF)
    service = http_proxy_service(server.configuration, app)
    if uds is None:
        service.add_tcp("127.0.0.1:0")
    else:
        service.add_uds(str(uds))
    async with serving(server, service, time_limit=TIMEOUT) as address:
        yield address


# -- a strict little HTTP/1.1 client --------------------------------------------------------------


def _split(line: str) -> tuple[str, str, str]:
    return line.partition(":")


@asynccontextmanager
async def client(address: str) -> AsyncIterator[RawHttpClient]:
    """A raw HTTP/1.1 client connection, closed at the end."""
    async with await RawHttpClient.connect(address, time_limit=TIMEOUT) as conn:
        yield conn


# -- scripted origins -----------------------------------------------------------------------------


@dataclass(slots=True)
class OriginRequest:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes


class OriginConn:
    """The origin side of one connection: read requests, write raw bytes."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        self.reader = reader
        self.writer = writer
        self.number = n  # 1-based connection number
        self.served = 0

    async def read_request(self, *, body: bool = True) -> OriginRequest | None:
        try:
            raw = await self.reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return None
        lines = raw[:-4].decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ")
        headers = {k.strip().lower(): v.strip() for k, _, v in map(_split, lines[1:])}
        data = b""
        if body and "content-length" in headers:
            data = await self.reader.readexactly(int(headers["content-length"]))
        self.served += 1
        return OriginRequest(method, target, headers, data)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()


Handler = Callable[[OriginConn], Awaitable[None]]


class ScriptedOrigin:
    """An asyncio server (TCP on 127.0.0.1:0, or a unix socket) running `handler` per
    connection; counts connections."""

    def __init__(self, handler: Handler, *, uds: Path | None = None) -> None:
        self.handler = handler
        self.uds = uds
        self.connections = 0
        self.server: asyncio.Server | None = None
        self.address = ""

    async def __aenter__(self) -> ScriptedOrigin:
        if self.uds is None:
            self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
            host, port = self.server.sockets[0].getsockname()[:2]
            self.address = f"{host}:{port}"
        else:
            self.server = await asyncio.start_unix_server(self._serve, str(self.uds))
            self.address = f"unix:{self.uds}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.server.wait_closed(), 5)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await self.handler(OriginConn(reader, writer, self.connections))
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


def http_response(status: int, body: bytes, *headers: str) -> bytes:
    head = [f"HTTP/1.1 {status} X", *headers, f"Content-Length: {len(body)}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


async def hello_world(conn: OriginConn) -> None:
    """Answers every request on the connection "Hello World!\\n" (keep-alive)."""
    while await conn.read_request() is not None:
        await conn.send(http_response(200, b"Hello World!\n", "Content-Type: text/plain"))


# -- simple proxying ------------------------------------------------------------------------------


async def test_simple_proxy() -> None:
    async with MockOrigin() as origin, serve(TestProxy(origin.address)) as address:
        async with client(address) as conn:
            resp = await conn.request("GET", "/")
            assert resp.status == 200
            assert resp.body == DEFAULT_BODY
            assert resp.header("Content-Length") == str(len(DEFAULT_BODY))
            assert resp.header("x-server-addr") == address
            client_host, _, client_port = (resp.header("x-client-addr") or "").rpartition(":")
            assert client_host == "127.0.0.1"
            assert 0 < int(client_port) < 65536
            # the downstream connection is reused for the next request
            resp = await conn.request("GET", "/download/100")
            assert resp.body == download_body(100)
        assert [r.target for r in origin.seen] == ["/", "/download/100"]
        assert origin.connections == 1  # the upstream connection was pooled and reused


async def test_simple_proxy_uds_listener(tmp_path: Path) -> None:
    sock = tmp_path / "proxy.sock"
    async with MockOrigin() as origin, serve(TestProxy(origin.address), uds=sock) as address:
        assert address == f"unix:{sock}"
        async with client(address) as conn:
            resp = await conn.request("GET", "/")
        assert resp.status == 200
        assert resp.body == DEFAULT_BODY
        assert resp.header("x-client-addr") in ("unset", "")  # an unnamed unix socket client


async def test_simple_proxy_uds_peer(tmp_path: Path) -> None:
    async with (
        ScriptedOrigin(hello_world, uds=tmp_path / "origin.sock") as origin,
        MockOrigin() as tcp_origin,
        serve(TestProxy(tcp_origin.address)) as address,
        client(address) as conn,
    ):
        resp = await conn.request("GET", "/", [("x-peer", origin.address)])
        assert resp.status == 200
        assert resp.body == b"Hello World!\n"
        assert resp.header("Content-Length") == "13"
        resp = await conn.request("GET", "/", [("x-peer", origin.address)])
        assert resp.body == b"Hello World!\n"
        assert origin.connections == 1  # unix socket connections are pooled too
        assert tcp_origin.requests == 0


async def test_connection_close() -> None:
    async with (
        MockOrigin() as origin,
        serve(TestProxy(origin.address)) as address,
        client(address) as conn,
    ):
        resp = await conn.request("GET", "/")
        assert resp.status == 200
        assert (resp.header("Connection") or "keep-alive").lower() == "keep-alive"
        resp = await conn.request("GET", "/", [("Connection", "close")])
        assert resp.status == 200
        assert resp.body == DEFAULT_BODY
        assert (resp.header("Connection") or "").lower() == "close"
        assert await conn.at_eof()


# -- a pooled connection the origin drops ----------------------------------------------------------


async def drops_reused(conn: OriginConn) -> None:
    """`/bad_lb` on a reused connection: read the request, then close without answering.
    Everything else (and /bad_lb on a fresh connection): 200, with the request body or
    "dog!\\n"."""
    while (req := await conn.read_request()) is not None:
        if req.target.startswith("/bad_lb") and conn.served > 1:
            return
        body = req.body or b"dog!\n"
        await conn.send(http_response(200, body, "Content-Type: text/plain"))


async def load_pool_then(
    address: str, origin: ScriptedOrigin, method: str, body: bytes
) -> RawResponse:
    async with client(address) as conn:
        for _ in range(2):  # load a connection into the pool
            assert (await conn.request("GET", "/", [("x-peer", origin.address)])).status == 200
        assert origin.connections == 1
        return await conn.request(method, "/bad_lb", [("x-peer", origin.address)], body)


@pytest.mark.parametrize(
    ("method", "body", "expected"),
    [("GET", b"", b"dog!\n"), ("POST", b"", b"dog!\n"), ("POST", b"cat!\n", b"cat!\n")],
)
async def test_dropped_reused_connection_is_retried(
    method: str, body: bytes, expected: bytes
) -> None:
    app = TestProxy("127.0.0.1:9")
    async with ScriptedOrigin(drops_reused) as origin, serve(app) as address:
        resp = await load_pool_then(address, origin, method, body)
        assert resp.status == 200
        assert resp.body == expected
        assert resp.header("x-peer-calls") == "2"  # upstream_peer was asked again
        assert origin.connections == 2  # the retry went over a fresh connection
    assert [entry.status for entry in app.logged] == [200, 200, 200]


async def test_dropped_reused_connection_body_over_retry_buffer_is_502() -> None:
    app = TestProxy("127.0.0.1:9")
    large_body = b"e" * (64 * 1024 + 1)
    async with ScriptedOrigin(drops_reused) as origin, serve(app) as address:
        resp = await load_pool_then(address, origin, "POST", large_body)
        assert resp.status == 502
        assert origin.connections == 1  # no retry: the body cannot be replayed
    assert app.logged[-1].status == 502
    assert app.logged[-1].error is not None


# -- HEAD through an origin that sends 100 Continue -----------------------------------------------


async def continue_then_head(conn: OriginConn) -> None:
    """Sends 100 Continue, then a bodiless 200 with Content-Length: 42 (a HEAD answer)."""
    while await conn.read_request() is not None:
        await conn.send(b"HTTP/1.1 100 Continue\r\n\r\n")
        await conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\n")


async def test_head_with_100_continue() -> None:
    async with (
        ScriptedOrigin(continue_then_head) as origin,
        MockOrigin() as other,
        serve(TestProxy(origin.address)) as address,
        client(address) as conn,
    ):
        resp = await conn.request("HEAD", "/")
        assert resp.status == 200
        assert resp.header("Content-Length") == "42"
        # no body followed the HEAD answer: the next response on this connection is intact
        resp = await conn.request("GET", "/", [("x-peer", other.address)])
        assert resp.status == 200
        assert resp.body == DEFAULT_BODY


async def test_early_hints_pass_through() -> None:
    async with (
        MockOrigin() as origin,
        serve(TestProxy(origin.address)) as address,
        client(address) as conn,
    ):
        resp = await conn.request("GET", "/", [("X-Early-Hints", "1")])
        assert resp.informational == [103]
        assert resp.status == 200
        assert resp.body == DEFAULT_BODY


async def test_expect_100_continue_upload() -> None:
    async with (
        MockOrigin() as origin,
        serve(TestProxy(origin.address)) as address,
        client(address) as conn,
    ):
        conn.writer.write(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
            b"Expect: 100-continue\r\n\r\n"
        )
        # the client waits for the go-ahead before sending its body
        interim = await asyncio.wait_for(conn.reader.readuntil(b"\r\n\r\n"), TIMEOUT)
        assert interim.startswith(b"HTTP/1.1 100 ")
        conn.writer.write(b"hello")
        resp = await conn.response()
        assert resp.status == 200
        assert resp.body == b"hello"
        assert origin.seen[-1].body == b"hello"


# -- compression -----------------------------------------------------------------------------------


async def test_downstream_compression() -> None:
    size = 4096
    text = ("X-Set-Header", "Content-Type: text/plain")
    async with (
        MockOrigin() as origin,
        serve(TestProxy(origin.address)) as address,
        client(address) as conn,
    ):
        resp = await conn.request(
            "GET",
            f"/download/{size}",
            [text, ("x-downstream-compression", "1"), ("Accept-Encoding", "gzip")],
        )
        assert resp.status == 200
        assert resp.header("Content-Encoding") == "gzip"
        assert len(resp.body) < size
        assert gzip.decompress(resp.body) == download_body(size)
        # compression is present but off unless a request turns it on
        resp = await conn.request("GET", f"/download/{size}", [text, ("Accept-Encoding", "gzip")])
        assert resp.header("Content-Encoding") is None
        assert resp.body == download_body(size)
        # on, but the client does not accept gzip: sent as is
        resp = await conn.request(
            "GET", f"/download/{size}", [text, ("x-downstream-compression", "1")]
        )
        assert resp.header("Content-Encoding") is None
        assert resp.body == download_body(size)


PAGE = b"Hello World!\n" * 50


async def gzip_origin(conn: OriginConn) -> None:
    """Answers gzip-encoded PAGE when asked for gzip, PAGE otherwise; tells what it was asked."""
    while (req := await conn.read_request()) is not None:
        accept = req.headers.get("accept-encoding", "")
        seen = f"received-accept-encoding: {accept or '-'}"
        if "gzip" in accept:
            await conn.send(
                http_response(
                    200, gzip.compress(PAGE), "Content-Type: text/html",
                    "Content-Encoding: gzip", seen,
                )
            )
        else:
            await conn.send(http_response(200, PAGE, "Content-Type: text/html", seen))


async def test_downstream_decompression() -> None:
    async with (
        ScriptedOrigin(gzip_origin) as origin,
        serve(TestProxy(origin.address)) as address,
        client(address) as conn,
    ):
        flags = [("x-downstream-decompression", "1"), ("x-upstream-accept-encoding", "gzip")]
        resp = await conn.request("GET", "/gzip/index.html", flags)
        assert resp.status == 200
        assert resp.header("received-accept-encoding") == "gzip"
        assert resp.header("Content-Encoding") is None
        assert resp.body == PAGE
        # a client that accepts gzip gets the origin's gzip body untouched
        resp = await conn.request("GET", "/gzip/index.html", [*flags, ("Accept-Encoding", "gzip")])
        assert resp.header("Content-Encoding") == "gzip"
        assert zlib.decompress(resp.body, 16 + zlib.MAX_WBITS) == PAGE
        # without decompression switched on, the gzip body passes through
        resp = await conn.request("GET", "/gzip/index.html", flags[1:])
        assert resp.header("Content-Encoding") == "gzip"
        assert gzip.decompress(resp.body) == PAGE
