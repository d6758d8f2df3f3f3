"""The pingora-core server examples run as real programs: each starts as a subprocess on port 0,
prints where it listens, is driven over loopback and stopped with a signal (bounded waits)."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path

import pytest

from pingora_core.testing import ServerProcess, start_program

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
WAIT = 20.0

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def example(
    name: str, *args: str, stop: int = signal.SIGTERM
) -> AsyncIterator[ServerProcess]:
    """Run examples/<name> --port 0; yields once it printed "listening on"; `stop` at the end
    (it must exit 0, without a traceback)."""
    argv = [sys.executable, str(EXAMPLES / name), "--port", "0", *args]
    async with start_program(argv, stop_signal=stop, time_limit=WAIT) as running:
        yield running
    assert "Traceback" not in running.stderr_text()


async def connect(running: ServerProcess) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection(running.host, running.port)


async def test_tcp_echo_echoes_and_stops_on_sigterm() -> None:
    async with example("tcp_echo.py") as running:
        reader, writer = await connect(running)
        for payload in (b"hello\n", b"x" * 100_000):
            writer.write(payload)
            await writer.drain()
            assert await asyncio.wait_for(reader.readexactly(len(payload)), WAIT) == payload
        other_reader, other_writer = await connect(running)
        other_writer.write(b"second client\n")
        assert await asyncio.wait_for(other_reader.readline(), WAIT) == b"second client\n"
    # The server stopped gracefully: idle connections were closed, not left hanging.
    assert await asyncio.wait_for(reader.read(), WAIT) == b""
    assert await asyncio.wait_for(other_reader.read(), WAIT) == b""
    for w in (writer, other_writer):
        w.close()
        await w.wait_closed()


async def test_tcp_echo_stops_at_once_on_sigint() -> None:
    async with example("tcp_echo.py", stop=signal.SIGINT) as running:
        reader, writer = await connect(running)
        writer.write(b"ping\n")
        assert await asyncio.wait_for(reader.readline(), WAIT) == b"ping\n"
    with suppress(ConnectionResetError):
        assert await asyncio.wait_for(reader.read(), WAIT) == b""
    writer.close()


async def test_tcp_echo_config_test_flag(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("version: 1\nthreads: 2\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\ndaemon: false\nthreads: four\n")
    for conf, code in ((good, 0), (bad, 1)):
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(EXAMPLES / "tcp_echo.py"),
            "-t",
            "-c",
            str(conf),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), WAIT)
        assert proc.returncode == code
        if code == 0:
            assert f"{good}: configuration test passed" in out.decode()
        else:
            assert err.decode() == f"error: {bad}:3: threads: expected an integer, got 'four'\n"


async def test_service_dependencies_starts_in_order_and_serves_warm_data() -> None:
    async with example("service_dependencies.py", "--delay", "0.2") as running:
        assert running.lines == [
            "db: connecting",
            "db: ready",
            "cache: warming from db",
            "cache: ready (2 entries)",
            f"listening on {running.host}:{running.port}",
        ]
        reader, writer = await connect(running)
        for key, value in ((b"pingora", b"a proxy framework"), (b"rust", b"miss")):
            writer.write(key + b"\n")
            assert await asyncio.wait_for(reader.readline(), WAIT) == value + b"\n"
        writer.close()
        await writer.wait_closed()
