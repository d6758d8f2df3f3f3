"""Raw byte pipes after a protocol switch: an upgraded request (101, e.g. WebSocket) and a
CONNECT tunnel. Both directions run at once (one extra task) until each side has sent its
EOF; an EOF is passed on as a half-close (shutdown) so the other direction keeps flowing. A
failure on either side aborts both connections. `request_body_filter` / `response_body_filter`
(when written) see the raw bytes, with `end_of_stream` at EOF; modules do not.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any, Final

from pingora_core.errors import Error
from pingora_proxy._errors import as_error, blame_down, blame_up

if TYPE_CHECKING:
    from pingora_core.protocols.l4.stream import Stream
    from pingora_proxy._hooks import Hooks
    from pingora_proxy._session import Session

__all__ = ["pipe"]

_READ: Final = 65536


async def _client_to_upstream(
    session: Session, upstream: Stream, hooks: Hooks, ctx: Any, replay: bytes | None
) -> None:
    down = session.downstream_session
    body_filter = hooks.request_body_filter
    if replay:
        upstream.write(replay)
        await _drain_up(upstream)
    while True:
        try:
            data: bytes | None = await down.read_raw()
        except Error as exc:
            raise blame_down(exc) from None
        end = not data
        if body_filter is not None:
            data = await body_filter(session, data or None, end, ctx)
        if data:
            try:
                upstream.write(data)
            except Error as exc:
                raise blame_up(exc) from None
            await _drain_up(upstream)
        if end:
            try:
                await upstream.shutdown()
            except Error as exc:
                raise blame_up(exc) from None
            return


async def _drain_up(upstream: Stream) -> None:
    try:
        await upstream.drain()
    except Error as exc:
        raise blame_up(exc) from None


async def _upstream_to_client(session: Session, upstream: Stream, hooks: Hooks, ctx: Any) -> None:
    down = session.downstream_session
    body_filter = hooks.response_body_filter
    while True:
        try:
            data: bytes | None = await upstream.read(_READ)
        except Error as exc:
            raise blame_up(exc) from None
        end = not data
        if body_filter is not None:
            data = await body_filter(session, data or None, end, ctx)
        try:
            if data:
                await down.write_raw(data)
            if end:
                await down.stream.shutdown()
                return
        except Error as exc:
            raise blame_down(exc) from None


async def pipe(
    session: Session, upstream: Stream, hooks: Hooks, ctx: Any, replay: bytes | None = None
) -> None:
    """Pipe raw bytes between the client (already switched) and `upstream` until both sides
    have closed; `replay` goes upstream first. Closes `upstream`; raises the first `Error`."""
    loop = asyncio.get_running_loop()
    up_task = loop.create_task(_client_to_upstream(session, upstream, hooks, ctx, replay))
    failure: BaseException | None = None
    try:
        await _upstream_to_client(session, upstream, hooks, ctx)
        await asyncio.wait((up_task,))
    except BaseException as exc:
        failure = exc
    if up_task.done() and not up_task.cancelled() and failure is None:
        failure = up_task.exception()
    if failure is not None:
        upstream.abort()
        session.downstream_session.stream.abort()
        if not up_task.done():
            up_task.cancel()
        await asyncio.wait((up_task,))
        if not up_task.cancelled():
            up_task.exception()  # retrieved: the first failure is the one raised
        if isinstance(failure, Exception):
            raise as_error(failure)
        raise failure
    with contextlib.suppress(Error):
        await upstream.close()
