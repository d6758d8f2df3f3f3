"""Writing and using an HTTP module: a tiny access-control list.

A module is a per-request object whose hooks run at fixed points of every request, whatever
the proxy on top does; a builder makes one per request. `MyAcl` checks that the request says
`Authorization: basic <credential>`; when it does not, its `request_header_filter` raises an
`Error` of type `HTTPStatus(403)`, which the proxy answers with a 403 before `request_filter`
and before any upstream is contacted. The proxy adds the builder once, in
`init_downstream_modules`, keeping the default modules (response compression, off).

    python examples/use_module.py --port 6194 [--upstream ADDR] [--credential testcode]
    curl -i http://127.0.0.1:6194/                                       # 403
    curl -i -H 'Authorization: basic testcode' http://127.0.0.1:6194/    # 200
    curl -i -H 'Authorization: basic wrong' http://127.0.0.1:6194/       # 403

Without `--upstream` a small origin runs on 127.0.0.1 in the same process. `--port 0` picks a
free port; the address is printed as "listening on 127.0.0.1:PORT".
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

from pingora_core.errors import Error, ErrorType
from pingora_core.modules import HttpModule, HttpModuleBuilder, HttpModules
from pingora_core.upstreams import HttpPeer
from pingora_http import RequestHeader
from pingora_proxy import ProxyHttp, Session

log = logging.getLogger("use_module")


class MyAclCtx(HttpModule):
    """One request's ACL check."""

    __slots__ = ("credential_header",)

    def __init__(self, credential_header: bytes) -> None:
        self.credential_header = credential_header

    async def request_header_filter(self, req: RequestHeader) -> None:
        auth = req.get("Authorization")
        if auth is None:
            raise Error.explain(ErrorType.HTTPStatus(403), "Auth failed, no auth header")
        if auth != self.credential_header:
            raise Error.explain(ErrorType.HTTPStatus(403), "Auth failed, credential mismatch")


class MyAcl(HttpModuleBuilder):
    """Attached to the service once; makes a `MyAclCtx` per request."""

    __slots__ = ("credential_header",)

    def __init__(self, credential: str) -> None:
        if not credential:
            raise ValueError("the credential must not be empty")
        # compare against the whole header value, computed once
        self.credential_header = f"basic {credential}".encode()

    def init(self) -> HttpModule:
        return MyAclCtx(self.credential_header)


class MyProxy(ProxyHttp[None]):
    """Forwards everything the ACL lets through to one upstream."""

    def __init__(self, upstream: Callable[[], str], credential: str) -> None:
        self.upstream = upstream
        self.credential = credential

    def new_ctx(self) -> None:
        return None

    def init_downstream_modules(self, modules: HttpModules) -> None:
        super().init_downstream_modules(modules)  # keep the default ones
        modules.add_module(MyAcl(self.credential))

    async def upstream_peer(self, session: Session, ctx: None) -> HttpPeer:
        return HttpPeer(self.upstream())


def main() -> None:
    parser = example_parser("use_module", 6194, "host:port of the origin (default: embedded)")
    parser.add_argument("--credential", default="testcode", help="what `basic ...` must say")
    args = parser.parse_args()
    setup_logging()

    server = start_server(args)
    origins = Origins(server)
    upstream = origins.http(args.upstream, "origin", TextOrigin("hello from behind the ACL\n"))
    app = MyProxy(upstream, args.credential)
    run_proxy_example(server, app, args, name="acl proxy", origins=origins)

if __name__ == "__main__":
    main()
