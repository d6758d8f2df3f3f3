"""A strict little HTTP/1.1 client for tests: it writes exactly the bytes it is given (or a
request built from a method, target, headers and body) and reads one response at a time, head
then body framed by Content-Length, chunked encoding or the close of the connection, every read
bounded by a deadline.

It speaks asyncio streams over TCP or a unix socket (`unix:/path`). It parses only what a test
needs to assert on and is no HTTP implementation to build on: it does no pipelining, no
trailers kept, no decoding.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType

__all__ = [
    "RawHttpClient",
    "RawResponse",
    "read_chunked_body",
    "read_response",
    "read_response_body",
    "read_response_head",
    "request_bytes",
]

#: How long one read may take by default, in seconds.
DEFAULT_TIMEOUT = 15.0


@dataclass(slots=True)
class RawResponse:
    """One response as read: the final (or 101) status, its headers in order, the body, and the
    statuses of the 1xx responses skipped before it."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes = b""
    informational: list[int] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        """The first value of header `name` (any case), or None."""
        lower = name.lower()
        return next((v for k, v in self.headers if k.lower() == lower), None)

    @property
    def content_length(self) -> int | None:
        value = self.header("Content-Length")
        return None if value is None else int(value)

    @property
    def chunked(self) -> bool:
        return (self.header("Transfer-Encoding") or "").lower() == "chunked"


def request_bytes(
    method: str,
    target: str,
    headers: Sequence[tuple[str, str]] = (),
    body: bytes = b"",
    *,
    host: str = "test.example",
) -> bytes:
    """A request: `Host: host`, then `headers`, then Content-Length when there is a body or the
    method is POST or PUT, then the body."""
    if not method or " " in method or not target or " " in target:
        raise ValueError(f"bad request line: {method!r} {target!r}")
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers]
    if body or method in ("POST", "PUT"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _parse_head(raw: bytes) -> tuple[int, list[tuple[str, str]]]:
    lines = raw.decode("latin-1").removesuffix("\r\n\r\n").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise ValueError(f"not an HTTP/1 status line: {lines[0]!r}")
    headers = [(k.strip(), v.strip()) for k, _, v in (ln.partition(":") for ln in lines[1:])]
    return int(parts[1]), headers


async def read_response_head(
    reader: asyncio.StreamReader, *, time_limit: float = DEFAULT_TIMEOUT
) -> RawResponse:
    """The next final (or 101) response head; 1xx heads before it are skipped and recorded."""
    informational: list[int] = []
    async with asyncio.timeout(time_limit):
        while True:
            status, headers = _parse_head(await reader.readuntil(b"\r\n\r\n"))
            if status >= 200 or status == 101:
                return RawResponse(status, headers, b"", informational)
            informational.append(status)


async def read_chunked_body(
    reader: asyncio.StreamReader, *, time_limit: float = DEFAULT_TIMEOUT
) -> bytes:
    """A chunked body up to and including its last chunk and trailer section (dropped)."""
    body = bytearray()
    async with asyncio.timeout(time_limit):
        while True:
            size = int((await reader.readuntil(b"\r\n"))[:-2].split(b";")[0], 16)
            if size == 0:
                while await reader.readuntil(b"\r\n") != b"\r\n":
                    pass
                return bytes(body)
            body += await reader.readexactly(size)
            if await reader.readexactly(2) != b"\r\n":
                raise ValueError("a chunk is not followed by CRLF")


async def read_response_body(
    reader: asyncio.StreamReader,
    response: RawResponse,
    *,
    head_request: bool = False,
    time_limit: float = DEFAULT_TIMEOUT,
) -> bytes:
    """The body of `response` (read with `read_response_head`): none for HEAD, 101, 204 and
    304, else chunked, Content-Length bytes, or everything until the connection closes."""
    if head_request or response.status in (101, 204, 304):
        return b""
    if response.chunked:
        return await read_chunked_body(reader, time_limit=time_limit)
    async with asyncio.timeout(time_limit):
        length = response.content_length
        if length is not None:
            return await reader.readexactly(length)
        return await reader.read()


async def read_response(
    reader: asyncio.StreamReader, *, head_request: bool = False, time_limit: float = DEFAULT_TIMEOUT
) -> RawResponse:
    """The next response, head and body."""
    response = await read_response_head(reader, time_limit=time_limit)
    response.body = await read_response_body(
        reader, response, head_request=head_request, time_limit=time_limit
    )
    return response


class RawHttpClient:
    """One client connection; `request()` sends a request and reads its response.

    `async with await RawHttpClient.connect("127.0.0.1:8080") as client: ...` closes it.
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        time_limit: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.time_limit = time_limit

    @classmethod
    async def connect(cls, address: str, *, time_limit: float = DEFAULT_TIMEOUT) -> RawHttpClient:
        """Connect to `host:port` or `unix:/path`."""
        async with asyncio.timeout(time_limit):
            if address.startswith("unix:"):
                reader, writer = await asyncio.open_unix_connection(address[len("unix:") :])
            else:
                host, sep, port = address.rpartition(":")
                if not sep or not port.isdigit():
                    raise ValueError(f"expected host:port or unix:/path, got {address!r}")
                reader, writer = await asyncio.open_connection(host.strip("[]"), int(port))
        return cls(reader, writer, time_limit=time_limit)

    def send(self, data: bytes) -> None:
        """Write raw bytes (they are flushed by the next read)."""
        self.writer.write(data)

    async def request(
        self,
        method: str,
        target: str,
        headers: Sequence[tuple[str, str]] = (),
        body: bytes = b"",
    ) -> RawResponse:
        """Send `request_bytes(...)` and read the response."""
        self.send(request_bytes(method, target, headers, body))
        return await self.response(head_request=method == "HEAD")

    async def response(self, *, head_request: bool = False) -> RawResponse:
        """Read the next response."""
        return await read_response(
            self.reader, head_request=head_request, time_limit=self.time_limit
        )

    async def at_eof(self) -> bool:
        """True when the server closed the connection (nothing more arrives)."""
        async with asyncio.timeout(self.time_limit):
            return await self.reader.read() == b""

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()

    async def __aenter__(self) -> RawHttpClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        peer = self.writer.get_extra_info("peername")
        return f"RawHttpClient(peer={peer!r}, closing={self.writer.is_closing()})"
