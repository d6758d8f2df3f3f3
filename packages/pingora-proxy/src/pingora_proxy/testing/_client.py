"""`ProxyTestClient`: drive a `ProxyHttp` through the whole proxy pipeline from a test, with no
downstream socket: each client connection is a `memory_stream_pair` whose far end is served by
the real `HttpProxy`, and requests and responses go over it as HTTP/1.1 bytes. Upstreams are
whatever the app's `upstream_peer` returns (a `MockOrigin`, an `InMemoryUpstream`, ...).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from pingora_core.errors import Error
from pingora_core.protocols.http.v1.client import HttpSession as ClientSession
from pingora_core.protocols.l4 import Stream
from pingora_core.server import ServerConf, ShutdownTrigger
from pingora_core.testing import memory_stream_pair
from pingora_http import RequestHeader, ResponseHeader
from pingora_proxy._proxy import HttpProxy
from pingora_proxy._trait import ProxyHttp
from pingora_proxy.testing._upstream import Headers, header_items

__all__ = ["ClientResponse", "ProxyTestClient"]


def _text(value: bytes) -> str:
    return value.decode("latin-1")


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientResponse:
    """A response as the client received it: `status`, `reason`, `headers` (name, value pairs
    in order and case as sent), `body`, `trailers`, and the 1xx statuses that came first."""

    status: int
    reason: str | None
    headers: tuple[tuple[str, str], ...]
    body: bytes
    trailers: tuple[tuple[str, str], ...] = ()
    informational: tuple[int, ...] = field(default=())

    def header(self, name: str) -> str | None:
        """The first value of header `name` (case-insensitive), or None."""
        lower = name.lower()
        return next((v for k, v in self.headers if k.lower() == lower), None)

    def header_all(self, name: str) -> list[str]:
        """Every value of header `name`, in order."""
        lower = name.lower()
        return [v for k, v in self.headers if k.lower() == lower]

    @property
    def text(self) -> str:
        """The body decoded as UTF-8."""
        return self.body.decode("utf-8", "replace")

    @classmethod
    def _of(
        cls, resp: ResponseHeader, body: bytes, trailers: Any, informational: list[int]
    ) -> ClientResponse:
        return cls(
            status=resp.status,
            reason=resp.reason_phrase,
            headers=tuple((_text(k), _text(v)) for k, v in resp.headers.items()),
            body=body,
            trailers=() if trailers is None else tuple(
                (_text(k), _text(v)) for k, v in trailers.items()
            ),
            informational=tuple(informational),
        )


class ProxyTestClient:
    """A client for a proxy under test: `async with ProxyTestClient(app) as client:` then
    `await client.get("/path", headers={...})` or `await client.request(method, path, headers,
    body)`.

    `app` is a `ProxyHttp` (an `HttpProxy` is built with `conf` and `allow_connect`) or an
    `HttpProxy`. Keep-alive is real: requests reuse the connection while the proxy allows it.
    `host` is the Host sent when the request has none; `timeout` bounds each request (seconds).
    A failure inside the proxy's own machinery is raised again when the client closes.
    """

    def __init__(
        self,
        app: ProxyHttp[Any] | HttpProxy,
        *,
        conf: ServerConf | None = None,
        allow_connect: bool | None = None,
        host: str = "proxy.test",
        timeout: float = 30.0,
    ) -> None:
        if isinstance(app, HttpProxy):
            if conf is not None or allow_connect is not None:
                raise TypeError("conf and allow_connect are for a ProxyHttp, not an HttpProxy")
            self.proxy = app
        else:
            self.proxy = HttpProxy(app, conf, allow_connect=allow_connect)
        self.host = host
        self.timeout = timeout
        self.connections = 0
        self._trigger = ShutdownTrigger()
        self._conn: Stream | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._failures: list[BaseException] = []

    # -- connections ---------------------------------------------------------------------------

    async def open_connection(self) -> Stream:
        """A new raw connection to the proxy (write HTTP/1 bytes, read what comes back)."""
        client, server = memory_stream_pair(names=("memory:client", "memory:proxy"))
        self.connections += 1
        task = asyncio.get_running_loop().create_task(self._serve(server))
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return client

    async def _serve(self, stream: Stream) -> None:
        try:
            await self.proxy.process_new(stream, self._trigger.watch)
        finally:
            with contextlib.suppress(Error):
                await stream.close()

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self._failures.append(task.exception())  # type: ignore[arg-type]

    async def aclose(self) -> None:
        """Close the client's connections and the proxy's pool; raise a proxy failure seen."""
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()
        self._trigger.trigger()
        tasks = list(self._tasks)
        if tasks:
            await asyncio.wait(tasks, timeout=5.0)
        for task in tasks:
            if not task.done():
                task.cancel()
        if tasks:
            await asyncio.wait(tasks)
        await self.proxy.cleanup()
        if self._failures:
            raise self._failures[0]

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # -- requests ------------------------------------------------------------------------------

    def _head(
        self, method: str, path: str, headers: Headers | None, body: bytes, version: str
    ) -> RequestHeader:
        req = RequestHeader(method, path, version=version)
        fields = req.headers
        for name, value in header_items(headers):
            fields.append(name, value)
        if b"host" not in fields:
            fields.append(b"Host", self.host)
        if body and b"content-length" not in fields and b"transfer-encoding" not in fields:
            fields.append(b"Content-Length", len(body))
        return req

    async def request(
        self,
        method: str = "GET",
        path: str = "/",
        headers: Headers | None = None,
        body: bytes = b"",
        *,
        version: str = "HTTP/1.1",
    ) -> ClientResponse:
        """Send one request through the proxy and read the whole response. A body goes with
        Content-Length unless `headers` say Transfer-Encoding: chunked."""
        req = self._head(method, path, headers, body, version)
        async with asyncio.timeout(self.timeout):
            conn = self._conn
            self._conn = None
            if conn is None or conn.is_closing or conn.at_eof:
                conn = await self.open_connection()
            session = ClientSession(conn)
            try:
                return await self._exchange(session, req, body)
            except BaseException:
                await session.shutdown()
                raise

    async def _exchange(
        self, session: ClientSession, req: RequestHeader, body: bytes
    ) -> ClientResponse:
        await session.write_request_header(req)
        if body:
            await session.write_body(body)
        await session.finish_body()
        informational = []
        while True:
            resp = await session.read_response_header()
            if resp.status >= 200 or resp.status == 101:
                break
            informational.append(resp.status)
        parts = []
        if resp.status != 101:
            while (piece := await session.read_response_body()) is not None:
                parts.append(piece)
        response = ClientResponse._of(resp, b"".join(parts), session.trailers, informational)
        if resp.status == 101:
            await session.shutdown()
        else:
            self._conn = await session.reuse()
        return response

    async def get(self, path: str = "/", headers: Headers | None = None) -> ClientResponse:
        """GET `path`."""
        return await self.request("GET", path, headers)

    async def head(self, path: str = "/", headers: Headers | None = None) -> ClientResponse:
        """HEAD `path`."""
        return await self.request("HEAD", path, headers)

    async def post(
        self, path: str = "/", body: bytes = b"", headers: Headers | None = None
    ) -> ClientResponse:
        """POST `body` to `path`."""
        return await self.request("POST", path, headers, body)

    def __repr__(self) -> str:
        return (
            f"ProxyTestClient({type(self.proxy.app).__name__}, connections={self.connections}, "
            f"open={len(self._tasks)}, connected={self._conn is not None})"
        )
