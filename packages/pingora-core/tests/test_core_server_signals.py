"""Real signals on a real server process: SIGINT stops at once, SIGTERM/SIGQUIT gracefully.

Each test runs a small server script as a subprocess; every wait is bounded.
"""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

WAIT = 20.0  # generous bound for every step; nothing here should come close

SCRIPT = r'''
import sys
from pingora_core.apps import ServerApp
from pingora_core.server import Server, ServerConf
from pingora_core.services import BackgroundService, Service, background_service


class Hold(ServerApp):
    """"start" -> "started"; then waits for "finish" -> "done" and ends the connection."""

    async def process_new(self, stream, shutdown):
        line = await stream.read()
        if not line:
            return None
        stream.write(b"started\n")
        await stream.drain()
        if not await stream.read():
            return None
        stream.write(b"done\n")
        await stream.drain()
        return None


class Announce(BackgroundService):
    def __init__(self, service):
        self.service = service

    async def start(self, shutdown):
        print("listening on", self.service.bound_addresses()[0], flush=True)
        await shutdown.wait()


conf = ServerConf(grace_period_seconds=float(sys.argv[1]), graceful_shutdown_timeout_seconds=1)
server = Server(conf=conf)
service = Service("hold", Hold())
service.add_tcp("127.0.0.1:0")
handle = server.add_service(service)
server.add_service(background_service("announce", Announce(service))).add_dependency(handle)
server.on_phase(lambda phase: print("phase", phase.value, flush=True))
server.run_forever()
print("exited", flush=True)
'''


class ServerProcess:
    """A subprocess whose stdout lines are collected by a thread, so reads can time out."""

    def __init__(self, script: Path, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(script), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self.stderr = ""
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def expect(self, prefix: str) -> str:
        """The next stdout line starting with `prefix` (earlier lines are kept in `lines`)."""
        while True:
            line = self._queue.get(timeout=WAIT)
            if line is None:
                raise AssertionError(f"process ended before {prefix!r}; saw {self.lines}")
            self.lines.append(line)
            if line.startswith(prefix):
                return line

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def finish(self) -> int:
        code = self.proc.wait(timeout=WAIT)
        while (line := self._queue.get(timeout=WAIT)) is not None:
            self.lines.append(line)
        assert self.proc.stderr is not None
        self.stderr = self.proc.stderr.read()
        self.close()
        return code

    def close(self) -> None:
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()

    def phases(self) -> list[str]:
        return [line.split()[1] for line in self.lines if line.startswith("phase ")]

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=WAIT)
        self.close()


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "hold_server.py"
    path.write_text(SCRIPT)
    return path


@pytest.fixture
def start(script: Path) -> Iterator[Callable[..., ServerProcess]]:
    started: list[ServerProcess] = []

    class Started(ServerProcess):
        def __init__(self, *args: str) -> None:
            super().__init__(script, *args)
            started.append(self)

    yield Started
    for proc in started:
        proc.kill()


def open_held_connection(server: ServerProcess) -> socket.socket:
    addr = server.expect("listening on").split()[-1]
    host, _, port = addr.rpartition(":")
    conn = socket.create_connection((host, int(port)), timeout=WAIT)
    conn.sendall(b"start\n")
    assert conn.recv(100) == b"started\n"
    return conn


def read_until_closed(conn: socket.socket) -> bytes:
    data = b""
    try:
        while chunk := conn.recv(100):
            data += chunk
    except ConnectionResetError:
        pass
    return data


START = ["Bootstrap", "BootstrapComplete", "Running"]
GRACEFUL = [
    "GracefulTerminate",
    "ShutdownStarted",
    "ShutdownGracePeriod",
    "ShutdownRuntimes",
    "Terminated",
]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGQUIT])
def test_graceful_signal_lets_the_in_flight_request_finish(
    start: Callable[..., ServerProcess], signum: int
) -> None:
    server = start("60")
    conn = open_held_connection(server)
    addr = conn.getpeername()
    server.signal(signum)
    server.expect("phase ShutdownGracePeriod")
    with pytest.raises(ConnectionRefusedError):  # no longer accepting
        socket.create_connection(addr, timeout=WAIT).close()
    assert server.proc.poll() is None  # still waiting for our request
    conn.sendall(b"finish\n")
    assert read_until_closed(conn) == b"done\n"
    conn.close()
    assert server.finish() == 0
    assert server.phases() == START + GRACEFUL
    assert server.lines[-1] == "exited"


def test_sigint_stops_at_once(start: Callable[..., ServerProcess]) -> None:
    server = start("300")
    conn = open_held_connection(server)
    server.signal(signal.SIGINT)
    assert read_until_closed(conn) == b""  # the request in flight is cut
    conn.close()
    assert server.finish() == 0
    assert server.phases() == [*START, "ShutdownStarted", "ShutdownRuntimes", "Terminated"]
    assert "Traceback" not in server.stderr


def test_grace_period_expiry_closes_what_is_left(start: Callable[..., ServerProcess]) -> None:
    server = start("0.5")
    conn = open_held_connection(server)
    server.signal(signal.SIGTERM)
    assert read_until_closed(conn) == b""  # never finished: closed after the grace period
    conn.close()
    assert server.finish() == 0
    assert server.phases() == START + GRACEFUL


def test_second_signal_cuts_the_grace_period_short(start: Callable[..., ServerProcess]) -> None:
    server = start("300")
    conn = open_held_connection(server)
    server.signal(signal.SIGTERM)
    server.expect("phase ShutdownGracePeriod")
    server.signal(signal.SIGTERM)
    assert read_until_closed(conn) == b""
    conn.close()
    assert server.finish() == 0
    assert server.phases() == START + GRACEFUL


def test_address_in_use_exits_1_with_one_line(tmp_path: Path) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    script = tmp_path / "clash.py"
    script.write_text(
        "from pingora_core.apps import ServerApp\n"
        "from pingora_core.server import Server\n"
        "from pingora_core.services import Service\n"
        "class App(ServerApp):\n"
        "    async def process_new(self, stream, shutdown):\n"
        "        return None\n"
        "server = Server()\n"
        "service = Service('web', App())\n"
        f"service.add_tcp('127.0.0.1:{port}')\n"
        "server.add_service(service)\n"
        "server.run_forever()\n"
    )
    try:
        result = subprocess.run(
            [sys.executable, str(script)], capture_output=True, text=True, timeout=WAIT, check=False
        )
    finally:
        taken.close()
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"error: service 'web' failed to start: Internal BindError context: "
        f"127.0.0.1:{port}: address already in use cause: [Errno 98] Address already in use"
    ]


@pytest.mark.parametrize(("env", "expected"), [("asyncio", "asyncio"), ("uvloop", "uvloop")])
def test_event_loop_choice(tmp_path: Path, env: str, expected: str) -> None:
    pytest.importorskip("uvloop")
    script = tmp_path / "loop.py"
    script.write_text(
        "import asyncio\n"
        "from pingora_core.server import Server, ServerConf\n"
        "server = Server(conf=ServerConf(event_loop='asyncio'))\n"
        "server.on_phase(lambda p: p.value == 'Running' and (\n"
        "    print(type(asyncio.get_running_loop()).__module__, flush=True),\n"
        "    server.request_shutdown()))\n"
        "print(server.event_loop_name)\n"
        "server.run_forever()\n"
    )
    result = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=False,
        env={**os.environ, "PINGORA_EVENT_LOOP": env},
    )
    assert result.returncode == 0, result.stderr
    name, module = result.stdout.split()
    assert name == expected
    assert module.startswith(expected)


def test_bad_event_loop_setting_exits_1(tmp_path: Path) -> None:
    script = tmp_path / "loop.py"
    script.write_text("from pingora_core.server import Server\nServer().run_forever()\n")
    result = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=False,
        env={**os.environ, "PINGORA_EVENT_LOOP": "trio"},
    )
    assert result.returncode == 1
    assert result.stderr == (
        "error: PINGORA_EVENT_LOOP: expected one of auto, asyncio, uvloop, got 'trio'\n"
    )
