"""Rewriting a response body on the way through: the origin answers JSON, the client gets YAML.

`response_filter` sees the upstream's header first: for a JSON response it changes the
Content-Type and removes Content-Length (the new body's size is not known yet, so the response
goes out chunked). `upstream_response_body_filter` then keeps every JSON chunk in the request's
context (forwarding nothing) until the end of the body, parses the whole document and releases
it as one YAML chunk. Bodies that are not JSON pass through untouched; a JSON body larger than
`MAX_BUFFER` is refused (the client's connection is cut, the body never looks complete).

    python examples/modify_response.py --port 6192 [--upstream ADDR]
    curl -i http://127.0.0.1:6192/

`upstream_request_filter` sets the `Host` the origin expects. Without `--upstream` a small JSON
origin (it reports the client's IP and the Host it got) runs on 127.0.0.1 in the same process.
`--port 0` picks a free port; the address is printed as "listening on 127.0.0.1:PORT".
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

import yaml
from _embedded_origins import (
    Origins,
    example_parser,
    run_proxy_example,
    setup_logging,
    start_server,
)

from pingora_core.apps.http_server import ServeHttp
from pingora_core.errors import Error, ErrorSource, ErrorType
from pingora_core.protocols.http.v1.server import HttpSession
from pingora_core.upstreams import HttpPeer
from pingora_http import RequestHeader, ResponseHeader
from pingora_proxy import ProxyHttp, Session

log = logging.getLogger("modify_response")

#: The Host the origin is asked for.
HOST: Final = "ip.json.test"
#: The largest JSON body converted (it is held in memory until complete).
MAX_BUFFER: Final = 1024 * 1024


@dataclass(slots=True)
class MyCtx:
    """Per request: whether the body is converted, and the JSON received so far."""

    convert: bool = False
    buffer: bytearray = field(default_factory=bytearray)


class Json2Yaml(ProxyHttp[MyCtx]):
    """Proxies to the JSON origin and converts its JSON answers to YAML."""

    def __init__(self, upstream: Callable[[], str]) -> None:
        self.upstream = upstream

    def new_ctx(self) -> MyCtx:
        return MyCtx()

    async def upstream_peer(self, session: Session, ctx: MyCtx) -> HttpPeer:
        return HttpPeer(self.upstream(), sni=HOST)

    async def upstream_request_filter(
        self, session: Session, upstream_request: RequestHeader, ctx: MyCtx
    ) -> None:
        upstream_request.insert_header("Host", HOST)

    async def response_filter(
        self, session: Session, upstream_response: ResponseHeader, ctx: MyCtx
    ) -> None:
        ctype = (upstream_response.get("Content-Type") or b"").split(b";")[0].strip().lower()
        if ctype != b"application/json":
            return
        ctx.convert = True
        # the size of the new body is unknown: let the writer frame it (chunked)
        upstream_response.remove_header("Content-Length")
        upstream_response.insert_header("Content-Type", "application/yaml")

    async def upstream_response_body_filter(
        self, session: Session, body: bytes | None, end_of_stream: bool, ctx: MyCtx
    ) -> bytes | None:
        if not ctx.convert:
            return body
        if body:
            ctx.buffer += body
            if len(ctx.buffer) > MAX_BUFFER:
                raise Error(
                    ErrorType.InternalError,
                    ErrorSource.UPSTREAM,
                    context=f"JSON body over {MAX_BUFFER} bytes: too large to convert",
                )
        if not end_of_stream:
            return None  # hold everything until the whole document is here
        return to_yaml(bytes(ctx.buffer))


def to_yaml(document: bytes) -> bytes:
    """The YAML form of a JSON document; the document itself when it is not valid JSON (JSON is
    YAML too, so the client can still read it)."""
    try:
        data = json.loads(document)
    except ValueError:
        log.warning("upstream sent invalid JSON: passing it on unchanged")
        return document
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True).encode()


class JsonOrigin(ServeHttp):
    """The embedded origin: `{"ip": <client ip>, "host": <Host asked for>, "path": <path>}`."""

    async def response(self, session: HttpSession) -> tuple[ResponseHeader, bytes]:
        while await session.read_request_body() is not None:
            pass
        req = session.req_header
        ip = (session.client_addr or "").rpartition(":")[0].strip("[]")
        document = {"ip": ip, "host": req.host() or "", "path": req.path}
        header = ResponseHeader(200)
        header.append_header("Content-Type", "application/json")
        return header, json.dumps(document).encode()


def main() -> None:
    parser = example_parser(
        "modify_response", 6192, "host:port of the JSON origin (default: embedded)"
    )
    args = parser.parse_args()
    setup_logging()

    server = start_server(args)
    origins = Origins(server)
    upstream = origins.http(args.upstream, "json origin", JsonOrigin())
    run_proxy_example(server, Json2Yaml(upstream), args, name="json2yaml", origins=origins)

if __name__ == "__main__":
    main()
