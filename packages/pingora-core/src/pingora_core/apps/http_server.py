"""`ServeHttp` and `HttpServer`: the simplest way to serve HTTP — map each request to a whole
response.

`ServeHttp.response(session)` gets the session with the request head already read (the body,
if any, is the app's to read) and returns `(ResponseHeader, body)`. `HttpServer(app)` is the
`HttpServerApp` that runs it: reads the head, sets keep-alive (off once shutdown started), writes
the response and hands the connection back for the next request. Streaming responses need their
own `HttpServerApp`.
"""

from __future__ import annotations

import abc
import logging
from typing import TYPE_CHECKING, Final

from pingora_core.apps.http_app import DEFAULT_KEEPALIVE_TIMEOUT, HttpServerApp
from pingora_core.errors import Error
from pingora_core.protocols.http.v1.settings import H1ServerSettings
from pingora_http import ResponseHeader

if TYPE_CHECKING:
    from pingora_core.protocols.http.v1.server import HttpSession
    from pingora_core.protocols.l4.stream import Stream
    from pingora_core.server.shutdown import ShutdownWatch

__all__ = ["HttpServer", "ServeHttp"]

log = logging.getLogger("pingora_core.apps")

_BODY_TYPES: Final = (bytes, bytearray)


class ServeHttp(abc.ABC):
    """Maps a request to a whole response.

    `response` is called with the request head read; read the body yourself if you need it
    (`await session.read_request_body()` until None). Return the response header and the whole
    body. Without Content-Length or Transfer-Encoding in the header, Content-Length is set from
    the body. An exception becomes a 500 and the connection is closed.
    """

    @abc.abstractmethod
    async def response(self, session: HttpSession) -> tuple[ResponseHeader, bytes]:
        """The response to the request in `session`: (header, whole body)."""


class HttpServer(HttpServerApp):
    """An `HttpServerApp` (hence a `ServerApp`) serving `app`'s responses over HTTP/1.1.

    `keepalive_timeout` (seconds; None: no limit) is how long a connection may sit idle between
    requests; it is also the keep-alive given to the session. `h1_settings` configures the
    sessions (timeouts, limits, codec backend).
    """

    def __init__(
        self,
        app: ServeHttp,
        *,
        keepalive_timeout: float | None = DEFAULT_KEEPALIVE_TIMEOUT,
        h1_settings: H1ServerSettings | None = None,
    ) -> None:
        if not isinstance(app, ServeHttp):
            raise TypeError(f"HttpServer needs a ServeHttp app, got {type(app).__name__}")
        if keepalive_timeout is not None and not keepalive_timeout > 0:
            raise ValueError(f"keepalive_timeout must be > 0 or None, got {keepalive_timeout}")
        if h1_settings is not None and not isinstance(h1_settings, H1ServerSettings):
            raise TypeError(f"h1_settings must be an H1ServerSettings, got {h1_settings!r}")
        self.app = app
        self.keepalive_timeout = keepalive_timeout
        self.h1_settings = h1_settings

    @property
    def _keepalive_seconds(self) -> float:
        # what each kept-alive session is given: 0 means no limit
        return self.keepalive_timeout or 0

    async def process_new_http(
        self, session: HttpSession, shutdown: ShutdownWatch
    ) -> Stream | None:
        if session._ready is not None:
            session._take_ready()  # read_request() without its await: parsed already
        else:
            try:
                if await session.read_request() is None:
                    return None
            except Error as exc:
                log.debug("reading a request failed: %s", exc)
                return None
        try:
            header, body = await self.app.response(session)
            # exact types first: isinstance on the usual classes costs more than `is`
            header_ok = header.__class__ is ResponseHeader or isinstance(header, ResponseHeader)
            if not header_ok or not (body.__class__ is bytes or isinstance(body, _BODY_TYPES)):
                raise TypeError(
                    "ServeHttp.response must return (ResponseHeader, bytes), got "
                    f"({type(header).__name__}, {type(body).__name__})"
                )
        except Error as exc:  # e.g. the client sent a bad body: it was answered already
            log.debug("the app failed on %s: %s", session.request_summary(), exc)
            await session.respond_error(500)  # does nothing when a response was sent
            return None
        except Exception:
            log.exception("the app failed on %s", session.request_summary())
            await session.respond_error(500)
            return None
        # decided after the app ran: a request finished during shutdown says Connection: close;
        # an app that closed the connection (set_keepalive(None)) is not overruled
        if shutdown.is_shutting_down:
            session.set_keepalive(None)
        elif session.will_keepalive():
            session.set_keepalive(self._keepalive_seconds)
        keys = header.headers._keys  # lowercase names: plain list lookups
        if b"content-length" not in keys and b"transfer-encoding" not in keys:
            header.set_content_length(len(body))
        try:
            # write_response_header + write_response_body(body, end=True) + finish, in one write
            return await session._respond(header, body)
        except Error as exc:
            log.debug("writing the response to %s failed: %s", session.request_summary(), exc)
            return None

    def __repr__(self) -> str:
        return (
            f"HttpServer(app={type(self.app).__name__}, keepalive_timeout={self.keepalive_timeout}"
            f", idle_connections={self.idle_connections})"
        )

