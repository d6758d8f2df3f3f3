"""The phases of a proxied request run in Pingora's order, skipped ones cost nothing, `logging`
runs exactly once whatever happens, and the short-circuits (request_filter, proxy_upstream_filter)
answer as Pingora does."""

from __future__ import annotations

from typing import Any

import pytest

from pingora_core.errors import Error, ErrorSource, ErrorType
from pingora_core.modules import HttpModule, HttpModuleBuilder, HttpModules
from pingora_core.upstreams import HttpPeer
from pingora_http import RequestHeader, ResponseHeader
from pingora_proxy import FailToProxy, HttpProxy, ProxyHttp, Session
from pingora_proxy.testing import InMemoryUpstream, ProxyTestClient

pytestmark = pytest.mark.anyio


class RecordingModule(HttpModule):
    def __init__(self, calls: list[str]) -> None:
        self.calls = calls

    async def request_header_filter(self, req: RequestHeader) -> None:
        self.calls.append("module.request_header")

    async def request_body_filter(self, body: bytes | None, end_of_stream: bool) -> bytes | None:
        self.calls.append(f"module.request_body(end={end_of_stream})")
        return body

    async def response_header_filter(self, resp: ResponseHeader, end_of_stream: bool) -> None:
        self.calls.append("module.response_header")

    async def response_body_filter(self, body: bytes | None, end_of_stream: bool) -> bytes | None:
        self.calls.append(f"module.response_body(end={end_of_stream})")
        return body

    async def response_done_filter(self) -> bytes | None:
        self.calls.append("module.response_done")
        return None


class RecordingBuilder(HttpModuleBuilder):
    def __init__(self, calls: list[str]) -> None:
        self.calls = calls

    def init(self) -> HttpModule:
        return RecordingModule(self.calls)


class Recorder(ProxyHttp[dict[str, Any]]):
    """Records every phase; `fail` maps a phase name to the exception it raises."""

    def __init__(self, peer: HttpPeer, fail: dict[str, BaseException] | None = None) -> None:
        self.peer = peer
        self.fail = fail or {}
        self.calls: list[str] = []
        self.logged: list[Error | None] = []

    def _hit(self, name: str) -> None:
        self.calls.append(name)
        if name in self.fail:
            raise self.fail[name]

    def new_ctx(self) -> dict[str, Any]:
        return {}

    def init_downstream_modules(self, modules: HttpModules) -> None:
        modules.add_module(RecordingBuilder(self.calls))

    async def upstream_peer(self, session: Session, ctx: dict[str, Any]) -> HttpPeer:
        self._hit("upstream_peer")
        return self.peer

    async def early_request_filter(self, session: Session, ctx: dict[str, Any]) -> None:
        self._hit("early_request_filter")

    async def request_filter(self, session: Session, ctx: dict[str, Any]) -> bool:
        self._hit("request_filter")
        return False

    async def request_body_filter(
        self, session: Session, body: bytes | None, end_of_stream: bool, ctx: dict[str, Any]
    ) -> bytes | None:
        self._hit(f"request_body_filter(end={end_of_stream})")
        return body

    async def proxy_upstream_filter(self, session: Session, ctx: dict[str, Any]) -> bool:
        self._hit("proxy_upstream_filter")
        return True

    async def connected_to_upstream(
        self, session: Session, reused: bool, peer: HttpPeer, digest: Any, ctx: dict[str, Any]
    ) -> None:
        self._hit("connected_to_upstream")

    async def upstream_request_filter(
        self, session: Session, upstream_request: RequestHeader, ctx: dict[str, Any]
    ) -> None:
        self._hit("upstream_request_filter")

    async def upstream_response_filter(
        self, session: Session, upstream_response: ResponseHeader, ctx: dict[str, Any]
    ) -> None:
        self._hit("upstream_response_filter")

    async def response_filter(
        self, session: Session, upstream_response: ResponseHeader, ctx: dict[str, Any]
    ) -> None:
        self._hit("response_filter")

    async def upstream_response_body_filter(
        self, session: Session, body: bytes | None, end_of_stream: bool, ctx: dict[str, Any]
    ) -> bytes | None:
        self._hit(f"upstream_response_body_filter(end={end_of_stream})")
        return body

    async def response_body_filter(
        self, session: Session, body: bytes | None, end_of_stream: bool, ctx: dict[str, Any]
    ) -> bytes | None:
        self._hit(f"response_body_filter(end={end_of_stream})")
        return body

    async def fail_to_connect(
        self, session: Session, peer: HttpPeer, ctx: dict[str, Any], error: Error
    ) -> Error:
        self._hit("fail_to_connect")
        return error

    async def fail_to_proxy(
        self, session: Session, error: Error, ctx: dict[str, Any]
    ) -> FailToProxy:
        self.calls.append("fail_to_proxy")
        return await super().fail_to_proxy(session, error, ctx)

    async def logging(self, session: Session, error: Error | None, ctx: dict[str, Any]) -> None:
        self.calls.append("logging")
        self.logged.append(error)


async def echo(req: RequestHeader, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
    return 200, [("Content-Type", "text/plain")], b"echo:" + body


SENDING = ["upstream_peer", "connected_to_upstream", "upstream_request_filter"]
BEFORE = ["early_request_filter", "module.request_header", "request_filter",
          "proxy_upstream_filter"]
RESPONSE = [
    "upstream_response_filter",
    "response_filter",
    "module.response_header",
    "upstream_response_body_filter(end=True)",
    "response_body_filter(end=True)",
    "module.response_body(end=True)",
    "module.response_done",
    "logging",
]


async def test_get_runs_every_phase_in_order() -> None:
    async with InMemoryUpstream(echo) as upstream:
        app = Recorder(upstream.peer())
        async with ProxyTestClient(app) as client:
            resp = await client.get("/a")
    assert resp.status == 200
    assert resp.body == b"echo:"
    expected = [*BEFORE, *SENDING, "module.request_body(end=True)",
                "request_body_filter(end=True)", *RESPONSE]
    assert app.calls == expected
    assert app.logged == [None]


async def test_post_body_goes_through_the_body_filters_before_the_response() -> None:
    async with InMemoryUpstream(echo) as upstream:
        app = Recorder(upstream.peer())
        async with ProxyTestClient(app) as client:
            resp = await client.post("/a", b"hello")
    assert resp.body == b"echo:hello"
    expected = [*BEFORE, *SENDING, "module.request_body(end=True)",
                "request_body_filter(end=True)", *RESPONSE]
    assert app.calls == expected


async def test_each_request_on_a_connection_is_logged_once() -> None:
    async with InMemoryUpstream(echo) as upstream:
        app = Recorder(upstream.peer())
        async with ProxyTestClient(app) as client:
            for _ in range(3):
                assert (await client.get("/")).status == 200
            assert client.connections == 1
    assert app.calls.count("logging") == 3
    assert app.calls.count("upstream_peer") == 3


class ShortCircuit(Recorder):
    async def request_filter(self, session: Session, ctx: dict[str, Any]) -> bool:
        self.calls.append("request_filter")
        await session.respond_error_with_body(403, b"no entry")
        return True


async def test_request_filter_short_circuit_answers_and_skips_the_upstream() -> None:
    async with InMemoryUpstream(echo) as upstream:
        app = ShortCircuit(upstream.peer())
        async with ProxyTestClient(app) as client:
            resp = await client.get("/")
            again = await client.get("/")
        assert upstream.connections == 0
    assert resp.status == 403
    assert resp.body == b"no entry"
    assert again.status == 403
    assert client.connections == 1  # the connection stays usable after the short-circuit
    assert app.calls[:4] == ["early_request_filter", "module.request_header", "request_filter",
                             "logging"]
    assert "upstream_peer" not in app.calls


class Declines(Recorder):
    def __init__(self, peer: HttpPeer, answer: bool) -> None:
        super().__init__(peer)
        self.answer = answer

    async def proxy_upstream_filter(self, session: Session, ctx: dict[str, Any]) -> bool:
        self.calls.append("proxy_upstream_filter")
        if self.answer:
            await session.write_response_header(ResponseHeader(204), end_of_stream=True)
        return False


async def test_proxy_upstream_filter_false_gives_502() -> None:
    async with InMemoryUpstream(echo) as upstream:
        app = Declines(upstream.peer(), answer=False)
        async with ProxyTestClient(app) as client:
            resp = await client.get("/")
        assert upstream.connections == 0
    assert resp.status == 502
    # the 502 goes through the downstream modules like any response a phase writes
    assert app.calls[-3:] == ["proxy_upstream_filter", "module.response_header", "logging"]
    assert app.logged == [None]


async def test_proxy_upstream_filter_false_keeps_a_response_it_wrote() -> None:
    async with InMemoryUpstream(echo) as upstream:
        app = Declines(upstream.peer(), answer=True)
        async with ProxyTestClient(app) as client:
            resp = await client.get("/")
    assert resp.status == 204
    # the module saw the response written by the phase
    assert "module.response_header" in app.calls


@pytest.mark.parametrize(
    ("phase", "exc", "status", "etype"),
    [
        ("early_request_filter", Error(ErrorType.HTTPStatus(429)), 429, ErrorType.HTTPStatus(429)),
        ("request_filter", ValueError("boom"), 500, ErrorType.InternalError),
        ("upstream_peer", Error(ErrorType.HTTPStatus(403)), 403, ErrorType.HTTPStatus(403)),
        ("upstream_request_filter", Error(ErrorType.HTTPStatus(400)), 400,
         ErrorType.HTTPStatus(400)),
        ("response_filter", RuntimeError("bad filter"), 500, ErrorType.InternalError),
    ],
)
async def test_a_failing_phase_is_answered_and_logged_once(
    phase: str, exc: BaseException, status: int, etype: ErrorType
) -> None:
    async with InMemoryUpstream(echo) as upstream:
        app = Recorder(upstream.peer(), fail={phase: exc})
        async with ProxyTestClient(app) as client:
            resp = await client.get("/")
    assert resp.status == status
    assert app.calls.count("logging") == 1
    assert app.calls[-1] == "logging"
    assert app.calls.count("fail_to_proxy") == 1
    error = app.logged[0]
    assert error is not None
    assert error.etype == etype
    stop = app.calls.index(phase)
    assert app.calls[stop + 1:] == ["fail_to_proxy", "logging"]


async def test_connect_failures_retry_through_upstream_peer_then_give_up() -> None:
    async with InMemoryUpstream(echo) as upstream:
        upstream.fail_connects = 100
        app = Recorder(upstream.peer())
        conf_tries = 3
        from pingora_core.server import ServerConf

        proxy = HttpProxy(app, ServerConf(max_retries=conf_tries))
        async with ProxyTestClient(proxy) as client:
            resp = await client.get("/")
    assert resp.status == 502
    assert app.calls.count("upstream_peer") == conf_tries
    assert app.calls.count("fail_to_connect") == conf_tries
    assert app.calls.count("logging") == 1
    error = app.logged[0]
    assert error is not None
    assert error.etype == ErrorType.ConnectRefused
    assert error.esource is ErrorSource.UPSTREAM


class Reusing(Recorder):
    async def fail_to_proxy(
        self, session: Session, error: Error, ctx: dict[str, Any]
    ) -> FailToProxy:
        await session.respond_error(451)
        return FailToProxy(error_code=451, can_reuse_downstream=True)


async def test_fail_to_proxy_may_keep_the_client_connection() -> None:
    async with InMemoryUpstream(echo) as upstream:
        app = Reusing(upstream.peer(), fail={"request_filter": Error(ErrorType.HTTPStatus(451))})
        async with ProxyTestClient(app) as client:
            first = await client.get("/")
            second = await client.get("/")
    assert first.status == second.status == 451
    assert client.connections == 1


class Plain(ProxyHttp[None]):
    """Overrides nothing but upstream_peer; the sync override of request_summary is adapted."""

    def __init__(self, peer: HttpPeer) -> None:
        self.peer = peer

    async def upstream_peer(self, session: Session, ctx: None) -> HttpPeer:
        return self.peer

    def request_summary(self, session: Session, ctx: None) -> str:  # type: ignore[override]
        return "custom summary"


async def test_phases_not_overridden_are_skipped_and_sync_overrides_accepted() -> None:
    async with InMemoryUpstream(echo) as upstream:
        proxy = HttpProxy(Plain(upstream.peer()))
        hooks = proxy.hooks
        assert hooks.request_filter is None
        assert hooks.logging is None
        assert hooks.response_body_filter is None
        assert hooks.overridden == {"upstream_peer", "request_summary"}
        assert await hooks.request_summary(None, None) == "custom summary"
        async with ProxyTestClient(proxy) as client:
            resp = await client.post("/x", b"body")
    assert resp.status == 200
    assert resp.body == b"echo:body"


async def test_a_cancelled_request_is_still_logged_once() -> None:
    import asyncio

    from pingora_core.apps import ServerApp
    from pingora_core.protocols.l4 import Stream
    from pingora_core.server import ShutdownTrigger, ShutdownWatch
    from pingora_core.testing import memory_stream_pair

    arrived = asyncio.Event()

    class Silent(ServerApp):
        async def process_new(self, stream: Stream, shutdown: ShutdownWatch) -> Stream | None:
            await stream.read()
            arrived.set()
            await asyncio.Event().wait()  # never answers
            return None

    async with InMemoryUpstream(Silent()) as upstream:
        app = Recorder(upstream.peer())
        proxy = HttpProxy(app)
        client, server = memory_stream_pair()
        task = asyncio.get_running_loop().create_task(
            proxy.process_new(server, ShutdownTrigger().watch)
        )
        client.write(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        await arrived.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await proxy.cleanup()
    assert app.calls.count("logging") == 1
    error = app.logged[0]
    assert error is not None
    assert error.etype == ErrorType.InternalError
