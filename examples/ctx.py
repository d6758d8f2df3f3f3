"""Per-request context and state shared by every request: a reverse proxy that counts requests
and sends "beta" users (requests carrying a `beta-flag` header) to a second origin.

`new_ctx()` gives each request a fresh `MyCtx`; `request_filter` records in it whether the user
is a beta user; `upstream_peer` reads it to pick the origin and bumps two counters kept on the
proxy object (every request, beta requests); `response_filter` shows both numbers to the client
as `X-Request-Number` and `X-Beta-Number`. The counters are plain ints: a worker process runs one
event loop, so no lock is needed (each worker process counts on its own).

    python examples/ctx.py --port 6190 [--upstream ADDR] [--beta-upstream ADDR]
    curl -i http://127.0.0.1:6190/
    curl -i -H 'beta-flag: 1' http://127.0.0.1:6190/

Without `--upstream` two small origins ("main" and "beta") are started on 127.0.0.1 in the same
process, so the example works offline. `--port 0` picks a free port; the address is printed as
"listening on 127.0.0.1:PORT". SIGTERM stops gracefully, SIGINT at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

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
from pingora_proxy import ProxyHttp, Session

log = logging.getLogger("ctx")


@dataclass(slots=True)
class MyCtx:
    """What one request remembers between its phases."""

    beta_user: bool = False
    request_number: int = 0
    beta_number: int = 0


class MyProxy(ProxyHttp[MyCtx]):
    """Counts requests and routes beta users to their own origin."""

    def __init__(self, main: Callable[[], str], beta: Callable[[], str]) -> None:
        self.main = main
        self.beta = beta
        self.req_counter = 0
        self.beta_counter = 0

    def new_ctx(self) -> MyCtx:
        return MyCtx()

    async def request_filter(self, session: Session, ctx: MyCtx) -> bool:
        ctx.beta_user = session.req_header.get("beta-flag") is not None
        return False

    async def upstream_peer(self, session: Session, ctx: MyCtx) -> HttpPeer:
        if ctx.request_number == 0:  # count a request once, even when its peer is retried
            self.req_counter += 1
            ctx.request_number = self.req_counter
            if ctx.beta_user:
                self.beta_counter += 1
                ctx.beta_number = self.beta_counter
        if ctx.beta_user:
            log.info("I'm a beta user #%d", ctx.beta_number)
            return HttpPeer(self.beta())
        log.info("I'm a user #%d", ctx.request_number)
        return HttpPeer(self.main())

    async def response_filter(
        self, session: Session, upstream_response: ResponseHeader, ctx: MyCtx
    ) -> None:
        upstream_response.insert_header("X-Request-Number", str(ctx.request_number))
        if ctx.beta_user:
            upstream_response.insert_header("X-Beta-Number", str(ctx.beta_number))

    def __repr__(self) -> str:
        return f"MyProxy(requests={self.req_counter}, beta={self.beta_counter})"


def main() -> None:
    parser = example_parser("ctx", 6190, "host:port of the origin (default: an embedded one)")
    parser.add_argument("--beta-upstream", help="host:port of the beta users' origin")
    args = parser.parse_args()
    setup_logging()

    server = start_server(args)
    origins = Origins(server)
    text = "hello from the {name} origin, path {{path}}\n"
    main_origin = origins.http(args.upstream, "main origin", TextOrigin(text.format(name="main")))
    beta_origin = origins.http(
        args.beta_upstream or args.upstream, "beta origin", TextOrigin(text.format(name="beta"))
    )
    app = MyProxy(main_origin, beta_origin)
    run_proxy_example(server, app, args, name="ctx proxy", origins=origins)


if __name__ == "__main__":
    main()
