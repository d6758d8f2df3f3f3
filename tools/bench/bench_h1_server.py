"""The HTTP/1 codec seam beside the bare parsers, in one run: microseconds per request head.

Each backend reads a typical request head through our seam (`RequestParser.feed`: our rules
around the backend, the `RequestHeader` and `RequestHead` built) and is shown beside the least
its bare parser must do on the same bytes (httptools' callbacks collecting the target and the
fields; an `h11.Connection` producing its `Request` event). Two heads: the short one wrk sends,
and a browser-like one with nine fields. The server side (an `HttpServer` against nginx, with
wrk) is `tools/bench/bench_http_server.py`.

    python tools/bench/bench_h1_server.py [--calls 20000]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Final

import h11

from pingora_core.protocols.http.v1 import RequestHead, RequestParser, available_h1_backends

SHORT: Final = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n"
BROWSER: Final = (
    b"GET /search?q=pingora&lang=en HTTP/1.1\r\nHost: www.example.com\r\n"
    b"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0\r\n"
    b"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
    b"Accept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br\r\n"
    b"Cookie: session=0123456789abcdef; theme=dark\r\nConnection: keep-alive\r\n"
    b"Upgrade-Insecure-Requests: 1\r\nCache-Control: max-age=0\r\n\r\n"
)


def per_call(fn: Callable[[], object], calls: int, rounds: int = 5) -> float:
    """Best of `rounds`, in microseconds per call."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, time.perf_counter() - start)
    return best / calls * 1e6


class _Proto:
    """The least a caller of httptools must do: keep the target and the fields."""

    __slots__ = ("headers", "url")

    def __init__(self) -> None:
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []

    def on_url(self, url: bytes) -> None:
        self.url = url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))


def bare_httptools(head: bytes) -> object:
    import httptools

    proto = _Proto()
    httptools.HttpRequestParser(proto).feed_data(head)
    return proto


def bare_h11(head: bytes) -> object:
    conn = h11.Connection(h11.SERVER)
    conn.receive_data(head)
    return conn.next_event()


def ours(backend: str, head: bytes) -> object:
    events = RequestParser(backend).feed(head)
    if not isinstance(events[0], RequestHead):
        raise RuntimeError(f"the {backend} seam refused the benchmark head: {events[0]!r}")
    return events


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--calls", type=int, default=20000, help="calls per round (5 rounds)")
    args = parser.parse_args()
    print("HTTP/1 codec seam: microseconds per request head (best of 5 rounds)")
    print(f"{'head':<10}{'backend':<11}{'ours':>8}{'bare':>8}  bare/ours")
    for label, head in (("short", SHORT), ("browser", BROWSER)):
        for backend in available_h1_backends():
            seam = per_call(lambda b=backend, h=head: ours(b, h), args.calls)  # type: ignore[misc]
            bare_fn = bare_httptools if backend == "httptools" else bare_h11
            bare = per_call(lambda f=bare_fn, h=head: f(h), args.calls)  # type: ignore[misc]
            print(f"{label:<10}{backend:<11}{seam:8.2f}{bare:8.2f}  {bare / seam:6.2f}x")


if __name__ == "__main__":
    main()
