"""An `HttpServer` on loopback driven by real clients: curl (keep-alive reuse, POST bodies,
chunked both ways) and raw sockets (bad requests), and a server subprocess stopped by real
signals (SIGTERM lets every request in flight finish; SIGINT stops at once)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import textwrap
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from pingora_core.apps.http_server import HttpServer, ServeHttp
from pingora_core.protocols.http.v1.server import HttpSession
from pingora_core.server import Server, ServerConf
from pingora_core.services import Service
from pingora_http import ResponseHeader

CURL = "/usr/bin/curl"
ROOT = Path(__file__).resolve().parent.parent

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(not os.access(CURL, os.X_OK), reason="curl is not installed"),
]


class EchoApp(ServeHttp):
    """Echoes the request body; `/chunked` answers with a chunked body; records peers."""

    def __init__(self) -> None:
        self.peers: list[str | None] = []

    async def response(self, session: HttpSession) -> tuple[ResponseHeader, bytes]:
        self.peers.append(session.stream.digest.peer_addr)
        body = bytearray()
        while (chunk := await session.read_request_body()) is not None:
            body += chunk
        header = ResponseHeader(200)
        if session.req_header.path == "/chunked":
            header.append_header("Transfer-Encoding", "chunked")
            return header, b"chunked:" + bytes(body)
        return header, bytes(body) or b"no body!"


@asynccontextmanager
async def running(app: ServeHttp) -> AsyncIterator[str]:
    """An HttpServer on 127.0.0.1:0 inside a real Server; yields its address."""
    server = Server(conf=ServerConf(grace_period_seconds=5, graceful_shutdown_timeout_seconds=2))
    service = Service("e2e", HttpServer(app))
    service.add_tcp("127.0.0.1:0")
    handle = server.add_service(service)
    task = asyncio.create_task(server.run())
    try:
        await asyncio.wait_for(handle.wait_ready(), 10)
        yield service.bound_addresses()[0]
    finally:
        server.request_shutdown()
        await asyncio.wait_for(task, 15)


async def curl(*args: str, data: bytes | None = None) -> tuple[int, bytes, str]:
    proc = await asyncio.create_subprocess_exec(
        CURL, "-sS", "--max-time", "20", *args,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(data), 30)
    assert proc.returncode is not None
    return proc.returncode, out, err.decode(errors="replace")


async def test_curl_reuses_the_connection_for_two_urls() -> None:
    app = EchoApp()
    async with running(app) as addr:
        code, out, err = await curl("-v", f"http://{addr}/one", f"http://{addr}/two")
    assert code == 0, err
    assert out == b"no body!no body!"
    assert "Re-using existing connection" in err
    assert len(app.peers) == 2
    assert app.peers[0] == app.peers[1]  # same client port: one TCP connection


async def test_curl_post_bodies(tmp_path: Path) -> None:
    payload = os.urandom(1 << 20)
    (tmp_path / "body.bin").write_bytes(payload)
    async with running(EchoApp()) as addr:
        code, out, err = await curl("--data-binary", f"@{tmp_path / 'body.bin'}", f"http://{addr}/")
        assert code == 0, err
        assert out == payload
        code, out, err = await curl("-d", "small form", f"http://{addr}/")
        assert out == b"small form"


async def test_curl_chunked_request_and_response() -> None:
    async with running(EchoApp()) as addr:
        code, out, err = await curl(
            "-H", "Transfer-Encoding: chunked", "--data-binary", "@-", f"http://{addr}/",
            data=b"streamed body" * 1000,
        )
        assert code == 0, err
        assert out == b"streamed body" * 1000
        code, out, err = await curl("-i", "--data-binary", "abc", f"http://{addr}/chunked")
        head, _, body = out.partition(b"\r\n\r\n")
        assert b"transfer-encoding: chunked" in head.lower()
        assert body == b"chunked:abc"


def raw_exchange(addr: str, data: bytes) -> tuple[bytes, bool]:
    """Send `data`, read until the server closes; (everything read, closed cleanly)."""
    host, port = addr.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(data)
        received = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                return received, True
            if not chunk:
                return received, True
            received += chunk


@pytest.mark.parametrize(
    "raw",
    [
        b"THIS IS NOT HTTP\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nBad Header: x\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
        b"GET / HTTP/1.1\r\n\r\n",  # no Host
    ],
)
async def test_bad_requests_get_400_and_close(raw: bytes) -> None:
    async with running(EchoApp()) as addr:
        received, closed = await asyncio.to_thread(raw_exchange, addr, raw)
    assert received.startswith(b"HTTP/1.1 400"), received
    assert closed


async def test_good_request_then_bad_one_on_the_same_connection() -> None:
    async with running(EchoApp()) as addr:
        data = b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGARBAGE\r\n\r\n"
        received, closed = await asyncio.to_thread(raw_exchange, addr, data)
    assert received.startswith(b"HTTP/1.1 200")
    assert b"HTTP/1.1 400" in received
    assert closed


# -- real signals to a server process -------------------------------------------------------------

SERVER_SCRIPT = textwrap.dedent(
    """
    import asyncio, sys
    from pingora_http import ResponseHeader
    from pingora_core.apps.http_server import HttpServer, ServeHttp
    from pingora_core.server import Server, ServerConf
    from pingora_core.services import BackgroundService, Service, background_service

    class Slow(ServeHttp):
        async def response(self, session):
            print("started", session.req_header.path, flush=True)
            await asyncio.sleep(float(session.req_header.path.rsplit("/", 1)[1]))
            return ResponseHeader(200), b"done " + session.req_header.path.encode()

    class Announce(BackgroundService):
        def __init__(self, service):
            self.service = service
        async def start(self, shutdown):
            print("listening on", self.service.bound_addresses()[0], flush=True)
        async def start_with_ready_notifier(self, shutdown, ready):
            await self.start(shutdown)
            ready.notify_ready()

    server = Server(conf=ServerConf(grace_period_seconds=30, graceful_shutdown_timeout_seconds=5))
    service = Service("slow", HttpServer(Slow()))
    service.add_tcp("127.0.0.1:0")
    handle = server.add_service(service)
    server.add_service(background_service("announce", Announce(service))).add_dependency(handle)
    server.run_forever()
    print("exited", flush=True)
    """
)


@asynccontextmanager
async def server_process(tmp_path: Path) -> AsyncIterator[tuple[asyncio.subprocess.Process, str]]:
    script = tmp_path / "slow_server.py"
    script.write_text(SERVER_SCRIPT)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(script), stdout=asyncio.subprocess.PIPE
    )
    assert proc.stdout is not None
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
        assert line.startswith("listening on "), line
        yield proc, line.split()[-1]
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


async def wait_started(proc: asyncio.subprocess.Process, count: int) -> None:
    assert proc.stdout is not None
    for _ in range(count):
        line = await asyncio.wait_for(proc.stdout.readline(), 20)
        assert line.startswith(b"started"), line


@pytest.mark.slow
async def test_sigterm_lets_every_request_in_flight_finish(tmp_path: Path) -> None:
    async with server_process(tmp_path) as (proc, addr):
        requests = [
            asyncio.create_task(curl("-i", f"http://{addr}/slow/{i}/1.5")) for i in range(5)
        ]
        await wait_started(proc, 5)
        proc.send_signal(signal.SIGTERM)
        results = await asyncio.gather(*requests)
        for i, (code, out, err) in enumerate(results):
            assert code == 0, err
            assert out.startswith(b"HTTP/1.1 200"), out
            assert out.endswith(f"done /slow/{i}/1.5".encode())
            assert b"connection: close" in out.lower()  # answered during shutdown: no reuse
        assert await asyncio.wait_for(proc.wait(), 20) == 0
        assert proc.stdout is not None
        assert b"exited" in await proc.stdout.read()


@pytest.mark.slow
async def test_sigint_stops_at_once(tmp_path: Path) -> None:
    async with server_process(tmp_path) as (proc, addr):
        requests = [asyncio.create_task(curl(f"http://{addr}/slow/60")) for _ in range(3)]
        await wait_started(proc, 3)
        start = time.monotonic()
        proc.send_signal(signal.SIGINT)
        await asyncio.wait_for(proc.wait(), 20)
        assert time.monotonic() - start < 15  # nowhere near the 60 s the requests wanted
        for code, out, _ in await asyncio.gather(*requests):
            assert code != 0  # cut off: curl reports the empty reply / reset
            assert out == b""
