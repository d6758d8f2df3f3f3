"""One attempt at proxying a request to an HTTP/1 upstream session.

The upstream request is a copy of the client's head without hop-by-hop fields, in HTTP/1.1,
through `upstream_request_filter`. A request whose body is already complete (no body, or the
retry buffer holds it all) is sent and then its response is forwarded in this task: no extra
task, no queue. A request whose body is still arriving runs duplex: a pump task moves the body
upstream (through the body filters, keeping the retry buffer) while this task forwards the
response; backpressure on each side is the stream's own. A 101 turns into a raw pipe.

Returns whether the client connection may serve another request and the error, if any; the
upstream session is pooled after a clean exchange and closed otherwise, before returning.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any, Final

from pingora_core.errors import Error, ErrorSource
from pingora_proxy._errors import as_error, blame_down, blame_up, retry_if_reused
from pingora_proxy._headers import strip_hop_by_hop
from pingora_proxy._response import forward_response
from pingora_proxy._tunnel import pipe

if TYPE_CHECKING:
    from pingora_core.protocols.http.v1.client import HttpSession as ClientSession
    from pingora_core.upstreams import HttpPeer
    from pingora_http import RequestHeader
    from pingora_proxy._proxy import HttpProxy
    from pingora_proxy._session import Session

__all__ = ["proxy_h1", "upstream_request"]

_INTERNAL: Final = ErrorSource.INTERNAL
# After the response ended, how long a request pump that read the whole body may take to
# finish writing it upstream before it is given up (and the connection not reused).
_PUMP_GRACE: Final = 1.0


def upstream_request(session: Session) -> RequestHeader:
    """The head to send upstream: a copy of the client's, hop-by-hop fields removed, HTTP/1.1."""
    req = session.req_header.copy()
    strip_hop_by_hop(req.headers, session.is_upgrade_req())
    version = req.version
    if version != "HTTP/1.1":
        if version == "HTTP/2" and req.authority is not None and b"host" not in req.headers:
            req.headers.insert(b"Host", req.authority)
        req.set_version("HTTP/1.1")
    return req


class _Pump:
    """Moves the rest of the request body upstream while the response comes back."""

    __slots__ = ("ctx", "failed", "proxy", "send_error", "session", "up")

    def __init__(self, proxy: HttpProxy, session: Session, up: ClientSession, ctx: Any) -> None:
        self.proxy = proxy
        self.session = session
        self.up = up
        self.ctx = ctx
        self.failed: Error | None = None  # the request cannot go on (client or filter error)
        self.send_error: Error | None = None  # the upstream stopped taking the body

    async def run(self) -> None:
        try:
            await self._run()
        except Exception as exc:
            self.failed = as_error(exc)
            # Make the response side fail now rather than wait for an upstream that will not
            # answer a request it never got whole.
            with contextlib.suppress(Error):
                self.up.stream.abort()
            if self.session.response_written is not None:
                self.session.downstream_session.stream.abort()

    async def _run(self) -> None:
        session = self.session
        down = session.downstream_session
        down.auto_continue = False  # the upstream's 100 Continue is forwarded instead
        replay = session._retry_body()
        if replay is not None:
            self.send_error = await send_body(self.proxy, session, self.up, replay, False, self.ctx)
        read = down.read_request_body
        is_done = down.is_body_done
        buffer = session._buffer_body
        while self.send_error is None:
            try:
                data = await read()
            except Error as exc:
                raise blame_down(exc) from None
            end = data is None or is_done()
            if data:
                buffer(data)
            self.send_error = await send_body(self.proxy, session, self.up, data, end, self.ctx)
            if end:
                return


async def send_body(
    proxy: HttpProxy,
    session: Session,
    up: ClientSession,
    data: bytes | None,
    end: bool,
    ctx: Any,
) -> Error | None:
    """One piece of request body through the filters (modules first) and upstream. Returns the
    error of an upstream that stopped taking it (the response may still come), else None."""
    if proxy._m_req_body:
        data = await session.downstream_modules_ctx.request_body_filter(data, end)
    body_filter = proxy.hooks.request_body_filter
    if body_filter is not None:
        data = await body_filter(session, data, end, ctx)
    try:
        if data:
            await up.write_body(data)
        if end:
            await up.finish_body()
    except Error as exc:
        if exc.esource is _INTERNAL:
            raise  # e.g. a filter changed the size of a body sent with Content-Length
        return blame_up(exc)
    return None


async def proxy_h1(
    proxy: HttpProxy, session: Session, up: ClientSession, reused: bool, peer: HttpPeer, ctx: Any
) -> tuple[bool, Error | None]:
    """Proxy one attempt over `up`; see the module docstring."""
    hooks = proxy.hooks
    down = session.downstream_session
    upstream_ok = False
    try:
        if hooks.connected_to_upstream is not None:
            await hooks.connected_to_upstream(session, reused, peer, up.digest, ctx)
        req = upstream_request(session)
        if hooks.upstream_request_filter is not None:
            await hooks.upstream_request_filter(session, req, ctx)
        body_done = down.is_body_done()
        replay = session._retry_body()
        if not body_done or replay is not None:
            headers = req.headers
            if b"content-length" not in headers and b"transfer-encoding" not in headers:
                headers.append(b"Transfer-Encoding", b"chunked")
        try:
            await up.write_request_header(req)
        except Error as exc:
            raise retry_if_reused(exc, reused) from None
        if body_done:
            # The fast path: nothing left to read from the client, no task, no queue.
            send_error = None
            if replay is not None or proxy._m_req_body or hooks.request_body_filter is not None:
                send_error = await send_body(proxy, session, up, replay, True, ctx)
            elif b"transfer-encoding" in req.headers or b"upgrade" in req.headers:
                try:
                    await up.finish_body()  # the last chunk; an upgrade request's end
                except Error as exc:
                    send_error = blame_up(exc)
            upgraded = await forward_response(proxy, session, up, ctx, True)
            upstream_ok = send_error is None
        else:
            upgraded, upstream_ok = await _duplex(proxy, session, up, ctx)
        if upgraded:
            upstream_ok = False
            await pipe(session, up.into_stream(), hooks, ctx)
            return False, None
        return True, None
    except Exception as exc:
        return False, as_error(exc)
    finally:
        session.upstream_body_bytes_sent = up.body_bytes_sent
        session.upstream_body_bytes_received = up.body_bytes_received
        if upstream_ok:
            await proxy.connector.release_http_session(up, peer)
        else:
            await up.shutdown()


def _prefer(exc: Error, pump: _Pump) -> Error:
    """The error to report when the response side failed."""
    if pump.failed is not None:
        return pump.failed  # the response side only failed because the pump aborted it
    return exc


async def _duplex(
    proxy: HttpProxy, session: Session, up: ClientSession, ctx: Any
) -> tuple[bool, bool]:
    """Body upstream and response downstream at once; (upgraded, upstream reusable)."""
    pump = _Pump(proxy, session, up, ctx)
    task = asyncio.get_running_loop().create_task(pump.run())
    try:
        upgraded = await forward_response(proxy, session, up, ctx, False)
    except BaseException as exc:
        if not task.done():
            task.cancel()
        await asyncio.wait((task,))
        if isinstance(exc, Error):
            raise _prefer(exc, pump) from None
        raise
    if not task.done():
        down = session.downstream_session
        if not upgraded and down.is_body_done():
            # the body is all read: let the pump finish writing it upstream
            await asyncio.wait((task,), timeout=_PUMP_GRACE)
        if not task.done():
            # An upgrade: what the client sends from now on goes through the raw pipe.
            # Otherwise the response ended before the request body: no reuse on either side.
            task.cancel()
            await asyncio.wait((task,))
            down.set_keepalive(None)
            return upgraded, False
    if pump.failed is not None:
        raise pump.failed
    return upgraded, pump.send_error is None
