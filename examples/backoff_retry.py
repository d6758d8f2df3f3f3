"""Retrying failed connections with an exponential backoff.

`fail_to_connect` is called when a connection to the chosen peer cannot be made; here it counts
the failure in the request's context and marks the error retryable, so the proxy calls
`upstream_peer` again (up to the server's `max_retries` attempts). `upstream_peer` sleeps
10 ms, 100 ms, 1 s, ... (capped by `--max-sleep`) before each new attempt and moves on to the
next peer of its list: first the `--dead` peer, then `--upstream`. The response carries the
number of retries in `X-Retries`.

    python examples/backoff_retry.py --port 6195 [--upstream ADDR] [--dead ADDR]
    curl -i http://127.0.0.1:6195/

Without `--upstream` a small origin runs on 127.0.0.1 in the same process; without `--dead` a
port that refuses connections is reserved (a bound socket that never listens). Use
`--conf FILE` with `max_retries: N` to change the number of attempts. `--port 0` picks a free
port; the address is printed as "listening on 127.0.0.1:PORT". Attempts are logged to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import socket
from collections.abc import Callable
from dataclasses import dataclass

from _embedded_origins import (
    Origins,
    TextOrigin,
    example_parser,
    fixed_address,
    run_proxy_example,
    setup_logging,
    start_server,
)

from pingora_core.errors import Error
from pingora_core.upstreams import HttpPeer, PeerOptions
from pingora_http import ResponseHeader
from pingora_proxy import ProxyHttp, Session

log = logging.getLogger("backoff_retry")


@dataclass(slots=True)
class RetryCtx:
    """How many connection attempts of this request failed so far."""

    retries: int = 0


class BackoffRetryProxy(ProxyHttp[RetryCtx]):
    """Tries `peers` in order (staying on the last), sleeping longer before each retry."""

    def __init__(self, peers: list[Callable[[], str]], *, max_sleep: float) -> None:
        if not peers:
            raise ValueError("at least one peer is needed")
        self.peers = peers
        self.max_sleep = max_sleep
        self.options = PeerOptions(connection_timeout=0.1)

    def new_ctx(self) -> RetryCtx:
        return RetryCtx()

    async def fail_to_connect(
        self, session: Session, peer: HttpPeer, ctx: RetryCtx, error: Error
    ) -> Error:
        ctx.retries += 1
        log.info("attempt %d to %s failed: %s", ctx.retries, peer.address, error)
        error.retry = True
        return error

    async def upstream_peer(self, session: Session, ctx: RetryCtx) -> HttpPeer:
        if ctx.retries > 0:
            # exponential backoff: 10 ms, 100 ms, 1 s, ... capped at max_sleep
            delay = min(10 ** min(ctx.retries, 6) / 1000, self.max_sleep)
            log.info("sleeping for %.3f s before attempt %d", delay, ctx.retries + 1)
            await asyncio.sleep(delay)
        address = self.peers[min(ctx.retries, len(self.peers) - 1)]()
        return HttpPeer(address, options=self.options)

    async def response_filter(
        self, session: Session, upstream_response: ResponseHeader, ctx: RetryCtx
    ) -> None:
        upstream_response.insert_header("X-Retries", str(ctx.retries))

    def __repr__(self) -> str:
        return f"BackoffRetryProxy(peers={len(self.peers)}, max_sleep={self.max_sleep})"


def refusing_address() -> tuple[str, socket.socket]:
    """A loopback address that refuses connections: bound (so no one else gets the port) but
    never listening. Keep the socket open as long as the address is used."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    host, port = sock.getsockname()
    return f"{host}:{port}", sock


def seconds(text: str) -> float:
    value = float(text)
    if not 0 <= value < math.inf:
        raise argparse.ArgumentTypeError(f"must be a number of seconds >= 0, got {text}")
    return value


def main() -> None:
    parser = example_parser(
        "backoff_retry", 6195, "host:port of the origin that is up (default: embedded)"
    )
    parser.add_argument("--dead", help="host:port tried first (default: a refusing local port)")
    parser.add_argument("--max-sleep", type=seconds, default=10.0, help="longest backoff sleep")
    args = parser.parse_args()
    setup_logging(verbose=log)

    server = start_server(args)
    reserved: socket.socket | None = None
    if args.dead:
        dead = args.dead
    else:
        dead, reserved = refusing_address()
    origins = Origins(server)
    alive = origins.http(args.upstream, "origin", TextOrigin("hello from the origin that is up\n"))
    app = BackoffRetryProxy([fixed_address(dead), alive], max_sleep=args.max_sleep)
    try:
        run_proxy_example(server, app, args, name="backoff retry", origins=origins)
    finally:
        if reserved is not None:
            reserved.close()

if __name__ == "__main__":
    main()
