"""MockOrigin: every behaviour, checked with raw bytes over loopback (no HTTP client of ours)."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from pingora_core.testing import mock_origin
from pingora_core.testing.mock_origin import DEFAULT_BODY, MockOrigin, SeenRequest, download_body

pytestmark = pytest.mark.anyio


class RawClient:
    """A tiny HTTP/1.1 client on raw asyncio streams, strict enough to check framing."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, origin: MockOrigin) -> RawClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", origin.port)
        return cls(reader, writer)

    def send(self, data: bytes) -> None:
        self.writer.write(data)

    async def head(self) -> tuple[int, dict[str, str]]:
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw[:-4].decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.lower()] = value.strip()
        return status, headers

    async def body(self, headers: dict[str, str]) -> bytes:
        if headers.get("transfer-encoding") == "chunked":
            out = bytearray()
            while True:
                size = int((await self.reader.readuntil(b"\r\n"))[:-2], 16)
                if size == 0:
                    assert await self.reader.readuntil(b"\r\n") == b"\r\n"
                    return bytes(out)
                out += await self.reader.readexactly(size)
                assert await self.reader.readexactly(2) == b"\r\n"
        return await self.reader.readexactly(int(headers["content-length"]))

    async def get(self, path: str, extra: str = "") -> tuple[int, dict[str, str], bytes]:
        self.send(f"GET {path} HTTP/1.1\r\nHost: t\r\n{extra}\r\n".encode())
        status, headers = await self.head()
        return status, headers, await self.body(headers)

    async def at_eof(self) -> bool:
        return await self.reader.read(1) == b""

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


def test_public_names() -> None:
    expected = {"DEFAULT_BODY", "MockOrigin", "SeenRequest", "download_body"}
    assert set(mock_origin.__all__) == expected
    with pytest.raises(ValueError, match="size"):
        download_body(-1)


async def test_address_and_default_response() -> None:
    async with MockOrigin() as origin:
        assert origin.address.startswith("127.0.0.1:")
        assert origin.url("/x") == f"http://{origin.address}/x"
        client = await RawClient.connect(origin)
        status, headers, body = await client.get("/")
        assert (status, body) == (200, DEFAULT_BODY)
        assert headers["content-length"] == str(len(DEFAULT_BODY))
        await client.close()
        assert origin.requests == 1
        assert origin.connections == 1
        assert "requests=1" in repr(origin)


async def test_not_started_is_a_clear_error() -> None:
    origin = MockOrigin()
    with pytest.raises(RuntimeError, match="not started"):
        _ = origin.address
    with pytest.raises(ValueError, match="close_after"):
        MockOrigin(close_after=0)


async def test_echo_post_body_content_length_and_chunked() -> None:
    async with MockOrigin() as origin:
        client = await RawClient.connect(origin)
        client.send(
            b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Type: text/x\r\n"
            b"Content-Length: 5\r\n\r\nhello"
        )
        status, headers = await client.head()
        assert status == 200
        assert headers["content-type"] == "text/x"
        assert await client.body(headers) == b"hello"
        client.send(
            b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\nX-Trailer: 1\r\n\r\n"
        )
        status, headers = await client.head()
        assert await client.body(headers) == b"abcde"
        await client.close()
        assert [r.body for r in origin.seen] == [b"hello", b"abcde"]
        assert origin.connections == 1  # reused


@pytest.mark.parametrize("size", [0, 1, 35, 36, 100_000])
async def test_download_and_chunked_sizes(size: int) -> None:
    assert len(download_body(size)) == size
    async with MockOrigin() as origin:
        client = await RawClient.connect(origin)
        status, headers, body = await client.get(f"/download/{size}")
        assert (status, body) == (200, download_body(size))
        status, headers, body = await client.get(f"/chunked/{size}")
        assert headers["transfer-encoding"] == "chunked"
        assert body == download_body(size)
        await client.close()


async def test_status_headers_and_head_method() -> None:
    async with MockOrigin() as origin:
        client = await RawClient.connect(origin)
        status, headers, body = await client.get("/status/404")
        assert (status, body) == (404, b"status 404\n")
        status, headers, body = await client.get("/status/204")
        assert (status, body) == (204, b"")
        status, headers, body = await client.get("/headers", "X-Custom: yes\r\n")
        assert b"X-Custom: yes\n" in body
        client.send(b"HEAD /download/10 HTTP/1.1\r\nHost: t\r\n\r\n")
        status, headers = await client.head()
        assert headers["content-length"] == "10"  # announced, not sent
        status, headers, body = await client.get("/", "X-Status: 503\r\n")
        assert (status, body) == (503, DEFAULT_BODY)
        await client.close()


async def test_set_header_from_request_header() -> None:
    async with MockOrigin() as origin:
        client = await RawClient.connect(origin)
        _, headers, _ = await client.get(
            "/", "X-Set-Header: Cache-Control: max-age=5\r\nX-Set-Header: X-A: b\r\n"
        )
        assert headers["cache-control"] == "max-age=5"
        assert headers["x-a"] == "b"
        status, _, _ = await client.get("/", "X-Set-Header: nonsense\r\n")
        assert status == 400
        assert await client.at_eof()
        await client.close()


async def test_early_hints_before_the_final_response() -> None:
    async with MockOrigin() as origin:
        client = await RawClient.connect(origin)
        client.send(b"GET / HTTP/1.1\r\nHost: t\r\nX-Early-Hints: 1\r\n\r\n")
        status, headers = await client.head()
        assert status == 103
        assert "preload" in headers["link"]
        status, headers = await client.head()
        assert status == 200
        assert await client.body(headers) == DEFAULT_BODY
        await client.close()


async def test_expect_100_continue() -> None:
    async with MockOrigin() as origin:
        client = await RawClient.connect(origin)
        client.send(
            b"POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"
        )
        status, _ = await client.head()
        assert status == 100
        client.send(b"ok")
        status, headers = await client.head()
        assert (status, await client.body(headers)) == (200, b"ok")
        await client.close()


async def test_die_mid_body_sends_half_then_resets() -> None:
    async with MockOrigin() as origin:
        for path, extra in (("/die/1000", ""), ("/download/1000", "X-Die-Mid-Body: 1\r\n")):
            client = await RawClient.connect(origin)
            client.send(f"GET {path} HTTP/1.1\r\nHost: t\r\n{extra}\r\n".encode())
            _status, headers = await client.head()
            assert headers["content-length"] == "1000"
            got = b""
            with pytest.raises((asyncio.IncompleteReadError, ConnectionError)):
                got = await client.reader.readexactly(1000)
            assert got == b""
            await client.close()


async def test_sleep_before_head_and_mid_body() -> None:
    async with MockOrigin() as origin:
        client = await RawClient.connect(origin)
        client.send(b"GET /download/10 HTTP/1.1\r\nHost: t\r\nX-Sleep-Body: 30\r\n\r\n")
        status, _headers = await client.head()
        assert await client.reader.readexactly(5) == download_body(10)[:5]
        # the second half is 30 s away: nothing more arrives soon
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(client.reader.readexactly(1), 0.2)
        await client.close()
        client = await RawClient.connect(origin)
        client.send(b"GET / HTTP/1.1\r\nHost: t\r\nX-Sleep-Head: 30\r\n\r\n")
        await origin.wait_for_requests(2)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(client.reader.readexactly(1), 0.2)
        await client.close()
        client = await RawClient.connect(origin)
        status, _, _ = await client.get("/", "X-Sleep-Head: x\r\n")
        assert status == 400
        await client.close()


@pytest.mark.parametrize("per_request", [False, True])
async def test_close_after_n_reuses(per_request: bool) -> None:
    async with MockOrigin(close_after=None if per_request else 2) as origin:
        extra = "X-Close-After: 2\r\n" if per_request else ""
        client = await RawClient.connect(origin)
        _, headers, _ = await client.get("/", extra)
        assert "connection" not in headers
        _, headers, _ = await client.get("/", extra)
        assert headers["connection"] == "close"
        assert await client.at_eof()
        await client.close()
        assert [r.connection for r in origin.seen] == [1, 1]


async def test_connection_close_and_http10() -> None:
    async with MockOrigin() as origin:
        client = await RawClient.connect(origin)
        _, headers, _ = await client.get("/close")
        assert headers["connection"] == "close"
        assert await client.at_eof()
        await client.close()
        client = await RawClient.connect(origin)
        client.send(b"GET / HTTP/1.0\r\n\r\n")
        _, headers = await client.head()
        assert headers["connection"] == "close"
        await client.close()
        client = await RawClient.connect(origin)
        client.send(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        _status, headers = await client.head()
        assert headers["connection"] == "keep-alive"
        await client.body(headers)
        _, _, body = await client.get("/")
        assert body == DEFAULT_BODY
        await client.close()


@pytest.mark.parametrize(
    "raw",
    [
        b"GARBAGE\r\n\r\n",
        b"GET / HTTP/2.0\r\nHost: t\r\n\r\n",
        b"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: zz\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
)
async def test_bad_requests_get_400_and_close(raw: bytes) -> None:
    async with MockOrigin() as origin:
        client = await RawClient.connect(origin)
        client.send(raw)
        status, headers = await client.head()
        assert status == 400
        assert headers["connection"] == "close"
        await client.body(headers)
        assert await client.at_eof()
        await client.close()


async def test_counters_seen_and_wait_for_requests() -> None:
    async with MockOrigin() as origin:
        clients = [await RawClient.connect(origin) for _ in range(3)]
        for client in clients:
            client.send(b"GET /a?b=1 HTTP/1.1\r\nHost: t\r\n\r\n")
        await origin.wait_for_requests(3)
        assert origin.connections == 3
        assert origin.open_connections == 3
        first = origin.seen[0]
        assert isinstance(first, SeenRequest)
        assert (first.method, first.target, first.version) == ("GET", "/a?b=1", "HTTP/1.1")
        assert first.header("host") == "t"
        assert first.header("missing") is None
        with pytest.raises(TimeoutError):
            await origin.wait_for_requests(4, timeout=0.05)
        for client in clients:
            await client.close()


async def test_stop_resets_open_connections_and_is_idempotent() -> None:
    origin = MockOrigin()
    await origin.start()
    with pytest.raises(RuntimeError, match="already running"):
        await origin.start()
    client = await RawClient.connect(origin)
    client.send(b"GET / HTTP/1.1\r\nHost: t\r\nX-Sleep-Head: 30\r\n\r\n")
    await origin.wait_for_requests(1)
    await origin.stop()
    await origin.stop()
    with pytest.raises((ConnectionError, asyncio.IncompleteReadError)):
        await client.reader.readexactly(1)
    await client.close()
