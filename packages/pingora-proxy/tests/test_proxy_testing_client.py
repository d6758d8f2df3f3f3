"""`pingora_proxy.testing` as a user's own test suite would use it: a proxy under test against
an in-memory handler or the mock origin, no downstream sockets, keep-alive and the response
helpers; bad input is refused clearly."""

from __future__ import annotations

import pytest

from pingora_core.apps.http_server import HttpServer, ServeHttp
from pingora_core.protocols.http.v1.server import HttpSession
from pingora_core.testing.mock_origin import DEFAULT_BODY, MockOrigin
from pingora_core.upstreams import HttpPeer
from pingora_http import RequestHeader, ResponseHeader
from pingora_proxy import HttpProxy, ProxyHttp, Session
from pingora_proxy.testing import ClientResponse, InMemoryUpstream, ProxyTestClient

pytestmark = pytest.mark.anyio


class AddHeader(ProxyHttp[None]):
    """The kind of proxy a user tests: it tags responses and refuses /admin."""

    def __init__(self, peer: HttpPeer) -> None:
        self.peer = peer

    async def request_filter(self, session: Session, ctx: None) -> bool:
        if session.req_header.path.startswith("/admin"):
            await session.respond_error(403)
            return True
        return False

    async def upstream_peer(self, session: Session, ctx: None) -> HttpPeer:
        return self.peer

    async def response_filter(
        self, session: Session, upstream_response: ResponseHeader, ctx: None
    ) -> None:
        upstream_response.insert_header("X-Proxied", "yes")


async def hello(req: RequestHeader, body: bytes) -> tuple[int, dict[str, str], bytes]:
    return 201, {"Content-Type": "text/plain"}, f"{req.method} {req.uri} {len(body)}".encode()


async def test_against_an_in_memory_handler() -> None:
    async with (
        InMemoryUpstream(hello) as upstream,
        ProxyTestClient(AddHeader(upstream.peer())) as client,
    ):
        resp = await client.post("/items?x=1", b"12345", {"X-Test": "1"})
        denied = await client.get("/admin")
        again = await client.get("/")
    assert isinstance(resp, ClientResponse)
    assert resp.status == 201
    assert resp.reason == "Created"
    assert resp.text == "POST /items?x=1 5"
    assert resp.header("x-proxied") == "yes"
    assert resp.header_all("X-PROXIED") == ["yes"]
    assert denied.status == 403
    assert again.body == b"GET / 0"
    assert client.connections == 1  # keep-alive all along
    assert upstream.connections == 1  # and the upstream connection was pooled


async def test_against_the_mock_origin() -> None:
    async with (
        MockOrigin() as origin,
        ProxyTestClient(AddHeader(HttpPeer(origin.address))) as client,
    ):
        resp = await client.get("/")
        closing = await client.get("/", {"Connection": "close"})
        after = await client.get("/")
    assert resp.body == DEFAULT_BODY
    assert resp.header("X-Proxied") == "yes"
    assert closing.header("Connection") == "close"
    assert after.status == 200
    assert client.connections == 2  # a new connection after the close
    assert origin.seen[0].header("Host") == "proxy.test"  # the client's default Host


class Hello(ServeHttp):
    async def response(self, session: HttpSession) -> tuple[ResponseHeader, bytes]:
        return ResponseHeader(200), b"from an HttpServer app"


async def test_an_in_memory_server_app_and_a_ready_made_proxy() -> None:
    async with InMemoryUpstream(HttpServer(Hello())) as upstream:
        proxy = HttpProxy(AddHeader(upstream.peer()))
        async with ProxyTestClient(proxy, host="example.org") as client:
            resp = await client.head("/")
            full = await client.get("/")
    assert resp.status == 200
    assert resp.body == b""
    assert full.body == b"from an HttpServer app"
    assert "connections=1" in repr(client)
    assert "InMemoryUpstream" in repr(upstream)


async def test_bad_input_is_refused() -> None:
    with pytest.raises(TypeError, match="ServerApp or an async handler"):
        InMemoryUpstream(42)  # type: ignore[arg-type]
    async with InMemoryUpstream(hello) as upstream:
        proxy = HttpProxy(AddHeader(upstream.peer()))
        with pytest.raises(TypeError, match="for a ProxyHttp"):
            ProxyTestClient(proxy, allow_connect=True)


async def test_a_failing_upstream_app_is_raised_when_the_upstream_closes() -> None:
    from pingora_core.apps import ServerApp
    from pingora_core.protocols.l4 import Stream
    from pingora_core.server import ShutdownWatch

    class Broken(ServerApp):
        async def process_new(self, stream: Stream, shutdown: ShutdownWatch) -> Stream | None:
            raise RuntimeError("a bug in the upstream under test")

    upstream = InMemoryUpstream(Broken())
    statuses = []
    with pytest.raises(RuntimeError, match="bug in the upstream"):
        async with upstream, ProxyTestClient(AddHeader(upstream.peer())) as client:
            statuses.append((await client.get("/")).status)
    assert statuses == [502]
