"""Benchmark: sequential GETs to a local origin through our upstream client (Connector +
HttpSession with the pool), side by side with h11 driven by hand over asyncio streams.

The origin (a minimal asyncio Protocol answering a 13-byte body with Content-Length) runs in a
child process so only the client side shares this process's CPU. Measured, each for `--seconds`:
- ours (pooled keep-alive), with the httptools and with the h11 head parser;
- ours with pooling off (`idle_timeout=0`: a new TCP connection per request);
- reference: h11 over one kept-alive asyncio stream connection (what an h11 user writes).
Prints requests/s and the ratio ours / reference (above 1.0: ours is faster), and the pool's
reuse ratio.

Run: .venv/bin/python tools/bench/bench_upstream_client.py [--seconds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import socket
import time
from collections.abc import Awaitable, Callable

import h11

from pingora_core.connectors import Connector
from pingora_core.upstreams import HttpPeer, PeerOptions
from pingora_http import RequestHeader

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\nServer: origin\r\n\r\nhello, world!"


class _Origin(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.buf = b""

    def data_received(self, data: bytes) -> None:
        self.buf += data
        count = self.buf.count(b"\r\n\r\n")
        if count:
            self.buf = self.buf[self.buf.rfind(b"\r\n\r\n") + 4 :]
            self.transport.write(RESPONSE * count)  # type: ignore[attr-defined]


def _serve(sock: socket.socket) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(_Origin, sock=sock)
        await server.serve_forever()

    asyncio.run(main())


async def _ours(address: str, backend: str, pooled: bool, seconds: float) -> tuple[int, float]:
    connector = Connector(backend=backend)
    options = PeerOptions() if pooled else PeerOptions(idle_timeout=0)
    peer = HttpPeer(address, options=options)
    count = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for _ in range(100):
            session, _ = await connector.get_http_session(peer)
            await session.write_request_header(RequestHeader("GET", "/"))
            await session.read_response_header()
            while await session.read_response_body() is not None:
                pass
            await connector.release_http_session(session, peer)
        count += 100
    ratio = connector.stats.reuse_ratio
    connector.close()
    return count, ratio


async def _reference(address: str, seconds: float) -> int:
    host, port = address.rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    conn = h11.Connection(h11.CLIENT)
    count = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for _ in range(100):
            writer.write(conn.send(h11.Request(method="GET", target="/", headers=[("Host", host)])))
            writer.write(conn.send(h11.EndOfMessage()))
            await writer.drain()
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    conn.receive_data(await reader.read(65536))
                elif isinstance(event, h11.EndOfMessage):
                    break
            conn.start_next_cycle()
        count += 100
    writer.close()
    return count


async def _timed(run: Callable[[], Awaitable[int]], seconds: float) -> float:
    start = time.perf_counter()
    count = await run()
    return count / (time.perf_counter() - start)


async def _main(address: str, seconds: float) -> None:
    reuse: dict[str, float] = {}

    def ours(backend: str, pooled: bool) -> Callable[[], Awaitable[int]]:
        async def run() -> int:
            count, ratio = await _ours(address, backend, pooled, seconds)
            reuse[f"{backend} pooled={pooled}"] = ratio
            return count

        return run

    reference = await _timed(lambda: _reference(address, seconds), seconds)
    print(f"reference h11 over asyncio streams (keep-alive): {reference:9.0f} req/s")
    for label, backend, pooled in (
        ("ours, httptools, pooled", "httptools", True),
        ("ours, h11, pooled", "h11", True),
        ("ours, httptools, no pool", "httptools", False),
    ):
        rate = await _timed(ours(backend, pooled), seconds)
        ratio = reuse[f"{backend} pooled={pooled}"]
        print(f"{label:48s}: {rate:9.0f} req/s  ratio {rate / reference:4.2f}x  "
              f"reuse ratio {ratio:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    address = f"127.0.0.1:{sock.getsockname()[1]}"
    origin = multiprocessing.get_context("fork").Process(target=_serve, args=(sock,), daemon=True)
    origin.start()
    try:
        try:
            import uvloop

            runner: Callable[[Awaitable[None]], None] = uvloop.run  # type: ignore[assignment]
            print("client loop: uvloop")
        except ImportError:
            runner = asyncio.run  # type: ignore[assignment]
            print("client loop: asyncio")
        runner(_main(address, args.seconds))
    finally:
        origin.terminate()
        origin.join()
        sock.close()


if __name__ == "__main__":
    main()
