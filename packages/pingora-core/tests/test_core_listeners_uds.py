"""UdsListener: permissions, stale socket files, refusing to remove other files, serving."""

from __future__ import annotations

import os
import socket
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from pingora_core.errors import Error, ErrorType
from pingora_core.listeners import ConnectionFilter, UdsListener
from pingora_core.protocols.l4 import Stream, connect_uds

pytestmark = pytest.mark.anyio


@pytest.fixture
def sock_dir() -> Iterator[Path]:
    """A short directory: unix socket paths are limited to 107 bytes."""
    with tempfile.TemporaryDirectory(prefix="pgl") as tmp:
        yield Path(tmp)


def leave_stale_socket(where: Path) -> str:
    """A socket file nobody listens on, as a crashed earlier run leaves behind."""
    leftover = socket.socket(socket.AF_UNIX)
    leftover.bind(str(where))
    leftover.close()
    assert stat.S_ISSOCK(os.lstat(where).st_mode)
    return str(where)


async def echo(stream: Stream) -> None:
    while data := await stream.read():
        stream.write(data)
        await stream.drain()


async def roundtrip(path: str, payload: bytes) -> bytes:
    stream = await connect_uds(path, timeout=5)
    stream.write(payload)
    await stream.shutdown()
    received = b""
    with anyio.fail_after(10):
        while chunk := await stream.read():
            received += chunk
    await stream.close()
    return received


class _Recorder(ConnectionFilter):
    def __init__(self) -> None:
        self.asked: list[str | None] = []

    async def should_accept(self, addr: str | None) -> bool:
        self.asked.append(addr)
        return True


@pytest.mark.parametrize("prefix", ["", "unix:"])
async def test_serve_with_permissions(sock_dir: Path, prefix: str) -> None:
    path = str(sock_dir / "p.sock")
    listener = UdsListener(prefix + path, permissions=0o600)
    await listener.bind()
    assert listener.bound_address == "unix:" + path
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_ISSOCK(os.stat(path).st_mode)
    recorder = _Recorder()
    async with anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, echo, recorder)
        assert await roundtrip(path, b"over a unix socket") == b"over a unix socket"
        listener.stop_accepting()
    listener.close()
    assert recorder.asked == [None]  # an unnamed unix peer has no address
    assert listener.accepted == 1


async def test_default_permissions_let_everyone_connect(sock_dir: Path) -> None:
    path = str(sock_dir / "d.sock")
    listener = UdsListener(path)
    await listener.bind()
    try:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o666
    finally:
        listener.close()


async def test_stale_socket_file_is_removed(sock_dir: Path) -> None:
    path = leave_stale_socket(sock_dir / "stale.sock")
    listener = UdsListener(path)
    await listener.bind()
    async with anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, echo)
        assert await roundtrip(path, b"fresh") == b"fresh"
        listener.stop_accepting()
    listener.close()


async def test_a_regular_file_is_not_removed(sock_dir: Path) -> None:
    path = sock_dir / "data.txt"
    path.write_text("precious")
    listener = UdsListener(str(path))
    with pytest.raises(Error) as info:
        await listener.bind()
    assert info.value.etype == ErrorType.BindError
    assert "not a socket" in str(info.value)
    assert path.read_text() == "precious"


async def test_bind_errors_are_bind_errors(sock_dir: Path) -> None:
    with pytest.raises(Error) as missing_dir:
        await UdsListener(str(sock_dir / "no" / "such" / "dir.sock")).bind()
    assert missing_dir.value.etype == ErrorType.BindError
    with pytest.raises(Error) as too_long:
        await UdsListener("/tmp/" + "x" * 200).bind()
    assert too_long.value.etype == ErrorType.BindError


async def test_from_fd(sock_dir: Path) -> None:
    path = str(sock_dir / "fd.sock")
    original = UdsListener(path)
    await original.bind()
    inherited = UdsListener.from_fd(path, os.dup(original.fileno()), permissions=0o640)
    original.close()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    async with anyio.create_task_group() as tg:
        tg.start_soon(inherited.serve, echo)
        assert await roundtrip(path, b"handed over") == b"handed over"
        inherited.stop_accepting()
    inherited.close()


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="empty"):
        UdsListener("unix:")
    with pytest.raises(ValueError, match="permissions"):
        UdsListener("/tmp/x.sock", permissions=0o10000)
    with pytest.raises(TypeError, match="permissions"):
        UdsListener("/tmp/x.sock", permissions="0666")  # type: ignore[arg-type]
    assert "unbound" in repr(UdsListener("/tmp/x.sock"))
