"""An API gateway: authentication, path-based routing, response header rewriting and one log
line per request.

- `request_filter`: paths under `/login` need `Authorization: password`; anything else there is
  answered 403 by the gateway itself (returning True: the response is already written).
- `upstream_peer`: paths under `/family` go to the "family" origin, everything else to the
  default one.
- `response_filter`: sets `Server: MyGateway` and drops `alt-svc` (we do not speak HTTP/3).
- `logging`: one line per request, "<request summary> response code: <status>", also for the
  requests refused in `request_filter`; a counter of requests served is kept for metrics.

    python examples/gateway.py --port 6191 [--upstream ADDR] [--family-upstream ADDR]
    curl -i http://127.0.0.1:6191/
    curl -i http://127.0.0.1:6191/family/
    curl -I -H 'Authorization: password' http://127.0.0.1:6191/login/
    curl -I -H 'Authorization: bad' http://127.0.0.1:6191/login/

Without `--upstream` two origins ("default" and "family") are started on 127.0.0.1 in the same
process; they send `Server` and `alt-svc` headers for the gateway to rewrite. `--port 0` picks a
free port; the address is printed as "listening on 127.0.0.1:PORT". Log lines go to stderr.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from _embedded_origins import (
    Origins,
    TextOrigin,
    example_parser,
    run_proxy_example,
    setup_logging,
    start_server,
)

from pingora_core.errors import Error
from pingora_core.upstreams import HttpPeer
from pingora_http import RequestHeader, ResponseHeader
from pingora_proxy import ProxyHttp, Session

log = logging.getLogger("gateway")


def check_login(req: RequestHeader) -> bool:
    """Replace with real authentication."""
    return req.get("Authorization") == b"password"


class MyGateway(ProxyHttp[None]):
    """Authenticates /login, routes /family, rewrites response headers, logs every request."""

    def __init__(self, default: Callable[[], str], family: Callable[[], str]) -> None:
        self.default = default
        self.family = family
        self.req_metric = 0

    def new_ctx(self) -> None:
        return None

    async def request_filter(self, session: Session, ctx: None) -> bool:
        req = session.req_header
        if req.path.startswith("/login") and not check_login(req):
            await session.respond_error(403)
            return True  # the response is written: stop here
        return False

    async def upstream_peer(self, session: Session, ctx: None) -> HttpPeer:
        family = session.req_header.path.startswith("/family")
        address = self.family() if family else self.default()
        log.debug("connecting to %s", address)
        return HttpPeer(address)

    async def response_filter(
        self, session: Session, upstream_response: ResponseHeader, ctx: None
    ) -> None:
        upstream_response.insert_header("Server", "MyGateway")  # replaces any existing one
        upstream_response.remove_header("alt-svc")  # we do not serve HTTP/3

    async def logging(self, session: Session, error: Error | None, ctx: None) -> None:
        written = session.response_written
        code = 0 if written is None else written.status
        log.info("%s response code: %d", session.request_summary(), code)
        self.req_metric += 1

    def __repr__(self) -> str:
        return f"MyGateway(requests={self.req_metric})"


def main() -> None:
    parser = example_parser("gateway", 6191, "host:port of the default origin (default: embedded)")
    parser.add_argument("--family-upstream", help="host:port of the /family origin")
    args = parser.parse_args()
    setup_logging(verbose=log)

    server = start_server(args)
    origins = Origins(server)
    # the embedded origins announce themselves the way public servers do
    headers = [("Server", "embedded-origin"), ("alt-svc", 'h3=":443"; ma=86400')]
    text = "hello from the {name} origin, path {{path}}\n"
    default = origins.http(
        args.upstream, "default origin", TextOrigin(text.format(name="default"), headers)
    )
    family = origins.http(
        args.family_upstream or args.upstream,
        "family origin",
        TextOrigin(text.format(name="family"), headers),
    )
    run_proxy_example(server, MyGateway(default, family), args, name="gateway", origins=origins)

if __name__ == "__main__":
    main()
