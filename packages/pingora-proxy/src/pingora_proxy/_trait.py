"""`ProxyHttp`: the class a user subclasses to program the proxy, one method per phase of a
request, each with Pingora's default behaviour; and `FailToProxy`, what `fail_to_proxy` returns.

Only the interface and the defaults live here; the engine that calls the phases in order is
`_proxy.py`. A method a subclass does not override is never called (the engine checks once).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Generic, TypeVar, cast

from pingora_core.errors import Error, ErrorSource, ErrorType
from pingora_core.modules import HttpModules, ResponseCompressionBuilder

if TYPE_CHECKING:
    from pingora_core.protocols.l4.stream import StreamDigest
    from pingora_core.upstreams import HttpPeer
    from pingora_http import HeaderMap, RequestHeader, ResponseHeader
    from pingora_proxy._session import Session

__all__ = ["CTX", "FailToProxy", "ProxyHttp", "error_status"]

CTX = TypeVar("CTX")

# Upstream errors answered 504 rather than 502: the upstream was too slow, not broken.
_GATEWAY_TIMEOUTS: Final = frozenset((ErrorType.ConnectTimedout, ErrorType.ReadTimedout))
# Downstream errors after which the client is gone: nothing can be answered.
_CLIENT_GONE: Final = frozenset(
    (ErrorType.ReadError, ErrorType.WriteError, ErrorType.ConnectionClosed)
)


@dataclass(frozen=True, slots=True, kw_only=True)
class FailToProxy:
    """What `fail_to_proxy` did: the status answered (0: none, the client is gone) and whether
    the downstream connection may still serve another request."""

    error_code: int
    can_reuse_downstream: bool = False

    def __post_init__(self) -> None:
        code = self.error_code
        if isinstance(code, bool) or not isinstance(code, int) or not (code == 0 or
                                                                        100 <= code <= 999):
            raise ValueError(f"FailToProxy.error_code must be 0 or 100..999, got {code!r}")


def error_status(error: Error) -> int:
    """The status the default `fail_to_proxy` answers for `error`.

    `HTTPStatus(c)` -> c; upstream connect/read timeouts -> 504; other upstream errors -> 502;
    a client that is gone (read/write error, closed) -> 0 (no answer); other client errors ->
    400; internal or unknown -> 500.
    """
    etype = error.etype
    code = etype.code
    if code is not None and not etype.is_custom:
        return code
    source = error.esource
    if source is ErrorSource.UPSTREAM:
        return 504 if etype in _GATEWAY_TIMEOUTS else 502
    if source is ErrorSource.DOWNSTREAM:
        return 0 if etype in _CLIENT_GONE else 400
    return 500


class ProxyHttp(abc.ABC, Generic[CTX]):
    """The phases of a proxied request; subclass it and override what you need.

    Only `upstream_peer` must be written. `new_ctx()` makes the per-request state handed to
    every phase as `ctx` (the default is None). Every phase but `new_ctx` and
    `init_downstream_modules` is a coroutine. A phase raising `Error` fails the request (see
    `fail_to_proxy`); any other exception becomes an internal error (500).

    Order: early_request_filter -> (modules) -> request_filter -> proxy_upstream_filter ->
    upstream_peer -> connected_to_upstream -> upstream_request_filter -> request_body_filter
    (per chunk, while the response comes back) -> upstream_response_filter -> response_filter
    -> upstream_response_body_filter / response_body_filter (per chunk) -> the trailer
    filters -> logging. Failures: fail_to_connect / error_while_proxy (may retry through
    upstream_peer) -> fail_to_proxy -> logging. `logging` runs exactly once per request.
    """

    def new_ctx(self) -> CTX:
        """The state shared by the phases of one request (default: None)."""
        return cast(CTX, None)

    @abc.abstractmethod
    async def upstream_peer(self, session: Session, ctx: CTX) -> HttpPeer:
        """Where to send the request: an `HttpPeer`."""

    def init_downstream_modules(self, modules: HttpModules) -> None:
        """Set up the service's HTTP modules, once, when the service is built. The default adds
        response compression, present but off (`ResponseCompressionBuilder(0)`)."""
        modules.add_module(ResponseCompressionBuilder(0))

    async def early_request_filter(self, session: Session, ctx: CTX) -> None:
        """The first phase, before the downstream modules see the request."""

    async def request_filter(self, session: Session, ctx: CTX) -> bool:
        """Validate, rate limit or answer the request. Return True when a response was already
        written (the request ends there), False to go on."""
        return False

    async def request_body_filter(
        self, session: Session, body: bytes | None, end_of_stream: bool, ctx: CTX
    ) -> bytes | None:
        """Each piece of the request body on its way upstream; return what to forward now
        (None or b"" forwards nothing yet). Change the size only without Content-Length."""
        return body

    async def proxy_upstream_filter(self, session: Session, ctx: CTX) -> bool:
        """Whether to go to the upstream. False ends the request: a 502 unless a response was
        already written."""
        return True

    async def connected_to_upstream(
        self,
        session: Session,
        reused: bool,
        peer: HttpPeer,
        digest: StreamDigest | None,
        ctx: CTX,
    ) -> None:
        """A connection to `peer` was made (`reused`: taken from the pool)."""

    async def upstream_request_filter(
        self, session: Session, upstream_request: RequestHeader, ctx: CTX
    ) -> None:
        """Change the request head sent upstream (a copy; `session.req_header` is left as is)."""

    async def upstream_response_filter(
        self, session: Session, upstream_response: ResponseHeader, ctx: CTX
    ) -> None:
        """Change the response head as it arrives from the upstream."""

    async def response_filter(
        self, session: Session, upstream_response: ResponseHeader, ctx: CTX
    ) -> None:
        """Change the response head just before it goes to the client."""

    async def upstream_response_body_filter(
        self, session: Session, body: bytes | None, end_of_stream: bool, ctx: CTX
    ) -> bytes | None:
        """Each piece of the response body as it arrives; return what to pass on."""
        return body

    async def response_body_filter(
        self, session: Session, body: bytes | None, end_of_stream: bool, ctx: CTX
    ) -> bytes | None:
        """Each piece of the response body before it goes to the client; return what to send
        (None or b"" sends nothing yet). Remove Content-Length in `response_filter` before
        changing the body's size."""
        return body

    async def upstream_response_trailer_filter(
        self, session: Session, trailers: HeaderMap, ctx: CTX
    ) -> None:
        """The response trailers as they arrive (change them in place)."""

    async def response_trailer_filter(
        self, session: Session, trailers: HeaderMap, ctx: CTX
    ) -> bytes | None:
        """The response trailers before they go to the client; returning bytes writes them
        into the body instead."""
        return None

    async def logging(self, session: Session, error: Error | None, ctx: CTX) -> None:
        """Called exactly once per request when it is over (error: why it failed)."""

    async def fail_to_connect(
        self, session: Session, peer: HttpPeer, ctx: CTX, error: Error
    ) -> Error:
        """Connecting to `peer` failed. Return the error, marked retryable
        (`error.set_retry(True)`) to go through `upstream_peer` again. Connect errors are
        retryable by default."""
        return error

    async def error_while_proxy(
        self, peer: HttpPeer, session: Session, error: Error, ctx: CTX, client_reused: bool
    ) -> Error:
        """An error after the upstream connection was made. By default an error that may be
        retried on a reused connection is retried when the connection was reused and the
        request body can be replayed (it fitted the retry buffer)."""
        error = error.more_context(f"Peer: {peer}")
        error.decide_reuse(client_reused and not session.retry_buffer_truncated())
        return error

    async def fail_to_proxy(self, session: Session, error: Error, ctx: CTX) -> FailToProxy:
        """The request failed: answer the client if possible (see `error_status`) and say
        whether the downstream connection may be reused (default: no)."""
        code = error_status(error)
        if code:
            session.set_keepalive(None)  # the connection is not reused after an error
            await session.respond_error(code)
        return FailToProxy(error_code=code, can_reuse_downstream=False)

    async def request_summary(self, session: Session, ctx: CTX) -> str:
        """How the request is described in error logs."""
        return session.request_summary()

    async def suppress_error_log(self, session: Session, ctx: CTX, error: Error) -> bool:
        """True to keep this error out of the error log."""
        return False
