"""Integration tests ported from Pingora's pingora-proxy/tests/test_upstream.rs (HTTP/1, no TLS,
no cache): bodies streaming through a real proxy on 127.0.0.1:0 while raw asyncio clients and
scripted origins control every byte.

Covered: a 1 MB upload echoed back while it is still being sent (duplex), a 15 MB upload, an
origin dying mid-body (Content-Length and chunked: the client never sees a complete body), an
origin answering and closing before the client finished its upload, Upgrade requests (smoke,
body before the 101, body and WebSocket bytes after it, closes in both directions), a client
too slow to read a download (the proxy's write timeout cuts it off) and the CONNECT method.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest

from pingora_core.errors import Error
from pingora_core.protocols.http.v1.settings import H1ServerSettings
from pingora_core.server import Server, ServerConf
from pingora_core.services import Service
from pingora_core.testing import (
    DEFAULT_BODY,
    MockOrigin,
    RawResponse,
    download_body,
    read_chunked_body,
    read_response_body,
    read_response_head,
    serving,
)
from pingora_core.upstreams import HttpPeer
from pingora_proxy import ALLOW_CONNECT_KEY, HttpProxy, ProxyHttp, Session, http_proxy_service

pytestmark = pytest.mark.anyio

TIMEOUT = 20.0
TEST_CONF = ServerConf(grace_period_seconds=1, graceful_shutdown_timeout_seconds=1)


# -- the proxy under test -------------------------------------------------------------------------


class TestProxy(ProxyHttp[None]):
    """Proxies to `upstream`; records every `logging` call (status sent, error)."""

    __test__ = False

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.logged: list[tuple[int | None, Error | None]] = []
        self.done = asyncio.Event()

    def new_ctx(self) -> None:
        return None

    async def upstream_peer(self, session: Session, ctx: None) -> HttpPeer:
        return HttpPeer(self.upstream)

    async def logging(self, session: Session, error: Error | None, ctx: None) -> None:
        written = session.response_written
        self.logged.append((None if written is None else written.status, error))
        self.done.set()


@asynccontextmanager
async def serve(
    app: ProxyHttp[None],
    *,
    allow_connect: bool | None = None,
    h1_settings: H1ServerSettings | None = None,
) -> AsyncIterator[str]:
    """Run `app` in a Server on 127.0.0.1:0 (an `HttpProxy` with these options); yield its
    address."""
    server = Server(conf=TEST_CONF)
    proxy = HttpProxy(
        app, server.configuration, allow_connect=allow_connect, h1_settings=h1_settings
    )
    service = Service("proxy under test", proxy)
    service.add_tcp("127.0.0.1:0")
    async with serving(server, service, time_limit=TIMEOUT) as address:
        yield address


# -- raw client side -------------------------------------------------------------------------------


@asynccontextmanager
async def connect(address: str) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    host, _, port = address.rpartition(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        yield reader, writer
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


def request_head(method: str, target: str, *headers: str) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def read_head(reader: asyncio.StreamReader) -> RawResponse:
    """The next final (or 101) response head; skips other 1xx."""
    return await read_response_head(reader, time_limit=TIMEOUT)


async def read_body(reader: asyncio.StreamReader, head: RawResponse) -> bytes:
    return await read_response_body(reader, head, time_limit=TIMEOUT)


async def read_exactly(reader: asyncio.StreamReader, size: int) -> bytes:
    async with asyncio.timeout(TIMEOUT):
        return await reader.readexactly(size)


async def read_to_eof(reader: asyncio.StreamReader) -> bytes:
    async with asyncio.timeout(TIMEOUT):
        return await reader.read()


async def write_body(writer: asyncio.StreamWriter, size: int, piece: int = 64 * 1024) -> None:
    sent = 0
    while sent < size:
        n = min(piece, size - sent)
        writer.write(b"b" * n)
        await writer.drain()
        sent += n


# -- scripted origins ------------------------------------------------------------------------------


@dataclass(slots=True)
class OriginRequest:
    method: str
    target: str
    headers: dict[str, str]


OriginHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class ScriptedOrigin:
    """An asyncio server on 127.0.0.1:0 running `handler` for each connection."""

    def __init__(self, handler: OriginHandler) -> None:
        self.handler = handler
        self.server: asyncio.Server | None = None
        self.address = ""
        self.finished = asyncio.Event()

    async def __aenter__(self) -> ScriptedOrigin:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        host, port = self.server.sockets[0].getsockname()[:2]
        self.address = f"{host}:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.server.wait_closed(), 5)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self.handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            self.finished.set()


async def origin_read_head(reader: asyncio.StreamReader) -> OriginRequest:
    raw = await reader.readuntil(b"\r\n\r\n")
    lines = raw[:-4].decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ")
    headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
    return OriginRequest(method, target, headers)


async def echo_raw(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy everything read back until EOF."""
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()


SWITCHING = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n"


# -- duplex and large uploads ----------------------------------------------------------------------


async def duplex_echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Starts the (chunked) response at once and echoes the body while still reading it."""
    while True:
        try:
            req = await origin_read_head(reader)
        except asyncio.IncompleteReadError:
            return
        remaining = int(req.headers.get("content-length", "0"))
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        await writer.drain()
        while remaining:
            data = await reader.read(min(remaining, 65536))
            if not data:
                return
            remaining -= len(data)
            writer.writelines((b"%x\r\n" % len(data), data, b"\r\n"))
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        await writer.drain()


async def test_duplex_upload_echoed_while_sending() -> None:
    size = 1024 * 1024
    async with (
        ScriptedOrigin(duplex_echo) as origin,
        serve(TestProxy(origin.address)) as address,
        connect(address) as (reader, writer),
    ):
        writer.write(request_head("POST", "/duplex/", f"Content-Length: {size}"))
        # the response streams back while the upload is still going: both at once
        uploading = asyncio.create_task(write_body(writer, size))
        head = await read_head(reader)
        assert head.status == 200
        body = await read_body(reader, head)
        await asyncio.wait_for(uploading, TIMEOUT)
        assert body == b"b" * size
        # the connection is still good for another request
        writer.write(request_head("POST", "/duplex/", "Content-Length: 5") + b"hello")
        head = await read_head(reader)
        assert await read_body(reader, head) == b"hello"


async def test_upload_15mb() -> None:
    size = 15 * 1024 * 1024
    async with (
        MockOrigin() as origin,
        serve(TestProxy(origin.address)) as address,
        connect(address) as (reader, writer),
    ):
        writer.write(request_head("POST", "/upload/", f"Content-Length: {size}"))
        uploading = asyncio.create_task(write_body(writer, size, 256 * 1024))
        head = await read_head(reader)
        assert head.status == 200
        assert await read_body(reader, head) == DEFAULT_BODY
        await asyncio.wait_for(uploading, TIMEOUT)
        assert len(origin.seen[-1].body) == size
        assert origin.seen[-1].body == b"b" * size


# -- the origin fails part-way ---------------------------------------------------------------------


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_connection_dies_mid_body(chunked: bool) -> None:
    size = 100_000
    app = TestProxy("127.0.0.1:9")
    async with MockOrigin() as origin:
        app.upstream = origin.address
        async with serve(app) as address, connect(address) as (reader, writer):
            extra = ["X-Chunked: 1"] if chunked else []
            writer.write(request_head("GET", f"/die/{size}", *extra))
            head = await read_head(reader)
            assert head.status == 200  # the header was already on its way
            if chunked:
                with pytest.raises((asyncio.IncompleteReadError, ConnectionError)):
                    await read_chunked_body(reader, time_limit=TIMEOUT)  # no last chunk comes
            else:
                assert head.content_length == size
                got = b""
                with contextlib.suppress(ConnectionError):
                    got = await read_to_eof(reader)
                assert len(got) < size  # cut short: the body never looks complete
                assert got == download_body(size)[: len(got)]
            await asyncio.wait_for(app.done.wait(), TIMEOUT)
    status, error = app.logged[-1]
    assert status == 200
    assert error is not None


async def answer_early_then_close(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """Reads the head and the first 1000 body bytes, answers, and closes before the rest."""
    await origin_read_head(reader)
    await reader.readexactly(1000)
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\nConnection: close\r\n\r\nhello world")
    await writer.drain()


async def test_close_on_response_before_downstream_finish() -> None:
    declared = 15 * 1024 * 1024
    async with (
        ScriptedOrigin(answer_early_then_close) as origin,
        serve(TestProxy(origin.address)) as address,
        connect(address) as (reader, writer),
    ):
        writer.write(request_head("POST", "/test2", f"Content-Length: {declared}"))
        writer.write(b"b" * 1000)  # the rest of the upload is never sent
        head = await read_head(reader)
        assert head.status == 200
        assert (head.header("connection") or "").lower() == "close"
        assert await read_body(reader, head) == b"hello world"
        assert await read_to_eof(reader) == b""  # the unfinished request ends the connection


# -- Upgrade ---------------------------------------------------------------------------------------


async def upgrade_origin(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """`/upgrade`: 101, then "hello\\n", then echo. `/upgrade_echo_body`: reads the
    Content-Length body, 101, sends the body back, then echo. `/upgrade_early`: 101 right after
    the head, then echo everything (body included)."""
    req = await origin_read_head(reader)
    assert req.headers.get("upgrade") == "websocket", req.headers
    if req.target == "/upgrade":
        writer.write(SWITCHING + b"hello\n")
    elif req.target == "/upgrade_echo_body":
        body = await reader.readexactly(int(req.headers["content-length"]))
        writer.write(SWITCHING + body)
    else:
        writer.write(SWITCHING)
    await writer.drain()
    await echo_raw(reader, writer)


UPGRADE = ("Upgrade: websocket", "Connection: Upgrade")


async def test_upgrade_smoke() -> None:
    async with (
        ScriptedOrigin(upgrade_origin) as origin,
        serve(TestProxy(origin.address)) as address,
        connect(address) as (reader, writer),
    ):
        writer.write(request_head("GET", "/upgrade", *UPGRADE))
        head = await read_head(reader)
        assert head.status == 101
        assert head.header("upgrade") == "websocket"
        assert (head.header("connection") or "").lower() == "upgrade"
        assert await read_exactly(reader, 6) == b"hello\n"
        # a raw pipe both ways now
        writer.write(b"\x81\x05ping!")
        assert await read_exactly(reader, 7) == b"\x81\x05ping!"
        # the client's half close reaches the origin, whose close comes back
        writer.write_eof()
        assert await read_to_eof(reader) == b""


async def test_upgrade_body() -> None:
    async with (
        ScriptedOrigin(upgrade_origin) as origin,
        serve(TestProxy(origin.address)) as address,
        connect(address) as (reader, writer),
    ):
        writer.write(request_head("POST", "/upgrade_echo_body", *UPGRADE, "Content-Length: 1024"))
        writer.write(b"b" * 1024)
        head = await read_head(reader)
        assert head.status == 101
        assert await read_exactly(reader, 1024) == b"b" * 1024


async def test_upgrade_body_after_101() -> None:
    async with (
        ScriptedOrigin(upgrade_origin) as origin,
        serve(TestProxy(origin.address)) as address,
        connect(address) as (reader, writer),
    ):
        writer.write(request_head("POST", "/upgrade_early", *UPGRADE, "Content-Length: 5120"))
        writer.write(b"b" * 5120)
        head = await read_head(reader)
        assert head.status == 101
        writer.write(b"hello")  # WebSocket bytes after the 101
        assert await read_exactly(reader, 5125) == b"b" * 5120 + b"hello"


async def upgrade_then_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """101, echo one read, then close the connection."""
    await origin_read_head(reader)
    writer.write(SWITCHING)
    await writer.drain()
    writer.write(await reader.read(65536))
    await writer.drain()


async def test_upgrade_origin_close_reaches_client() -> None:
    async with (
        ScriptedOrigin(upgrade_then_close) as origin,
        serve(TestProxy(origin.address)) as address,
        connect(address) as (reader, writer),
    ):
        writer.write(request_head("GET", "/ws", *UPGRADE))
        assert (await read_head(reader)).status == 101
        writer.write(b"last words")
        assert await read_exactly(reader, 10) == b"last words"
        assert await read_to_eof(reader) == b""  # would hang if the close was not passed on


async def upgrade_then_reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """101, one echo, then an abrupt reset."""
    await origin_read_head(reader)
    writer.write(SWITCHING)
    writer.write(await reader.read(65536))
    await writer.drain()
    writer.transport.abort()


async def test_upgrade_origin_reset_ends_the_client_connection() -> None:
    async with (
        ScriptedOrigin(upgrade_then_reset) as origin,
        serve(TestProxy(origin.address)) as address,
        connect(address) as (reader, writer),
    ):
        writer.write(request_head("GET", "/ws", *UPGRADE))
        assert (await read_head(reader)).status == 101
        writer.write(b"ping")
        assert await read_exactly(reader, 4) == b"ping"
        rest = b""
        with contextlib.suppress(ConnectionError):
            rest = await read_to_eof(reader)  # would hang if the reset was not passed on
        assert rest == b""


async def refuse_upgrade(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answers an Upgrade request with a plain 200 (no switch), then serves on."""
    while True:
        try:
            await origin_read_head(reader)
        except asyncio.IncompleteReadError:
            return
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nno upgrade!")
        await writer.drain()


async def test_upgrade_declined_by_the_origin_is_a_plain_response() -> None:
    async with (
        ScriptedOrigin(refuse_upgrade) as origin,
        serve(TestProxy(origin.address)) as address,
        connect(address) as (reader, writer),
    ):
        writer.write(request_head("GET", "/ws", *UPGRADE))
        head = await read_head(reader)
        assert head.status == 200
        assert await read_body(reader, head) == b"no upgrade!"
        # still HTTP: the next request on the connection is answered as usual
        writer.write(request_head("GET", "/again"))
        head = await read_head(reader)
        assert await read_body(reader, head) == b"no upgrade!"


# -- a client too slow to read ---------------------------------------------------------------------


async def test_download_write_timeout() -> None:
    size = 32 * 1024 * 1024  # far more than the socket buffers hold
    settings = H1ServerSettings(write_timeout=1.0)
    async with MockOrigin() as origin:
        app = TestProxy(origin.address)
        async with serve(app, h1_settings=settings) as address, connect(address) as (
            reader,
            writer,
        ):
            writer.write(request_head("GET", f"/download/{size}"))
            head = await read_head(reader)
            assert head.status == 200
            # do not read: the proxy's write times out and it gives up on this client
            await asyncio.wait_for(app.done.wait(), TIMEOUT)
            got = b""
            with contextlib.suppress(ConnectionError):
                got = await read_to_eof(reader)
            assert len(got) < size
    status, error = app.logged[-1]
    assert status == 200
    assert error is not None


# -- CONNECT ---------------------------------------------------------------------------------------


async def test_connect_disallowed_by_default() -> None:
    async with (
        MockOrigin() as origin,
        serve(TestProxy(origin.address)) as address,
        connect(address) as (reader, writer),
    ):
        writer.write(request_head("CONNECT", "pingora.org:443").replace(
            b"Host: 127.0.0.1", b"Host: pingora.org:443"
        ))
        head = await read_head(reader)
        assert head.status == 405
        assert origin.connections == 0


async def tunnel_target(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """The far end of a CONNECT tunnel: says hello, echoes, closes after the client's EOF."""
    writer.write(b"hello from the target\n")
    await writer.drain()
    await echo_raw(reader, writer)


@pytest.mark.parametrize("how", ["argument", "conf"])
async def test_connect_allowed_opens_a_tunnel(how: str) -> None:
    async with ScriptedOrigin(tunnel_target) as target:
        if how == "argument":
            proxy = serve(TestProxy(target.address), allow_connect=True)
        else:
            conf = dataclasses.replace(TEST_CONF, extra={ALLOW_CONNECT_KEY: True})
            proxy = serve_with_conf(TestProxy(target.address), conf)
        async with proxy as address, connect(address) as (reader, writer):
            writer.write(
                b"CONNECT pingora.org:443 HTTP/1.1\r\nHost: pingora.org:443\r\n\r\n"
            )
            head = await read_head(reader)
            assert head.status == 200
            # a 2xx to CONNECT has no body framing: what follows is the tunnel
            assert head.header("content-length") is None
            assert head.header("transfer-encoding") is None
            assert await read_exactly(reader, 22) == b"hello from the target\n"
            payload = b"\x16\x03\x01 not really TLS"
            writer.write(payload)
            assert await read_exactly(reader, len(payload)) == payload
            writer.write_eof()  # the half close travels to the target, its close comes back
            assert await read_to_eof(reader) == b""


@asynccontextmanager
async def serve_with_conf(app: ProxyHttp[None], conf: ServerConf) -> AsyncIterator[str]:
    """Run `app` through `http_proxy_service` with `conf`; yield its address."""
    server = Server(conf=conf)
    service = http_proxy_service(server.configuration, app)
    service.add_tcp("127.0.0.1:0")
    async with serving(server, service, time_limit=TIMEOUT) as address:
        yield address
