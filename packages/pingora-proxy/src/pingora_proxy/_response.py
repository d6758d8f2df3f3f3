"""Forwarding an upstream response to the client, phase by phase.

Informational heads (100, 103, ...) pass through as they are. The final head loses its
hop-by-hop fields, then goes through `upstream_response_filter`, `response_filter` and the
modules before it is written; each body piece goes through `upstream_response_body_filter`,
`response_body_filter` and the modules; chunked trailers through the trailer filters. A filter
returning None or b"" sends nothing for now (never an empty chunk). The upstream is read only
as fast as the client takes the bytes (each write waits for the client to drain).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pingora_core.errors import Error
from pingora_proxy._errors import blame_down, blame_up
from pingora_proxy._headers import strip_hop_by_hop

if TYPE_CHECKING:
    from pingora_core.protocols.http.v1.client import HttpSession as ClientSession
    from pingora_http import HeaderMap
    from pingora_proxy._proxy import HttpProxy
    from pingora_proxy._session import Session

__all__ = ["forward_response"]


def _expects_continue(session: Session) -> bool:
    expect = session.req_header.headers.get(b"expect")
    return expect is not None and expect.lower() == b"100-continue"


def _join(data: bytes | None, extra: bytes) -> bytes:
    return extra if not data else bytes(data) + extra


async def forward_response(
    proxy: HttpProxy, session: Session, up: ClientSession, ctx: Any, body_done: bool
) -> bool:
    """Forward the response read from `up`; True when it was a 101 (the caller pipes).
    `body_done`: the request body was all read before (no need to look again)."""
    hooks = proxy.hooks
    down = session.downstream_session
    continued = False
    while True:
        try:
            resp = await up.read_response_header()
        except Error as exc:
            raise blame_up(exc) from None
        status = resp.status
        if status >= 200 or status == 101:
            break
        continued = continued or status == 100
        strip_hop_by_hop(resp.headers)
        try:
            await down.write_informational(resp)
        except Error as exc:
            raise blame_down(exc) from None
    upgraded = status == 101
    headers = resp.headers
    strip_hop_by_hop(headers, upgraded)
    if resp.version != "HTTP/1.1":
        resp.set_version("HTTP/1.1")  # we speak HTTP/1.1 to the client, whatever the upstream
    if session.req_header.version == "HTTP/1.0" and b"transfer-encoding" in headers:
        headers.remove(b"transfer-encoding")  # an HTTP/1.0 client gets the body until close
    if hooks.upstream_response_filter is not None:
        await hooks.upstream_response_filter(session, resp, ctx)
    if hooks.response_filter is not None:
        await hooks.response_filter(session, resp, ctx)
    if not body_done and not upgraded and not down.is_body_done() and (
        not up.will_keepalive or (not continued and _expects_continue(session))
    ):
        # The request body will not all be read: the upstream closes before it got it, or it
        # answered an `Expect: 100-continue` without the 100. The connection cannot be reused.
        down.set_keepalive(None)
    end = up.is_body_done()
    modules = session.downstream_modules_ctx
    if proxy._m_resp_header:
        await modules.response_header_filter(resp, end)
    # the body-side module hooks, unless the modules say they will change nothing from here
    body_modules = (proxy._m_resp_body or proxy._m_resp_done or proxy._m_resp_trailer) and (
        not modules._passes_body()
    )
    try:
        await down.write_response_header(resp)
    except Error as exc:
        raise blame_down(exc) from None
    if upgraded:
        return True
    if end:
        try:
            await down.write_response_body(b"", True)
        except Error as exc:
            raise blame_down(exc) from None
        return False
    await _forward_body(proxy, session, up, ctx, body_modules)
    return False


async def _forward_body(
    proxy: HttpProxy, session: Session, up: ClientSession, ctx: Any, body_modules: bool
) -> None:
    hooks = proxy.hooks
    down = session.downstream_session
    modules = session.downstream_modules_ctx
    up_filter = hooks.upstream_response_body_filter
    down_filter = hooks.response_body_filter
    module_filter = modules.response_body_filter if body_modules and proxy._m_resp_body else None
    module_done = body_modules and proxy._m_resp_done
    module_trailer = body_modules and proxy._m_resp_trailer
    read = up.read_response_body
    is_done = up.is_body_done
    write = down.write_response_body
    while True:
        try:
            data = await read()
        except Error as exc:
            raise blame_up(exc) from None
        end = data is None or is_done()
        if up_filter is not None:
            data = await up_filter(session, data, end, ctx)
        if down_filter is not None:
            data = await down_filter(session, data, end, ctx)
        if module_filter is not None:
            data = await module_filter(data, end)
        if end:
            if module_done or up.trailers is not None:
                await _finish_body(proxy, session, up, data, ctx, module_done, module_trailer)
                return
            try:
                await write(data or b"", True)
            except Error as exc:
                raise blame_down(exc) from None
            return
        if data:
            try:
                await write(data)
            except Error as exc:
                raise blame_down(exc) from None


async def _finish_body(
    proxy: HttpProxy,
    session: Session,
    up: ClientSession,
    data: bytes | None,
    ctx: Any,
    module_done: bool,
    module_trailer: bool,
) -> None:
    hooks = proxy.hooks
    down = session.downstream_session
    modules = session.downstream_modules_ctx
    if module_done:
        last = await modules.response_done_filter()
        if last:
            data = _join(data, last)
    trailers: HeaderMap | None = up.trailers
    if trailers is not None:
        if hooks.upstream_response_trailer_filter is not None:
            await hooks.upstream_response_trailer_filter(session, trailers, ctx)
        extra = None
        if hooks.response_trailer_filter is not None:
            extra = await hooks.response_trailer_filter(session, trailers, ctx)
        if extra is None and module_trailer:
            extra = await modules.response_trailer_filter(trailers)
        if extra is not None:
            data = _join(data, extra)
            trailers = None  # written into the body instead
    try:
        if trailers is not None and len(trailers):
            if data:
                await down.write_response_body(data)
            await down.write_trailers(trailers)
        else:
            await down.write_response_body(data or b"", True)
    except Error as exc:
        raise blame_down(exc) from None
