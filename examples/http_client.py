"""An HTTP client built on the `Connector`: GET each URL and print the status, the headers and the
body. URLs on the same host:port share one pooled connection (the output says `reused: True`).

    python examples/http_client.py http://127.0.0.1:8080/ http://127.0.0.1:8080/other

Only plain `http://` URLs with an IP address or a resolvable host. Exits 1 on a failure (the
error is printed), 2 on a bad URL.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from urllib.parse import urlsplit

from pingora_core.connectors import Connector
from pingora_core.errors import Error
from pingora_core.upstreams import HttpPeer, PeerOptions
from pingora_http import RequestHeader


def parse_url(url: str) -> tuple[str, str, str]:
    """(host:port for the peer, Host header, path with query) of an http:// URL."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"{url!r}: only http://host[:port]/path URLs are supported")
    port = parts.port or 80
    host = parts.hostname
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return address, parts.netloc, path


async def fetch(connector: Connector, url: str) -> None:
    address, host, path = parse_url(url)
    peer = HttpPeer(address, options=PeerOptions(connection_timeout=5.0, read_timeout=10.0))
    session, reused = await connector.get_http_session(peer)
    request = RequestHeader.build("GET", path)
    request.append_header("Host", host)
    request.append_header("User-Agent", "pingora-example/0.1")
    await session.write_request_header(request)
    await session.finish_body()
    response = await session.read_response_header(skip_informational=True)
    while response.status == 103:  # early hints come before the final response
        response = await session.read_response_header(skip_informational=True)
    body = bytearray()
    while (chunk := await session.read_response_body()) is not None:
        body += chunk
    print(f"{url} -> {response.status} {response.reason_phrase or ''} (reused: {reused})")
    for name, value in response.headers.items():
        print(f"  {name.decode('latin-1')}: {value.decode('latin-1')}")
    print(body.decode("utf-8", errors="replace"))
    await connector.release_http_session(session, peer)


async def main_async(urls: list[str]) -> int:
    connector = Connector()
    try:
        for url in urls:
            await fetch(connector, url)
    except Error as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        connector.close()
    print(f"connections: {connector.stats}")
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(prog="http_client", description="GET URLs with the Connector")
    parser.add_argument("urls", nargs="+", metavar="URL")
    args = parser.parse_args()
    for url in args.urls:
        try:
            parse_url(url)
        except ValueError as exc:
            parser.error(str(exc))
    sys.exit(asyncio.run(main_async(args.urls)))


if __name__ == "__main__":
    main()
