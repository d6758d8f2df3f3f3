"""`RawHttpClient` and the raw response readers, against scripted asyncio servers on 127.0.0.1:0
that send exact bytes: Content-Length, chunked, close-delimited, 1xx, HEAD, bad input."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from pingora_core.testing import (
    RawHttpClient,
    read_response,
    request_bytes,
)

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def scripted(*answers: bytes, close: bool = False) -> AsyncIterator[tuple[str, list[bytes]]]:
    """A server sending `answers[i]` after the i-th request head it reads; yields its address
    and the request heads it got."""
    seen: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for answer in answers:
            seen.append(await reader.readuntil(b"\r\n\r\n"))
            writer.write(answer)
            await writer.drain()
        if close:
            writer.close()
        else:
            await reader.read()
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    host, port = server.sockets[0].getsockname()[:2]
    async with server:
        yield f"{host}:{port}", seen


async def test_content_length_chunked_and_head_on_one_connection() -> None:
    answers = (
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\n\r\nhello",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nTrailer: x\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n",
    )
    async with (
        scripted(*answers) as (address, seen),
        await RawHttpClient.connect(address) as client,
    ):
        first = await client.request("GET", "/a", [("X-Q", "1")])
        assert (first.status, first.body, first.header("x-a")) == (200, b"hello", "1")
        assert (first.content_length, first.chunked) == (5, False)
        second = await client.request("POST", "/b", body=b"xy")
        assert (second.chunked, second.body) == (True, b"abcde")
        third = await client.request("HEAD", "/c")
        assert (third.body, third.content_length) == (b"", 99)
        assert "RawHttpClient(peer=" in repr(client)
    assert seen[0] == b"GET /a HTTP/1.1\r\nHost: test.example\r\nX-Q: 1\r\n\r\n"
    assert seen[1].endswith(b"Content-Length: 2\r\n\r\n")


async def test_informational_heads_are_skipped_and_close_delimits() -> None:
    answer = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early\r\nLink: x\r\n\r\n" \
             b"HTTP/1.1 200 OK\r\n\r\nuntil close"
    async with (
        scripted(answer, close=True) as (address, _),
        await RawHttpClient.connect(address) as client,
    ):
        client.send(request_bytes("GET", "/", host="h"))
        response = await client.response()
        assert response.informational == [100, 103]
        assert response.body == b"until close"
        assert await client.at_eof()


async def test_101_has_no_body() -> None:
    answer = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: ws\r\n\r\nraw bytes"
    async with scripted(answer) as (address, _), await RawHttpClient.connect(address) as client:
        response = await client.request("GET", "/", [("Upgrade", "ws")])
        assert (response.status, response.body) == (101, b"")
        assert await client.reader.readexactly(9) == b"raw bytes"


async def test_a_silent_server_hits_the_deadline() -> None:
    async with (
        scripted(b"") as (address, _),
        await RawHttpClient.connect(address, time_limit=0.3) as client,
    ):
        with pytest.raises(TimeoutError):
            await client.request("GET", "/")


async def test_bad_input_gets_clear_errors() -> None:
    reader = asyncio.StreamReader()
    reader.feed_data(b"SSH-2.0-nope\r\n\r\n")
    reader.feed_eof()
    with pytest.raises(ValueError, match="not an HTTP/1 status line"):
        await read_response(reader)
    reader = asyncio.StreamReader()
    reader.feed_data(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\naXX")
    reader.feed_eof()
    with pytest.raises(ValueError, match="CRLF"):
        await read_response(reader)
    with pytest.raises(ValueError, match="bad request line"):
        request_bytes("GET", "/a b")
    with pytest.raises(ValueError, match="host:port"):
        await RawHttpClient.connect("nowhere")
