"""Run a server program as a subprocess for a test: start it, wait (with a deadline) for the
line that says it is ready (`listening on ADDR` by default), hand the test its address, and stop
it with a signal at the end, checking its exit status; its stderr is collected all along so it
never blocks on a full pipe.

It drives programs through asyncio subprocesses; it does not talk to them (the test does).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

__all__ = ["LISTENING", "ServerProcess", "start_program"]

#: The ready line of our examples and servers: `listening on [http://]HOST:PORT`.
LISTENING = re.compile(r"^listening on (?:http://)?(?P<address>\S+)$")
#: Seconds allowed by default to become ready, and to exit once signalled.
DEFAULT_TIMEOUT = 20.0


class ServerProcess:
    """A running program: its stdout lines up to the ready line (`lines`), the address the ready
    line named, and its stderr (complete once it has stopped)."""

    def __init__(self, argv: Sequence[str], proc: asyncio.subprocess.Process) -> None:
        self.argv = tuple(argv)
        self.proc = proc
        self.lines: list[str] = []
        self.address = ""
        self.stderr = bytearray()
        self._collector: asyncio.Task[None] | None = None

    @property
    def host(self) -> str:
        return self.address.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.address.rpartition(":")[2])

    @property
    def returncode(self) -> int | None:
        return self.proc.returncode

    def url(self, path: str = "/") -> str:
        return f"http://{self.address}{path}"

    def stderr_text(self) -> str:
        return self.stderr.decode(errors="replace")

    def send_signal(self, sig: int) -> None:
        """Send `sig` unless the program has already exited."""
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):  # exited, not reaped yet
                self.proc.send_signal(sig)

    async def wait(self, time_limit: float = DEFAULT_TIMEOUT) -> int:
        """Its exit status, once it has exited and its stderr is complete."""
        async with asyncio.timeout(time_limit):
            code = await self.proc.wait()
            if self._collector is not None:
                await self._collector
        return code

    async def stop(self, sig: int = signal.SIGTERM, time_limit: float = DEFAULT_TIMEOUT) -> int:
        """Send `sig` (if it still runs) and return its exit status."""
        self.send_signal(sig)
        return await self.wait(time_limit)

    async def _collect(self) -> None:
        assert self.proc.stderr is not None
        while data := await self.proc.stderr.read(65536):
            self.stderr += data

    async def _wait_ready(self, ready: re.Pattern[str], time_limit: float) -> None:
        assert self.proc.stdout is not None
        try:
            async with asyncio.timeout(time_limit):
                while True:
                    raw = await self.proc.stdout.readline()
                    if not raw:
                        break
                    line = raw.decode(errors="replace").rstrip("\r\n")
                    self.lines.append(line)
                    match = ready.search(line)
                    if match is not None:
                        groups = match.groupdict()
                        self.address = groups.get("address") or line.split()[-1]
                        return
        except TimeoutError:
            problem = f"not ready after {time_limit}s"
        else:
            problem = "stdout closed before it was ready"
        self.send_signal(signal.SIGKILL)
        await self.wait(time_limit)
        raise AssertionError(
            f"{' '.join(self.argv)}: {problem}; stdout {self.lines!r}; "
            f"stderr {self.stderr_text()!r}"
        )

    def __repr__(self) -> str:
        return (
            f"ServerProcess(argv={list(self.argv)!r}, pid={self.proc.pid}, "
            f"address={self.address!r}, returncode={self.proc.returncode})"
        )


@asynccontextmanager
async def start_program(
    argv: Sequence[str],
    *,
    ready: str | re.Pattern[str] = LISTENING,
    time_limit: float = DEFAULT_TIMEOUT,
    stop_signal: int = signal.SIGTERM,
    expect_exit: int | None = 0,
) -> AsyncIterator[ServerProcess]:
    """Start `argv`; yield it once a stdout line matches `ready` (its `address` group, else the
    line's last word, is the address). When the block ends normally, `stop_signal` is sent (if
    it still runs) and the exit status must be `expect_exit` (None: any); when it raises, the
    program is killed. Raises AssertionError (with its output) when it is not ready in time or
    exits otherwise."""
    if not argv:
        raise ValueError("argv must name a program")
    pattern = re.compile(ready) if isinstance(ready, str) else ready
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    program = ServerProcess(argv, proc)
    program._collector = asyncio.create_task(program._collect())
    try:
        await program._wait_ready(pattern, time_limit)
        yield program
        code = await program.stop(stop_signal, time_limit)
        if expect_exit is not None and code != expect_exit:
            raise AssertionError(
                f"{' '.join(program.argv)} exited with {code}, expected {expect_exit}; "
                f"stderr {program.stderr_text()!r}"
            )
    finally:
        if proc.returncode is None:
            program.send_signal(signal.SIGKILL)
            await proc.wait()
        program._collector.cancel()
