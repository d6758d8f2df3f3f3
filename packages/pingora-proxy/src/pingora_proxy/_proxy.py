"""`HttpProxy`: the `HttpServerApp` that runs a `ProxyHttp` over every request of a connection.

Per request: read the head, then the phases in Pingora's order (early_request_filter, the
downstream modules, request_filter, proxy_upstream_filter), then attempts through upstream_peer
and the connector (pooled connections first) until one succeeds or an error is not retryable
(at most `max_retries` attempts), then `fail_to_proxy` for an error, then `logging`, exactly
once, and the client connection is handed back for its next request when it can be. The phase
table is computed once (`Hooks`); a phase nobody overrode costs nothing per request.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Final

from pingora_core.apps.http_app import DEFAULT_KEEPALIVE_TIMEOUT, HttpServerApp
from pingora_core.connectors import Connector
from pingora_core.errors import Error, ErrorSource, ErrorType, RetryType
from pingora_core.modules import HttpModuleCtx, HttpModules
from pingora_core.protocols.http.v1.settings import H1ServerSettings
from pingora_core.server import ServerConf
from pingora_core.upstreams import HttpPeer
from pingora_http import ResponseHeader
from pingora_proxy._errors import as_error, blame_up
from pingora_proxy._exchange import proxy_h1
from pingora_proxy._hooks import Hooks
from pingora_proxy._session import Session
from pingora_proxy._trait import FailToProxy, ProxyHttp
from pingora_proxy._tunnel import pipe

if TYPE_CHECKING:
    from pingora_core.protocols.http.v1.server import HttpSession
    from pingora_core.protocols.l4.stream import Stream
    from pingora_core.server.shutdown import ShutdownWatch

__all__ = ["ALLOW_CONNECT_KEY", "HttpProxy"]

log = logging.getLogger("pingora_proxy")

#: The ServerConf `extra` key that allows CONNECT tunnels (`allow_connect_method_proxying: true`).
ALLOW_CONNECT_KEY: Final = "allow_connect_method_proxying"
_CONNECT: Final = "CONNECT"


def _bad_gateway() -> ResponseHeader:
    resp = ResponseHeader(502)
    resp.headers.append(b"Content-Length", b"0")
    resp.headers.append(b"Cache-Control", b"private, no-store")
    return resp


def _conf_allows_connect(conf: ServerConf) -> bool:
    value = conf.extra.get(ALLOW_CONNECT_KEY, False)
    if not isinstance(value, bool):
        raise TypeError(f"ServerConf extra {ALLOW_CONNECT_KEY!r} must be true or false, got "
                        f"{value!r}")
    return value


class HttpProxy(HttpServerApp):
    """Runs `app` (a `ProxyHttp`) as an HTTP/1 server app; see the module docstring.

    `conf` (a `ServerConf`, default `ServerConf()`) gives `max_retries` (attempts per request),
    the upstream pool size and bind addresses, and the `allow_connect_method_proxying` extra
    key. `allow_connect` (overrides the key) lets CONNECT requests open tunnels; without it they
    get 405. `connector` replaces the upstream `Connector`. `keepalive_timeout` and
    `h1_settings` are the `HttpServerApp` ones.
    """

    def __init__(
        self,
        app: ProxyHttp[Any],
        conf: ServerConf | None = None,
        *,
        allow_connect: bool | None = None,
        connector: Connector | None = None,
        keepalive_timeout: float | None = DEFAULT_KEEPALIVE_TIMEOUT,
        h1_settings: H1ServerSettings | None = None,
    ) -> None:
        if isinstance(app, ServerConf):
            raise TypeError("HttpProxy(app, conf): the ProxyHttp comes first "
                            "(http_proxy(conf, app) takes them the other way round)")
        self.hooks = Hooks(app)
        if conf is None:
            conf = ServerConf()
        elif not isinstance(conf, ServerConf):
            raise TypeError(f"conf must be a ServerConf, got {type(conf).__name__}")
        if allow_connect is None:
            allow_connect = _conf_allows_connect(conf)
        elif not isinstance(allow_connect, bool):
            raise TypeError(f"allow_connect must be a bool, got {type(allow_connect).__name__}")
        if connector is None:
            connector = Connector.from_server_conf(conf)
        elif not isinstance(connector, Connector):
            raise TypeError(f"connector must be a Connector, got {type(connector).__name__}")
        if keepalive_timeout is not None and not keepalive_timeout > 0:
            raise ValueError(f"keepalive_timeout must be > 0 or None, got {keepalive_timeout}")
        if h1_settings is not None and not isinstance(h1_settings, H1ServerSettings):
            raise TypeError(f"h1_settings must be an H1ServerSettings, got {h1_settings!r}")
        self.app = app
        self.conf = conf
        self.allow_connect = allow_connect
        self.connector = connector
        self.max_retries = max(1, conf.max_retries)
        self.keepalive_timeout = keepalive_timeout
        self.h1_settings = h1_settings
        modules = HttpModules()
        app.init_downstream_modules(modules)
        self.downstream_modules = modules
        table = modules.hook_table()  # freezes the registry
        self._has_modules = len(modules) > 0
        self._m_req_header = bool(table["request_header_filter"])
        self._m_req_body = bool(table["request_body_filter"])
        self._m_resp_header = bool(table["response_header_filter"])
        self._m_resp_body = bool(table["response_body_filter"])
        self._m_resp_trailer = bool(table["response_trailer_filter"])
        self._m_resp_done = bool(table["response_done_filter"])
        self._empty_modules = HttpModuleCtx()

    # -- HttpServerApp ---------------------------------------------------------------------------

    async def process_new_http(
        self, session: HttpSession, shutdown: ShutdownWatch
    ) -> Stream | None:
        try:
            if await session.read_request() is None:
                return None
        except Error as exc:  # a bad head was answered (4xx) by the session already
            log.debug("reading a request failed: %s", exc)
            return None
        keepalive = self.keepalive_timeout
        session.set_keepalive(None if shutdown.is_shutting_down else keepalive or 0)
        modules = self.downstream_modules.build_ctx() if self._has_modules else self._empty_modules
        return await self.process_request(Session(session, modules), self.hooks.new_ctx())

    async def http_cleanup(self) -> None:
        self.connector.close()

    # -- one request -------------------------------------------------------------------------------

    async def process_request(self, session: Session, ctx: Any) -> Stream | None:
        """Run every phase of the request in `session`; the stream to reuse, or None."""
        try:
            reuse, error = await self._phases(session, ctx)
        except BaseException as exc:  # cancelled (server stopping): still log the request once
            await self._logging(session, as_error(exc) if isinstance(exc, Exception) else
                                Error(ErrorType.InternalError, ErrorSource.INTERNAL,
                                      context="the request was cancelled"), ctx)
            raise
        if self.hooks.logging is not None:
            await self._logging(session, error, ctx)
        if not reuse:
            return None
        try:
            return await session.downstream_session.finish()
        except Error as exc:
            log.debug("finishing the response to %s failed: %s", session.request_summary(), exc)
            return None

    async def _logging(self, session: Session, error: Error | None, ctx: Any) -> None:
        hook = self.hooks.logging
        if hook is None:
            return
        try:
            await hook(session, error, ctx)
        except Exception:
            log.exception("the logging phase failed for %s", session.request_summary())

    async def _phases(self, session: Session, ctx: Any) -> tuple[bool, Error | None]:
        """(downstream reusable, error) after every phase before `logging` ran."""
        hooks = self.hooks
        connect = session.req_header.method == _CONNECT
        try:
            if connect and not self.allow_connect:
                raise Error(ErrorType.HTTPStatus(405), ErrorSource.DOWNSTREAM,
                            context="CONNECT is not allowed by this proxy")
            if hooks.early_request_filter is not None:
                await hooks.early_request_filter(session, ctx)
            if self._m_req_header:
                await session.downstream_modules_ctx.request_header_filter(session.req_header)
            if hooks.request_filter is not None and await hooks.request_filter(session, ctx):
                return True, None
            if hooks.proxy_upstream_filter is not None and not await hooks.proxy_upstream_filter(
                session, ctx
            ):
                if session.response_written is None:
                    await session.write_response_header(_bad_gateway(), end_of_stream=True)
                return True, None
        except Exception as exc:
            failed = as_error(exc)
            result = await self._fail(session, failed, ctx, "Fail to filter request:", 0)
            return result.can_reuse_downstream, failed

        attempt = self._tunnel if connect else self._attempt
        tries = 0
        reuse = False
        error: Error | None = None
        while tries < self.max_retries:
            tries += 1
            reuse, error = await attempt(session, ctx)
            if error is None:
                return reuse, None
            retry = error.retry
            if (
                retry is not RetryType.TRUE
                or session.response_written is not None
                or session.retry_buffer_truncated()
            ):
                break
            log.warning("Fail to proxy: %s, tries: %d, retry: True, %s", error, tries,
                        await self._summary(session, ctx))
        assert error is not None
        await self._fail(session, error, ctx, "Fail to proxy:", tries)
        return False, error

    async def _attempt(self, session: Session, ctx: Any) -> tuple[bool, Error | None]:
        """One attempt: pick the peer, connect, proxy."""
        hooks = self.hooks
        peer = await self._peer(session, ctx)
        if isinstance(peer, Error):
            return False, peer
        try:
            up, reused = await self.connector.get_http_session(peer)
        except Error as exc:
            return False, await self._connect_failed(session, peer, ctx, exc)
        reuse, error = await proxy_h1(self, session, up, reused, peer, ctx)
        if error is None:
            return reuse, None
        try:
            error = await hooks.error_while_proxy(peer, session, error, ctx, reused)
        except Exception as exc:
            error = as_error(exc)
        if not error.retry.is_decided:
            error.decide_reuse(False)
        return reuse, error

    async def _tunnel(self, session: Session, ctx: Any) -> tuple[bool, Error | None]:
        """One attempt at a CONNECT tunnel: connect to the peer, answer 200, pipe."""
        hooks = self.hooks
        peer = await self._peer(session, ctx)
        if isinstance(peer, Error):
            return False, peer
        try:
            stream = await self.connector.new_stream(peer)
        except Error as exc:
            return False, await self._connect_failed(session, peer, ctx, exc)
        try:
            if hooks.connected_to_upstream is not None:
                await hooks.connected_to_upstream(session, False, peer, stream.digest, ctx)
            resp = ResponseHeader(200)
            await session.downstream_session.write_response_header(resp)
            await pipe(session, stream, hooks, ctx, session._retry_body())
        except BaseException as exc:
            stream.abort()
            if not isinstance(exc, Exception):
                raise
            return False, as_error(exc)
        return False, None

    async def _peer(self, session: Session, ctx: Any) -> HttpPeer | Error:
        try:
            peer = await self.hooks.upstream_peer(session, ctx)
        except Exception as exc:
            return as_error(exc)
        if not isinstance(peer, HttpPeer):
            return Error(ErrorType.InternalError, ErrorSource.INTERNAL,
                         context=f"upstream_peer returned {type(peer).__name__}, not an HttpPeer")
        return peer

    async def _connect_failed(
        self, session: Session, peer: HttpPeer, ctx: Any, error: Error
    ) -> Error:
        error.as_up()
        hook = self.hooks.fail_to_connect
        if hook is not None:
            try:
                error = await hook(session, peer, ctx, error)
            except Exception as exc:
                return as_error(exc)
        if not error.retry.is_decided:
            error.decide_reuse(False)
        return blame_up(error).into_up()

    async def _fail(
        self, session: Session, error: Error, ctx: Any, what: str, tries: int
    ) -> FailToProxy:
        """`fail_to_proxy` and the error log line; aborts a response already under way."""
        try:
            result = await self.hooks.fail_to_proxy(session, error, ctx)
            if not isinstance(result, FailToProxy):
                raise TypeError(f"fail_to_proxy returned {type(result).__name__}, "
                                "not a FailToProxy")
        except Exception:
            log.exception("fail_to_proxy failed for %s", session.request_summary())
            result = FailToProxy(error_code=0, can_reuse_downstream=False)
        try:
            quiet = await self.hooks.suppress_error_log(session, ctx, error)
        except Exception:
            quiet = False
        if not quiet:
            tried = f", tries: {tries}" if tries else ""
            log.error("%s %s, status: %d%s, %s", what, error, result.error_code, tried,
                      await self._summary(session, ctx))
        written = session.response_written
        if written is not None and _close_delimited(written):
            # the body length is unknowable to the client: a reset marks it incomplete
            session.downstream_session.stream.abort()
        return result

    async def _summary(self, session: Session, ctx: Any) -> str:
        try:
            return str(await self.hooks.request_summary(session, ctx))
        except Exception:
            return session.request_summary()

    def __repr__(self) -> str:
        return (
            f"HttpProxy(app={type(self.app).__name__}, max_retries={self.max_retries}, "
            f"allow_connect={self.allow_connect}, connector={self.connector!r})"
        )


def _close_delimited(resp: ResponseHeader) -> bool:
    headers = resp.headers
    return (
        resp.status >= 200
        and b"content-length" not in headers
        and b"transfer-encoding" not in headers
    )
