"""The pingora-core HTTP examples run as real programs: each is started as a subprocess on port 0,
driven over loopback and stopped by the test (bounded waits throughout)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from pingora_core.testing import MockOrigin, download_body, start_program

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def example(name: str, *args: str) -> AsyncIterator[tuple[str, int]]:
    """Run examples/<name> with `--port 0`; yields (host, port) it printed; SIGTERM at the end."""
    async with start_program([sys.executable, str(EXAMPLES / name), "--port", "0", *args]) as p:
        yield p.host, p.port


async def exchange(host: str, port: int, request: bytes) -> bytes:
    """Send a request with `Connection: close` semantics and read until the server closes."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(request)
        return await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
        await writer.wait_closed()


async def test_http_echo_example() -> None:
    async with example("http_echo.py") as (host, port):
        got = await exchange(
            host, port,
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
        )
        assert got.startswith(b"HTTP/1.1 200")
        assert got.endswith(b"\r\n\r\nhello")
        got = await exchange(host, port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert got.endswith(b"no body!")


async def test_tcp_proxy_example_relays_to_the_upstream() -> None:
    async with MockOrigin() as origin, example("tcp_proxy.py", "--upstream", origin.address) as (
        host, port,
    ):
        got = await exchange(
            host, port, b"GET /download/5000 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        assert got.startswith(b"HTTP/1.1 200")
        assert got.endswith(download_body(5000))
        assert origin.requests == 1
        # half close passes through: the client shuts its side, the answer still comes back
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        writer.write_eof()
        assert (await asyncio.wait_for(reader.read(), 10)).startswith(b"HTTP/1.1 200")
        writer.close()
        await writer.wait_closed()


async def test_tcp_proxy_example_with_a_dead_upstream_closes_the_client() -> None:
    async with MockOrigin() as origin:
        dead = origin.address
    async with example("tcp_proxy.py", "--upstream", dead) as (host, port):
        assert await exchange(host, port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n") == b""


async def run_client(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(EXAMPLES / "http_client.py"), *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_http_client_example_gets_urls_reusing_the_connection() -> None:
    async with MockOrigin() as origin:
        code, out, err = await run_client(origin.url("/download/20"), origin.url("/chunked/30"))
        assert code == 0, err
        assert "200 OK" in out
        assert download_body(20).decode() in out
        assert download_body(30).decode() in out
        assert "reused: False" in out
        assert "reused: True" in out
        assert origin.connections == 1
        assert [r.target for r in origin.seen] == ["/download/20", "/chunked/30"]


async def test_http_client_example_reports_a_refused_connection() -> None:
    async with MockOrigin() as origin:
        url = origin.url("/")
    code, _out, err = await run_client(url)
    assert code == 1
    assert "ConnectRefused" in err


async def test_http_client_example_rejects_a_bad_url() -> None:
    code, _, err = await run_client("ftp://example.test/")
    assert code == 2
    assert "http://" in err


async def test_virtual_l4_example() -> None:
    async with example("virtual_l4.py") as (host, port):
        got = await exchange(
            host, port, b"GET /hi HTTP/1.1\r\nHost: virtual.test\r\nConnection: close\r\n\r\n"
        )
        assert got.startswith(b"HTTP/1.1 200"), got
        assert b"Hello from the virtual origin" in got
        assert b"/hi" in got
        got = await exchange(
            host, port, b"GET / HTTP/1.1\r\nHost: example.org\r\nConnection: close\r\n\r\n"
        )
        assert got.startswith(b"HTTP/1.1 404"), got
