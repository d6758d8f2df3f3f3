"""Run a throwaway nginx for a benchmark: temporary prefix, foreground, loopback, one worker.

`Nginx(http_block, ports=[...])` writes `nginx.conf` into a fresh temporary prefix (every temp
path, the pid file and the error log live there; access logs are off unless the block turns them
on), starts `nginx -p PREFIX -c PREFIX/nginx.conf` with `daemon off`, waits until each of `ports`
accepts connections, and on `stop()` (or leaving the `with` block) quits it gracefully
(SIGQUIT, then SIGKILL after a bound) and removes the prefix. In the block, `{prefix}` and
`{port}` (the first of `ports`) are replaced literally, so nginx's own braces need no escaping.
`files` are written under the prefix first (e.g. a static file an origin serves). `main` holds
extra top-level directives (e.g. `worker_rlimit_nofile 10000;`), with the same replacements.

By default nginx runs with `master_process off`: one process that does all the work, so its
pid is the one to sample for RSS and "1 worker" holds exactly. `master=True` runs the usual
master + `workers` worker processes instead (`worker_pids()` lists them).

Also here, for the other servers a benchmark starts: `free_port()` (ask the OS for a free
loopback port), `wait_listening()` and `stop_process()`. This module only starts and stops
servers; it does not measure anything.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Final

__all__ = ["NGINX", "Nginx", "free_port", "stop_process", "wait_listening"]

NGINX: Final = shutil.which("nginx") or "/usr/sbin/nginx"
READY_TIMEOUT: Final = 15.0
STOP_TIMEOUT: Final = 10.0

_MAIN_CONF: Final = """\
daemon off;
master_process {master};
worker_processes {workers};
pid {prefix}/nginx.pid;
error_log {prefix}/error.log {log_level};
{main}events {{ worker_connections {worker_connections}; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
{http}
}}
"""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_listening(
    port: int, proc: subprocess.Popen[bytes] | None = None, timeout: float = READY_TIMEOUT
) -> None:
    """Return once 127.0.0.1:`port` accepts a connection; raise if `proc` exits or time's up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the process exited early with status {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


def stop_process(
    proc: subprocess.Popen[Any], sig: int = signal.SIGINT, timeout: float = STOP_TIMEOUT
) -> None:
    """Send `sig` to `proc` if it still runs and wait for it; SIGKILL it after `timeout` s."""
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Nginx:
    """One nginx instance on a temporary prefix; see the module docstring."""

    def __init__(
        self,
        http: str,
        *,
        ports: Iterable[int] = (),
        files: Mapping[str, bytes] | None = None,
        main: str = "",
        binary: str = NGINX,
        master: bool = False,
        workers: int = 1,
        worker_connections: int = 4096,
        log_level: str = "warn",
    ) -> None:
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.http = http
        self.ports = tuple(ports)
        self.files = dict(files or {})
        self.main = main
        self.binary = binary
        self.master = master
        self.workers = workers
        self.worker_connections = worker_connections
        self.log_level = log_level
        self.prefix: Path | None = None
        self.proc: subprocess.Popen[bytes] | None = None

    @staticmethod
    def available(binary: str = NGINX) -> bool:
        """True if `binary` exists and can be run."""
        return os.access(binary, os.X_OK)

    def render(self, prefix: Path) -> str:
        """The whole nginx.conf for `prefix`."""
        return _MAIN_CONF.format(
            master="on" if self.master else "off",
            workers=self.workers,
            prefix=prefix,
            log_level=self.log_level,
            worker_connections=self.worker_connections,
            main=self._fill(self.main + "\n" if self.main else "", prefix),
            http=self._fill(self.http, prefix),
        )

    def _fill(self, text: str, prefix: Path) -> str:
        """`text` with `{prefix}` and `{port}` replaced literally."""
        text = text.replace("{prefix}", str(prefix))
        return text.replace("{port}", str(self.ports[0])) if self.ports else text

    def start(self) -> Nginx:
        """Write the prefix, start nginx, wait for its ports; returns self."""
        if self.proc is not None:
            raise RuntimeError("this nginx is already started")
        if not self.available(self.binary):
            raise FileNotFoundError(f"nginx not found at {self.binary}")
        prefix = Path(tempfile.mkdtemp(prefix="bench-nginx-"))
        self.prefix = prefix
        for name, data in self.files.items():
            path = prefix / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        conf = prefix / "nginx.conf"
        conf.write_text(self.render(prefix))
        self.proc = subprocess.Popen(
            [self.binary, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            for port in self.ports:
                wait_listening(port, self.proc)
        except BaseException:
            self.stop()
            raise
        return self

    @property
    def pid(self) -> int:
        """The pid of the nginx process started (the master when `master=True`)."""
        if self.proc is None:
            raise RuntimeError("nginx is not started")
        return self.proc.pid

    def worker_pids(self) -> list[int]:
        """The processes doing the work: nginx itself, or its workers with `master=True`."""
        if not self.master:
            return [self.pid]
        children = Path(f"/proc/{self.pid}/task/{self.pid}/children")
        return [int(p) for p in children.read_text().split()]

    def error_log(self) -> str:
        """What nginx wrote to its error log so far."""
        if self.prefix is None:
            return ""
        path = self.prefix / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        """Quit gracefully (SIGQUIT; SIGKILL after STOP_TIMEOUT) and remove the prefix."""
        proc, self.proc = self.proc, None
        if proc is not None:
            stop_process(proc, signal.SIGQUIT)
        if self.prefix is not None:
            shutil.rmtree(self.prefix, ignore_errors=True)
            self.prefix = None

    def __enter__(self) -> Nginx:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "stopped" if self.proc is None else f"pid={self.proc.pid}"
        return f"<Nginx {state} ports={list(self.ports)} prefix={self.prefix}>"
