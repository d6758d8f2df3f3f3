"""Rate limiting per client: each client (named by its `appid` header) may send `--limit`
requests per window of `--window` seconds; the ones over the limit are answered `429 Too Many
Requests` by the proxy itself, with `X-Rate-Limit-Limit`, `X-Rate-Limit-Remaining` and
`X-Rate-Limit-Reset` headers, and the connection is closed. Requests without `appid` are not
limited.

The counting is `pingora_limits.Rate`: a count-min sketch per window, so memory stays fixed no
matter how many clients there are. `request_filter` observes the request and decides.

    python examples/rate_limiter.py --port 6193 [--upstream ADDR] [--limit 1] [--window 1]
    curl -i -H 'appid: 1' http://127.0.0.1:6193/     # 200
    curl -i -H 'appid: 1' http://127.0.0.1:6193/     # 429 within the same second

Without `--upstream` a small origin runs on 127.0.0.1 in the same process. `--port 0` picks a
free port; the address is printed as "listening on 127.0.0.1:PORT".
"""

from __future__ import annotations

import argparse
import logging
import math
from collections.abc import Callable

from pingora_core.apps.http_server import HttpServer, ServeHttp
from pingora_core.protocols.http.v1.server import HttpSession
from pingora_core.server import Opt, Server, ShutdownWatch
from pingora_core.services import (
    BackgroundService,
    ReadyNotifier,
    Service,
    ServiceHandle,
    background_service,
)
from pingora_core.upstreams import HttpPeer
from pingora_http import ResponseHeader
from pingora_limits import Rate
from pingora_proxy import ProxyHttp, Session, http_proxy_service

log = logging.getLogger("rate_limiter")


class RateLimitedProxy(ProxyHttp[None]):
    """Proxies to one upstream, at most `limit` requests per `window` seconds per appid."""

    def __init__(self, upstream: Callable[[], str], *, limit: int, window: float) -> None:
        if limit < 1:
            raise ValueError(f"limit must be >= 1, got {limit}")
        self.upstream = upstream
        self.limit = limit
        self.rate = Rate(window)
        self.reset = str(max(1, math.ceil(window)))  # seconds until a new window, at most

    def new_ctx(self) -> None:
        return None

    @staticmethod
    def request_appid(session: Session) -> str | None:
        value = session.req_header.get("appid")
        return None if value is None else value.decode("latin-1")

    async def request_filter(self, session: Session, ctx: None) -> bool:
        appid = self.request_appid(session)
        if appid is None:
            return False  # no client id: not limited
        requests = self.rate.observe(appid, 1)  # this window's count, this request included
        if requests <= self.limit:
            return False
        header = ResponseHeader(429)
        header.insert_header("X-Rate-Limit-Limit", str(self.limit))
        header.insert_header("X-Rate-Limit-Remaining", "0")
        header.insert_header("X-Rate-Limit-Reset", self.reset)
        header.insert_header("Content-Length", "0")
        session.set_keepalive(None)
        await session.write_response_header(header, end_of_stream=True)
        return True

    async def upstream_peer(self, session: Session, ctx: None) -> HttpPeer:
        return HttpPeer(self.upstream())

    def __repr__(self) -> str:
        return f"RateLimitedProxy(limit={self.limit}, rate={self.rate!r})"


class HelloOrigin(ServeHttp):
    """The embedded origin."""

    async def response(self, session: HttpSession) -> tuple[ResponseHeader, bytes]:
        while await session.read_request_body() is not None:
            pass
        header = ResponseHeader(200)
        header.append_header("Content-Type", "text/plain")
        return header, b"hello from the origin\n"


class Announce(BackgroundService):
    """Prints where the proxy listens once it is bound."""

    def __init__(self, service: Service) -> None:
        self.service = service

    async def start(self, shutdown: ShutdownWatch) -> None:
        for address in self.service.bound_addresses():
            print(f"listening on {address}", flush=True)

    async def start_with_ready_notifier(
        self, shutdown: ShutdownWatch, ready: ReadyNotifier
    ) -> None:
        await self.start(shutdown)
        ready.notify_ready()


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0 or math.isinf(value):
        raise argparse.ArgumentTypeError(f"must be a number of seconds > 0, got {text}")
    return value


def fixed_address(address: str) -> Callable[[], str]:
    return lambda: address


def bound_address(service: Service) -> Callable[[], str]:
    """The address `service` got once bound (it is started before the proxy)."""
    return lambda: service.bound_addresses()[0]


def main() -> None:
    parser = Opt.parser("rate_limiter")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=6193)
    parser.add_argument("--upstream", help="host:port of the origin (default: embedded)")
    parser.add_argument("--limit", type=positive_int, default=1, help="requests per window")
    parser.add_argument("--window", type=positive_float, default=1.0, help="window in seconds")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    server = Server(Opt.from_args(args))
    server.bootstrap()
    origin_handle: ServiceHandle | None = None
    if args.upstream:
        upstream = fixed_address(args.upstream)
    else:
        origin = Service("origin", HttpServer(HelloOrigin()))
        origin.add_tcp("127.0.0.1:0")
        origin_handle = server.add_service(origin)
        upstream = bound_address(origin)

    app = RateLimitedProxy(upstream, limit=args.limit, window=args.window)
    proxy = http_proxy_service(server.configuration, app, name="rate limiter")
    proxy.add_tcp(f"{args.host}:{args.port}")
    handle = server.add_service(proxy)
    if origin_handle is not None:
        handle.add_dependency(origin_handle)
    server.add_service(background_service("announce", Announce(proxy))).add_dependency(handle)
    server.run_forever()


if __name__ == "__main__":
    main()
