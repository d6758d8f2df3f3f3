"""HttpServerApp / ServeHttp / HttpServer over in-memory and loopback streams: keep-alive reuse,
framing the app leaves out, app failures, idle and busy connections at graceful shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from pingora_core.apps import ServerApp
from pingora_core.apps import http_app as http_app_module
from pingora_core.apps import http_server as http_server_module
from pingora_core.apps.http_app import DEFAULT_KEEPALIVE_TIMEOUT, HttpServerApp
from pingora_core.apps.http_server import HttpServer, ServeHttp
from pingora_core.protocols.http.v1.server import HttpSession
from pingora_core.protocols.http.v1.settings import H1ServerSettings
from pingora_core.protocols.l4.stream import Stream
from pingora_core.server import ShutdownTrigger, ShutdownWatch
from pingora_core.testing import memory_stream_pair, tcp_stream_pair
from pingora_http import ResponseHeader

pytestmark = pytest.mark.anyio


# -- a strict little client on the Stream interface -----------------------------------------------


class Client:
    def __init__(self, stream: Stream) -> None:
        self.stream = stream
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.stream.write(data)

    async def _fill(self) -> bool:
        data = await self.stream.read()
        self.buffer += data
        return bool(data)

    async def response(self, *, head: bool = False) -> tuple[int, dict[str, str], bytes]:
        async with asyncio.timeout(10):
            while b"\r\n\r\n" not in self.buffer:
                if not await self._fill():
                    raise EOFError(f"EOF before a response head: {self.buffer!r}")
            raw, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
            lines = raw.decode("latin-1").split("\r\n")
            status = int(lines[0].split(" ")[1])
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            if head or status in (204, 304) or status < 200:
                return status, headers, b""
            if headers.get("transfer-encoding") == "chunked":
                return status, headers, await self._chunked()
            if "content-length" in headers:
                return status, headers, await self._exact(int(headers["content-length"]))
            while await self._fill():
                pass
            body, self.buffer = self.buffer, b""
            return status, headers, body

    async def _line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            if not await self._fill():
                raise EOFError("EOF inside a line")
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    async def _exact(self, size: int) -> bytes:
        while len(self.buffer) < size:
            if not await self._fill():
                raise EOFError("EOF inside the body")
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    async def _chunked(self) -> bytes:
        out = b""
        while True:
            size = int((await self._line()).split(b";")[0], 16)
            if size == 0:
                while await self._line():  # trailers, up to the blank line
                    pass
                return out
            out += await self._exact(size)
            assert await self._exact(2) == b"\r\n"

    async def at_eof(self) -> bool:
        async with asyncio.timeout(10):
            try:
                while await self._fill():
                    pass
            except Exception:  # a reset counts as closed
                return True
        return not self.buffer


def get(path: str = "/", extra: str = "") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: test\r\n{extra}\r\n".encode()


# -- apps under test ------------------------------------------------------------------------------


class Hello(ServeHttp):
    def __init__(self) -> None:
        self.calls = 0

    async def response(self, session: HttpSession) -> tuple[ResponseHeader, bytes]:
        self.calls += 1
        header = ResponseHeader(200)
        header.append_header("X-Calls", str(self.calls))
        return header, b"hello"


class Echo(ServeHttp):
    async def response(self, session: HttpSession) -> tuple[ResponseHeader, bytes]:
        body = b""
        while (chunk := await session.read_request_body()) is not None:
            body += chunk
        return ResponseHeader(200), body


class Gate(ServeHttp):
    """Answers once released: lets a test hold a request in flight."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def response(self, session: HttpSession) -> tuple[ResponseHeader, bytes]:
        self.entered.set()
        await self.release.wait()
        return ResponseHeader(200), b"finally"


class Broken(ServeHttp):
    def __init__(self, result: object = None) -> None:
        self.result = result

    async def response(self, session: HttpSession) -> tuple[ResponseHeader, bytes]:
        if self.result is None:
            raise RuntimeError("the app broke")
        return self.result  # type: ignore[return-value]


@asynccontextmanager
async def serving(
    app: ServerApp, *, tcp: bool = False, trigger: ShutdownTrigger | None = None
) -> AsyncIterator[tuple[Client, asyncio.Task[Stream | None], ShutdownTrigger]]:
    """Run `app.process_new` on one connection; yields the client side and the server task."""
    client_stream: Stream
    server_stream: Stream
    if tcp:
        client_stream, server_stream = await tcp_stream_pair()
    else:
        client_stream, server_stream = memory_stream_pair()
    trigger = trigger or ShutdownTrigger()

    async def serve() -> Stream | None:
        # as the listening service does: close the connection once the app is done with it
        try:
            return await app.process_new(server_stream, trigger.watch)
        finally:
            await server_stream.close()

    task = asyncio.create_task(serve())
    try:
        yield Client(client_stream), task, trigger
    finally:
        if not task.done():
            task.cancel()
        await asyncio.wait([task], timeout=5)
        await client_stream.close()
        await server_stream.close()
        await app.cleanup()


# -- tests ----------------------------------------------------------------------------------------


def test_public_names() -> None:
    assert set(http_app_module.__all__) == {"DEFAULT_KEEPALIVE_TIMEOUT", "HttpServerApp"}
    assert set(http_server_module.__all__) == {"HttpServer", "ServeHttp"}
    assert issubclass(HttpServer, HttpServerApp)
    assert issubclass(HttpServerApp, ServerApp)


def test_bad_construction() -> None:
    with pytest.raises(TypeError, match="ServeHttp"):
        HttpServer(object())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="keepalive_timeout"):
        HttpServer(Hello(), keepalive_timeout=0)
    server = HttpServer(Hello(), keepalive_timeout=None)
    assert "keepalive_timeout=None" in repr(server)
    assert HttpServer(Hello()).keepalive_timeout == DEFAULT_KEEPALIVE_TIMEOUT


@pytest.mark.parametrize("tcp", [False, True])
async def test_keepalive_reuse_and_content_length(tcp: bool) -> None:
    app = Hello()
    async with serving(HttpServer(app), tcp=tcp) as (client, task, _):
        client.send(get("/a"))
        status, headers, body = await client.response()
        assert (status, body) == (200, b"hello")
        assert headers["content-length"] == "5"  # filled in from the body
        client.send(get("/b"))
        status, headers, body = await client.response()
        assert headers["x-calls"] == "2"  # the same connection, served twice
        assert not task.done()
    assert app.calls == 2


class Closer(ServeHttp):
    """Asks for the connection to be closed after its answer."""

    async def response(self, session: HttpSession) -> tuple[ResponseHeader, bytes]:
        session.set_keepalive(None)
        return ResponseHeader(200), b"bye"


async def test_keepalive_request_limit_closes_after_the_last_request() -> None:
    settings = H1ServerSettings(keepalive_request_limit=2)
    async with serving(HttpServer(Hello(), h1_settings=settings)) as (client, task, _):
        client.send(get("/1"))
        _, headers, _ = await client.response()
        assert headers["connection"] == "keep-alive"
        client.send(get("/2"))
        _, headers, body = await client.response()
        assert (headers["connection"], body) == ("close", b"hello")
        assert await asyncio.wait_for(task, 5) is None
        assert await client.at_eof()


async def test_app_closing_the_connection_is_not_overruled() -> None:
    async with serving(HttpServer(Closer())) as (client, task, _):
        client.send(get())
        _, headers, body = await client.response()
        assert (headers["connection"], body) == ("close", b"bye")
        assert await asyncio.wait_for(task, 5) is None
        assert await client.at_eof()


async def test_pipelined_requests_answered_in_order() -> None:
    async with serving(HttpServer(Echo())) as (client, _, _):
        client.send(
            b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\none"
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\ntwo\r\n0\r\n\r\n"
            + get()
        )
        bodies = [(await client.response())[2] for _ in range(3)]
        assert bodies == [b"one", b"two", b""]


async def test_connection_close_from_client_ends_the_loop() -> None:
    async with serving(HttpServer(Hello())) as (client, task, _):
        client.send(get(extra="Connection: close\r\n"))
        _status, headers, _ = await client.response()
        assert headers.get("connection", "").lower() == "close"
        assert await asyncio.wait_for(task, 5) is None
        assert await client.at_eof()


async def test_client_eof_between_requests_ends_the_loop() -> None:
    async with serving(HttpServer(Hello())) as (client, task, _):
        client.send(get())
        await client.response()
        await client.stream.shutdown()
        assert await asyncio.wait_for(task, 5) is None


async def test_bad_request_gets_400_and_close() -> None:
    app = Hello()
    async with serving(HttpServer(app)) as (client, task, _):
        client.send(b"NOT HTTP AT ALL\r\n\r\n")
        status, _, _ = await client.response()
        assert status == 400
        assert await asyncio.wait_for(task, 5) is None
        assert await client.at_eof()
    assert app.calls == 0


@pytest.mark.parametrize("result", [None, ("not a header", b""), (ResponseHeader(200), "str")])
async def test_app_failure_is_a_500_and_close(result: object) -> None:
    async with serving(HttpServer(Broken(result))) as (client, task, _):
        client.send(get())
        status, _, _ = await client.response()
        assert status == 500
        assert await asyncio.wait_for(task, 5) is None


async def test_bad_request_body_read_by_the_app_gets_400_not_500() -> None:
    async with serving(HttpServer(Echo())) as (client, task, _):
        client.send(b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n")
        status, _, _ = await client.response()
        assert status == 400
        assert await asyncio.wait_for(task, 5) is None
        assert await client.at_eof()


async def test_head_request_gets_no_body() -> None:
    async with serving(HttpServer(Hello())) as (client, _, _):
        client.send(b"HEAD / HTTP/1.1\r\nHost: t\r\n\r\n" + get())
        _status, headers, _ = await client.response(head=True)
        assert headers["content-length"] == "5"
        _, _, body = await client.response()  # the next response starts right after the head
        assert body == b"hello"


async def test_idle_keepalive_timeout_closes_the_connection() -> None:
    server = HttpServer(Hello(), keepalive_timeout=0.05)
    async with serving(server) as (client, task, _):
        client.send(get())
        await client.response()
        assert await asyncio.wait_for(task, 5) is None  # idle too long
        assert await client.at_eof()


async def test_fresh_idle_connection_closed_by_keepalive_timeout() -> None:
    async with serving(HttpServer(Hello(), keepalive_timeout=0.05)) as (_client, task, _):
        assert await asyncio.wait_for(task, 5) is None


async def test_shutdown_closes_idle_connections_at_once() -> None:
    server = HttpServer(Hello())  # 60 s keep-alive: only the shutdown can end this quickly
    async with serving(server, tcp=True) as (client, task, trigger):
        client.send(get())
        await client.response()
        for _ in range(1000):  # let the server come round to waiting for the next request
            if server.idle_connections:
                break
            await asyncio.sleep(0)
        assert server.idle_connections == 1
        assert "idle_connections=1" in repr(server)
        trigger.trigger()
        assert await asyncio.wait_for(task, 5) is None
        assert await client.at_eof()


async def test_shutdown_lets_a_busy_request_finish_then_closes() -> None:
    gate = Gate()
    async with serving(HttpServer(gate), tcp=True) as (client, task, trigger):
        client.send(get())
        await asyncio.wait_for(gate.entered.wait(), 5)
        trigger.trigger()
        await asyncio.sleep(0.01)
        assert not task.done()  # busy: not cut off
        gate.release.set()
        status, _headers, body = await client.response()
        assert (status, body) == (200, b"finally")
        assert await asyncio.wait_for(task, 5) is None
        assert await client.at_eof()


async def test_request_after_shutdown_started_is_answered_with_close() -> None:
    trigger = ShutdownTrigger()
    gate = Gate()
    async with serving(HttpServer(gate), trigger=trigger) as (client, task, _):
        client.send(get())
        await asyncio.wait_for(gate.entered.wait(), 5)
        trigger.trigger()
        gate.release.set()
        _, headers, _ = await client.response()
        assert headers.get("connection", "").lower() == "close"
        assert await asyncio.wait_for(task, 5) is None


class Counting(HttpServerApp):
    """A hand-written HttpServerApp: the loop, reuse and cleanup hook."""

    def __init__(self) -> None:
        self.served = 0
        self.cleaned = 0

    async def process_new_http(
        self, session: HttpSession, shutdown: ShutdownWatch
    ) -> Stream | None:
        if not await session.read_request():
            return None
        self.served += 1
        await session.write_response_header(ResponseHeader(204))
        await session.write_response_body(b"", True)
        return await session.finish()

    async def http_cleanup(self) -> None:
        self.cleaned += 1


async def test_custom_http_server_app() -> None:
    app = Counting()
    async with serving(app) as (client, task, _):
        for _ in range(3):
            client.send(get())
            status, _, _ = await client.response()
            assert status == 204
        await client.stream.shutdown()
        assert await asyncio.wait_for(task, 5) is None
    assert app.served == 3
    assert app.cleaned == 1  # cleanup() ran http_cleanup()
    assert "idle_connections=0" in repr(app)
