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

from _embedded_origins import (
    Origins,
    TextOrigin,
    example_parser,
    run_proxy_example,
    setup_logging,
    start_server,
)

from pingora_core.upstreams import HttpPeer
from pingora_http import ResponseHeader
from pingora_limits import Rate
from pingora_proxy import ProxyHttp, Session

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


def main() -> None:
    parser = example_parser("rate_limiter", 6193, "host:port of the origin (default: embedded)")
    parser.add_argument("--limit", type=positive_int, default=1, help="requests per window")
    parser.add_argument("--window", type=positive_float, default=1.0, help="window in seconds")
    args = parser.parse_args()
    setup_logging()

    server = start_server(args)
    origins = Origins(server)
    upstream = origins.http(args.upstream, "origin", TextOrigin("hello from the origin\n"))
    app = RateLimitedProxy(upstream, limit=args.limit, window=args.window)
    run_proxy_example(server, app, args, name="rate limiter", origins=origins)

if __name__ == "__main__":
    main()
