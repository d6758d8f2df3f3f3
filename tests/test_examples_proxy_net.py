"""The connection_filter and websocket_proxy examples run as real programs on port 0, driven over
loopback by raw asyncio clients and the `websockets` library (as client and as origin), and
stopped with SIGTERM; every wait is bounded.

The connection filter test relies on the whole 127.0.0.0/8 block being loopback (Linux): the
refused client binds its socket to 127.0.0.2, the accepted one comes from 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosedOK

from pingora_core.testing import DEFAULT_BODY, MockOrigin, ServerProcess, start_program

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

pytestmark = pytest.mark.anyio


def _second_loopback_works() -> bool:
    try:
        with socket.socket() as sock:
            sock.bind(("127.0.0.2", 0))
    except OSError:
        return False
    return True


def example(name: str, *args: str) -> AbstractAsyncContextManager[ServerProcess]:
    """Run examples/<name> with `--port 0` until the block ends (SIGTERM: it must exit 0)."""
    return start_program([sys.executable, str(EXAMPLES / name), "--port", "0", *args])


async def exchange(host: str, port: int, request: bytes, *, source: str | None = None) -> bytes:
    """Send `request` from `source` (an IP to bind to) and read until the server closes;
    a reset counts as a close."""
    local = None if source is None else (source, 0)
    reader, writer = await asyncio.open_connection(host, port, local_addr=local)
    try:
        with suppress(ConnectionError):
            writer.write(request)
            await writer.drain()
        try:
            return await asyncio.wait_for(reader.read(), 10)
        except ConnectionError:
            return b""
    finally:
        writer.close()
        with suppress(ConnectionError):
            await writer.wait_closed()


GET_CLOSE = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


# -- connection_filter ----------------------------------------------------------------------------


@pytest.mark.skipif(not _second_loopback_works(), reason="127.0.0.2 is not a loopback address here")
async def test_connection_filter_refuses_a_denied_address() -> None:
    async with MockOrigin() as origin, example(
        "connection_filter.py", "--upstream", origin.address, "--deny", "127.0.0.2"
    ) as proxy:
        assert proxy.host == "127.0.0.1"
        # the denied client: closed at once, not a byte of response
        assert await exchange(proxy.host, proxy.port, GET_CLOSE, source="127.0.0.2") == b""
        # an allowed client (127.0.0.1): proxied
        got = await exchange(proxy.host, proxy.port, GET_CLOSE, source="127.0.0.1")
        assert got.startswith(b"HTTP/1.1 200")
        assert got.endswith(DEFAULT_BODY)
        assert origin.requests == 1  # the refused request never went anywhere
    assert "refusing the connection from 127.0.0.2:" in proxy.stderr.decode()


async def test_connection_filter_denying_the_only_client_address() -> None:
    async with example("connection_filter.py", "--deny", "127.0.0.1") as proxy:
        assert await exchange(proxy.host, proxy.port, GET_CLOSE) == b""
    async with example("connection_filter.py") as proxy:  # no deny list: everyone is served
        got = await exchange(proxy.host, proxy.port, GET_CLOSE)
        assert got.startswith(b"HTTP/1.1 200")
        assert got.endswith(b"hello from the origin\n")


async def test_connection_filter_rejects_a_bad_address_argument() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(EXAMPLES / "connection_filter.py"), "--deny", "not-an-ip",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 2
    assert b"not an IP address" in err


# -- websocket_proxy ------------------------------------------------------------------------------

@asynccontextmanager
async def echo_origin() -> AsyncIterator[tuple[str, list[str]]]:
    """A websockets echo server on 127.0.0.1:0; "bye" makes it close the connection (code 1000,
    reason "bye"). Yields its address and the paths it was asked for."""
    paths: list[str] = []

    async def handler(connection: ServerConnection) -> None:
        paths.append(connection.request.path if connection.request else "?")
        async for message in connection:
            if message == "bye":
                await connection.close(1000, "bye")
                return
            await connection.send(message)

    async with serve(handler, "127.0.0.1", 0) as server:
        host, port = next(iter(server.sockets)).getsockname()[:2]
        yield f"{host}:{port}", paths


async def test_websocket_proxy_echo_and_client_close() -> None:
    async with echo_origin() as (origin, paths), example(
        "websocket_proxy.py", "--upstream", origin
    ) as proxy:
        url = f"ws://{proxy.host}:{proxy.port}/chat?room=1"
        async with asyncio.timeout(20), connect(url) as ws:
            for i in range(20):
                await ws.send(f"message {i}")
                assert await ws.recv() == f"message {i}"
            big = bytes(range(256)) * 1000  # a binary frame over 64 KiB
            await ws.send(big)
            assert await ws.recv() == big
            await ws.close(1000, "done")  # the close handshake goes through the proxy
            assert ws.close_code == 1000
        assert paths == ["/chat?room=1"]
    assert "websocket #1 closed" in proxy.stderr.decode()


async def test_websocket_proxy_origin_close_reaches_the_client() -> None:
    async with echo_origin() as (origin, _), example(
        "websocket_proxy.py", "--upstream", origin
    ) as proxy:
        url = f"ws://{proxy.host}:{proxy.port}/"
        async with asyncio.timeout(20), connect(url) as ws:
            await ws.send("hello")
            assert await ws.recv() == "hello"
            await ws.send("bye")
            with pytest.raises(ConnectionClosedOK):
                await ws.recv()
            assert ws.close_code == 1000
            assert ws.close_reason == "bye"
        # a second connection works as well
        async with asyncio.timeout(20), connect(url) as ws:
            await ws.send("again")
            assert await ws.recv() == "again"


async def test_websocket_proxy_embedded_echo_origin() -> None:
    async with (
        example("websocket_proxy.py") as proxy,
        asyncio.timeout(20),
        connect(f"ws://{proxy.host}:{proxy.port}/") as ws,
    ):
        for text in ("one", "two", "three"):
            await ws.send(text)
            assert await ws.recv() == text
