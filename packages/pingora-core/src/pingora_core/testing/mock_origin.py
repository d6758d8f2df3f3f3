"""`MockOrigin`: a programmable HTTP/1.1 origin on 127.0.0.1:0 for tests of clients and proxies.

It is deliberately built on plain asyncio streams with its own small, strict parser (not on
our HTTP stack) so that a bug in the code under test cannot hide behind the same bug in the
origin, and so it can send exactly the bytes a test asks for: early hints, chunked framing,
a connection that dies mid-body. What it does is chosen per request:

=========================  ===========================================================
request                    response
=========================  ===========================================================
``/echo``                  200, the request body (Content-Type copied)
``/download/<n>``          200, ``download_body(n)`` (n bytes, a fixed pattern)
``/chunked/<n>``           200, ``download_body(n)`` sent chunked
``/status/<code>``         that status (no body for 1xx, 204, 304)
``/headers``               200, the request's header lines as received
``/close``                 200 with ``Connection: close``, then closes
``/die/<n>``               announces n bytes, sends half, then resets the connection
anything else              200, ``DEFAULT_BODY``
``X-Sleep-Head: s``        waits s seconds before the response head
``X-Sleep-Body: s``        waits s seconds after the first half of the body
``X-Die-Mid-Body: 1``      resets the connection after half the body
``X-Chunked: 1``           sends the body chunked
``X-Early-Hints: 1``       sends ``103 Early Hints`` (a Link header) first
``X-Set-Header: N: v``     adds response header N: v (repeatable)
``X-Status: code``         overrides the status
``X-Close-After: n``       closes the connection once it has served n requests
=========================  ===========================================================

HEAD gets no body; ``Connection: close`` and HTTP/1.0 without keep-alive close after the
response; ``Expect: 100-continue`` gets ``100 Continue``; a malformed request gets 400 and a
close. It counts connections and requests and records every request (`seen`). Test code only.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from dataclasses import dataclass
from types import TracebackType
from typing import Final, Self

__all__ = ["DEFAULT_BODY", "MockOrigin", "SeenRequest", "download_body"]

DEFAULT_BODY: Final = b"hello from the mock origin\n"
MAX_HEAD: Final = 64 * 1024
MAX_BODY: Final = 64 * 1024 * 1024
_PATTERN: Final = bytes(range(ord("a"), ord("z") + 1)) + b"0123456789"
_NO_BODY_STATUS: Final = frozenset((204, 304))
_REASONS: Final = {
    100: "Continue", 103: "Early Hints", 200: "OK", 201: "Created", 204: "No Content",
    301: "Moved Permanently", 302: "Found", 304: "Not Modified", 400: "Bad Request",
    403: "Forbidden", 404: "Not Found", 429: "Too Many Requests", 500: "Internal Server Error",
    502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
}


def download_body(size: int) -> bytes:
    """The `size` bytes `/download/<size>` and `/chunked/<size>` send (a repeating pattern)."""
    if size < 0:
        raise ValueError(f"size must be >= 0, got {size}")
    whole, part = divmod(size, len(_PATTERN))
    return _PATTERN * whole + _PATTERN[:part]


@dataclass(frozen=True, slots=True, kw_only=True)
class SeenRequest:
    """One request the origin received: head, body, and which connection (1-based) it came on."""

    method: str
    target: str
    version: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    connection: int

    def header(self, name: str) -> str | None:
        """The first value of header `name` (case-insensitive), or None."""
        lower = name.lower()
        return next((v for k, v in self.headers if k.lower() == lower), None)


class _BadRequest(Exception):
    pass


class MockOrigin:
    """A programmable HTTP/1.1 origin; `async with MockOrigin() as origin:` then use
    `origin.address` ("127.0.0.1:port") or `origin.url("/echo")`.

    `close_after=n` closes every connection after it has served n requests (a server that
    limits keep-alive reuse). Counters: `connections` (accepted), `requests` (read completely),
    `open_connections`; `seen` lists every request; `await wait_for_requests(n)` waits until
    n requests have arrived (for synchronising without sleeps).
    """

    def __init__(self, *, host: str = "127.0.0.1", close_after: int | None = None) -> None:
        if close_after is not None and close_after < 1:
            raise ValueError(f"close_after must be >= 1 or None, got {close_after}")
        self._host = host
        self._close_after = close_after
        self._server: asyncio.Server | None = None
        self._port = 0
        self._writers: set[asyncio.StreamWriter] = set()
        self._conn_ids = itertools.count(1)
        self._changed = asyncio.Event()
        self.connections = 0
        self.requests = 0
        self.seen: list[SeenRequest] = []

    # -- life cycle --------------------------------------------------------------------------------

    async def start(self) -> None:
        """Bind to a free port on `host` and start serving."""
        if self._server is not None:
            raise RuntimeError("the mock origin is already running")
        self._server = await asyncio.start_server(self._serve, self._host, 0, limit=MAX_HEAD)
        self._port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and reset every open connection. Idempotent."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), 5.0)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    # -- where and what ----------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if not self._port:
            raise RuntimeError("the mock origin is not started")
        return self._port

    @property
    def address(self) -> str:
        """"127.0.0.1:port"."""
        return f"{self._host}:{self.port}"

    def url(self, path: str = "/") -> str:
        """"http://127.0.0.1:port/path"."""
        if not path.startswith("/"):
            raise ValueError(f"path must start with '/', got {path!r}")
        return f"http://{self.address}{path}"

    @property
    def open_connections(self) -> int:
        return len(self._writers)

    async def wait_for_requests(self, count: int, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Return once at least `count` requests have been received; TimeoutError otherwise."""
        async with asyncio.timeout(timeout):
            while self.requests < count:
                self._changed.clear()
                await self._changed.wait()

    def __repr__(self) -> str:
        where = self.address if self._port else "not started"
        return (
            f"MockOrigin({where}, connections={self.connections}, requests={self.requests}, "
            f"open={self.open_connections})"
        )

    # -- serving -----------------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = next(self._conn_ids)
        self.connections += 1
        self._writers.add(writer)
        served = 0
        try:
            while True:
                try:
                    request = await _read_request(reader, writer, conn)
                    if request is None:
                        break
                    served += 1
                    self.requests += 1
                    self.seen.append(request)
                    self._changed.set()
                    keep = await self._respond(request, writer, served)
                except _BadRequest as exc:
                    _write_response(writer, 400, [("Connection", "close")], str(exc).encode())
                    await writer.drain()
                    break
                if not keep:
                    break
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            self._writers.discard(writer)
            if not writer.transport.is_closing():
                writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _respond(self, req: SeenRequest, writer: asyncio.StreamWriter, served: int) -> bool:
        """Send the response; False when the connection must close (or was killed)."""
        path = req.target.split("?", 1)[0]
        status, body, extra = _route(path, req)
        close_after = _int(req.header("X-Close-After"), None) or self._close_after
        keep = _wants_keepalive(req) and path != "/close"
        if close_after is not None and served >= close_after:
            keep = False
        headers: list[tuple[str, str]] = list(extra)
        for spec in _header_values(req, "X-Set-Header"):
            name, sep, value = spec.partition(":")
            if not sep or not name.strip():
                raise _BadRequest(f"X-Set-Header needs 'Name: value', got {spec!r}")
            headers.append((name.strip(), value.strip()))
        status = _int(req.header("X-Status"), status) or status
        chunked = req.header("X-Chunked") == "1" or path.startswith("/chunked/")
        die = req.header("X-Die-Mid-Body") == "1" or path.startswith("/die/")
        no_body = req.method == "HEAD" or status in _NO_BODY_STATUS or status < 200
        sleep_head = _seconds(req, "X-Sleep-Head")
        sleep_body = _seconds(req, "X-Sleep-Body")
        if no_body and req.method != "HEAD":
            body = b""
        if chunked and not no_body:
            headers.append(("Transfer-Encoding", "chunked"))
        else:
            headers.append(("Content-Length", str(len(body))))
        if not keep:
            headers.append(("Connection", "close"))
        elif req.version == "HTTP/1.0":
            headers.append(("Connection", "keep-alive"))

        if req.header("X-Early-Hints") == "1":
            _write_response(writer, 103, [("Link", "</style.css>; rel=preload; as=style")], b"")
            await writer.drain()
        if sleep_head:
            await asyncio.sleep(sleep_head)
        _write_response(writer, status, headers, None)
        if no_body:
            await writer.drain()
            return keep
        half = len(body) // 2
        _write_body(writer, body[:half], chunked)
        await writer.drain()
        if die:
            writer.transport.abort()
            return False
        if sleep_body:
            await asyncio.sleep(sleep_body)
        _write_body(writer, body[half:], chunked)
        if chunked:
            writer.write(b"0\r\n\r\n")
        await writer.drain()
        return keep


def _route(path: str, req: SeenRequest) -> tuple[int, bytes, list[tuple[str, str]]]:
    if path == "/echo":
        ctype = req.header("Content-Type")
        return 200, req.body, [("Content-Type", ctype)] if ctype else []
    for prefix in ("/download/", "/chunked/", "/die/"):
        if path.startswith(prefix):
            size = _int(path[len(prefix):], None)
            if size is None or size < 0 or size > MAX_BODY:
                return 400, b"bad size\n", []
            return 200, download_body(size), []
    if path.startswith("/status/"):
        code = _int(path[len("/status/"):], None)
        if code is None or not 100 <= code <= 999:
            return 400, b"bad status\n", []
        return code, f"status {code}\n".encode(), []
    if path == "/headers":
        lines = "".join(f"{k}: {v}\n" for k, v in req.headers)
        return 200, lines.encode("latin-1"), [("Content-Type", "text/plain")]
    return 200, DEFAULT_BODY, [("Content-Type", "text/plain")]


async def _read_request(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, conn: int
) -> SeenRequest | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial.strip():
            raise _BadRequest("incomplete request head") from exc
        return None
    except asyncio.LimitOverrunError as exc:
        raise _BadRequest("request head too large") from exc
    lines = head[:-4].decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or parts[2] not in ("HTTP/1.0", "HTTP/1.1") or not parts[0].isalpha():
        raise _BadRequest(f"bad request line {lines[0]!r}")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip() or any(c in name for c in " \t"):
            raise _BadRequest(f"bad header line {line!r}")
        headers.append((name, value.strip(" \t")))
    req = SeenRequest(
        method=parts[0], target=parts[1], version=parts[2], headers=tuple(headers), body=b"",
        connection=conn,
    )
    if (req.header("Expect") or "").lower() == "100-continue":
        _write_response(writer, 100, [], b"")
    te = req.header("Transfer-Encoding")
    if te is not None:
        if te.lower() != "chunked":
            raise _BadRequest(f"unsupported Transfer-Encoding {te!r}")
        body = await _read_chunked(reader)
    else:
        length = _int(req.header("Content-Length") or "0", None)
        if length is None or length < 0 or length > MAX_BODY:
            raise _BadRequest("bad Content-Length")
        body = await reader.readexactly(length)
    return SeenRequest(
        method=req.method, target=req.target, version=req.version, headers=req.headers,
        body=body, connection=conn,
    )


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    body = bytearray()
    while True:
        size_line = (await reader.readuntil(b"\r\n"))[:-2].split(b";", 1)[0].strip()
        try:
            size = int(size_line, 16)
        except ValueError as exc:
            raise _BadRequest(f"bad chunk size {size_line!r}") from exc
        if size < 0 or len(body) + size > MAX_BODY:
            raise _BadRequest("chunked body too large")
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                pass
            return bytes(body)
        body += await reader.readexactly(size)
        if await reader.readexactly(2) != b"\r\n":
            raise _BadRequest("chunk not followed by CRLF")


def _write_response(
    writer: asyncio.StreamWriter, status: int, headers: list[tuple[str, str]], body: bytes | None
) -> None:
    reason = _REASONS.get(status, "Unknown")
    head = [f"HTTP/1.1 {status} {reason}\r\n"]
    head.extend(f"{name}: {value}\r\n" for name, value in headers)
    if body is not None and status >= 200:
        head.append(f"Content-Length: {len(body)}\r\n")
    head.append("\r\n")
    writer.write("".join(head).encode("latin-1") + (body or b""))


def _write_body(writer: asyncio.StreamWriter, data: bytes, chunked: bool) -> None:
    if not data:
        return
    if chunked:
        writer.writelines((b"%x\r\n" % len(data), data, b"\r\n"))
    else:
        writer.write(data)


def _wants_keepalive(req: SeenRequest) -> bool:
    tokens = {t.strip().lower() for t in (req.header("Connection") or "").split(",")}
    if req.version == "HTTP/1.0":
        return "keep-alive" in tokens
    return "close" not in tokens


def _header_values(req: SeenRequest, name: str) -> list[str]:
    lower = name.lower()
    return [v for k, v in req.headers if k.lower() == lower]


def _int(text: str | None, default: int | None) -> int | None:
    if text is None or not text.strip().isdigit():
        return default
    return int(text)


def _seconds(req: SeenRequest, name: str) -> float:
    value = req.header(name)
    if value is None:
        return 0.0
    try:
        seconds = float(value)
    except ValueError as exc:
        raise _BadRequest(f"{name} needs seconds, got {value!r}") from exc
    if not 0 <= seconds <= 3600:
        raise _BadRequest(f"{name} must be within 0..3600 seconds, got {value!r}")
    return seconds
