"""Refusing connections by address before any HTTP is spoken: a `ConnectionFilter` on the proxy
service.

The filter runs right after accept(); a refused connection is closed at once, without reading a
byte or sending a response, so it costs almost nothing. This one refuses the IP addresses given
with `--deny` (repeatable; e.g. `--deny 127.0.0.2`) and accepts everyone else, whose requests
are proxied to the upstream.

    python examples/connection_filter.py --port 6196 --deny 127.0.0.2 [--upstream ADDR]
    curl -i http://127.0.0.1:6196/                               # proxied
    curl -i --interface 127.0.0.2 http://127.0.0.1:6196/         # connection closed

Without `--upstream` a small origin runs on 127.0.0.1 in the same process. `--port 0` picks a
free port; the address is printed as "listening on 127.0.0.1:PORT".
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
from collections.abc import Callable, Iterable

from _embedded_origins import (
    Origins,
    TextOrigin,
    example_parser,
    run_proxy_example,
    setup_logging,
    start_server,
)

from pingora_core.listeners import ConnectionFilter
from pingora_core.upstreams import HttpPeer
from pingora_proxy import ProxyHttp, Session

log = logging.getLogger("connection_filter")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class DenyListFilter(ConnectionFilter):
    """Refuses connections from the IP addresses in `denied`; accepts the rest (and unix
    socket peers, which have no address)."""

    def __init__(self, denied: Iterable[IPAddress]) -> None:
        self.denied = frozenset(denied)
        self.refused = 0

    async def should_accept(self, addr: str | None) -> bool:
        if addr is None or not self.denied:
            return True
        host = addr.rpartition(":")[0].strip("[]")
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            return True
        if ip in self.denied:
            self.refused += 1
            log.info("refusing the connection from %s", addr)
            return False
        return True

    def __repr__(self) -> str:
        denied = sorted(str(ip) for ip in self.denied)
        return f"DenyListFilter(denied={denied}, refused={self.refused})"


class MyProxy(ProxyHttp[None]):
    """Proxies everything it gets to one upstream."""

    def __init__(self, upstream: Callable[[], str]) -> None:
        self.upstream = upstream

    def new_ctx(self) -> None:
        return None

    async def upstream_peer(self, session: Session, ctx: None) -> HttpPeer:
        return HttpPeer(self.upstream())


def ip_address(text: str) -> IPAddress:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an IP address: {text!r}") from None


def main() -> None:
    parser = example_parser(
        "connection_filter", 6196, "host:port of the origin (default: embedded)"
    )
    parser.add_argument(
        "--deny", type=ip_address, action="append", default=[], help="an IP to refuse"
    )
    args = parser.parse_args()
    setup_logging(verbose=log)

    server = start_server(args)
    origins = Origins(server)
    upstream = origins.http(args.upstream, "origin", TextOrigin("hello from the origin\n"))
    run_proxy_example(
        server,
        MyProxy(upstream),
        args,
        name="filtered proxy",
        origins=origins,
        connection_filter=DenyListFilter(args.deny),
    )

if __name__ == "__main__":
    main()
