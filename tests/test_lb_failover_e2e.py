"""Failover end to end, in one process over loopback: three origins (our `HttpServer`, each in
its own `Server` on 127.0.0.1), a proxy whose `upstream_peer` picks from a `LoadBalancer`
(round robin, TCP health check) and fails over as Pingora's guide describes: `fail_to_connect`
marks the error retryable and `upstream_peer` skips the backends this request already tried
(idempotent GETs are also retried after an error on the connection).

Checked: a killed origin costs no client an error; it gets no traffic once a health check round
that started after the kill has run (so within two rounds); an origin bound again on the same
port gets traffic once it is seen healthy; a backend disabled with `set_enable(False)` finishes
its in-flight request and gets no new ones; with every backend down the client gets a clean
502 (before the health check knows) or 503 (after). Waits are on health check rounds and
events, each bounded; no sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field

import anyio
import pytest

from pingora_core.apps.http_server import HttpServer, ServeHttp
from pingora_core.errors import Error, ErrorType
from pingora_core.protocols.http.v1.server import HttpSession
from pingora_core.server import Server, ServerConf, ShutdownSignal
from pingora_core.services import Service, background_service
from pingora_core.upstreams import HttpPeer, PeerOptions
from pingora_http import ResponseHeader
from pingora_load_balancing import (
    Backend,
    Backends,
    LoadBalancer,
    RoundRobin,
    Static,
    TcpHealthCheck,
)
from pingora_proxy import ProxyHttp, Session, http_proxy_service

pytestmark = pytest.mark.anyio

TIMEOUT = 10.0
FREQUENCY = 0.2  # seconds between health check rounds in the background
CONF = ServerConf(grace_period_seconds=1, graceful_shutdown_timeout_seconds=1)


# -- origins --------------------------------------------------------------------------------------


@dataclass(slots=True)
class Gate:
    """Holds `/slow` requests: `entered` gets the origin's name, `release` lets them finish."""

    entered: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    release: asyncio.Event = field(default_factory=asyncio.Event)


class NamedOrigin(ServeHttp):
    """Answers "hello from NAME" (and `X-Origin: NAME`); counts the requests it got."""

    def __init__(self, name: str, gate: Gate) -> None:
        self.name = name
        self.gate = gate
        self.requests = 0

    async def response(self, session: HttpSession) -> tuple[ResponseHeader, bytes]:
        self.requests += 1
        if session.req_header.path == "/slow":
            self.gate.entered.put_nowait(self.name)
            await self.gate.release.wait()
        header = ResponseHeader(200)
        header.append_header("X-Origin", self.name)
        return header, f"hello from {self.name}".encode()


class Origin:
    """A `NamedOrigin` served by its own Server until `kill()` (a fast shutdown: listening
    socket closed, open connections reset)."""

    def __init__(self, app: NamedOrigin, address: str) -> None:
        self.app = app
        self.server = Server(conf=CONF)
        self.service = Service(app.name, HttpServer(app))
        self.service.add_tcp(address)
        self.handle = self.server.add_service(self.service)
        self.task: asyncio.Task[None] | None = None

    @property
    def address(self) -> str:
        return self.service.bound_addresses()[0]

    @property
    def backend(self) -> Backend:
        return Backend(self.address)

    async def start(self) -> Origin:
        self.task = asyncio.create_task(self.server.run())
        with anyio.fail_after(TIMEOUT):
            await self.handle.wait_ready()
        if self.task.done():
            self.task.result()  # a failed bind raises here
        return self

    async def kill(self) -> None:
        if self.task is None or self.task.done():
            return
        self.server.request_shutdown(ShutdownSignal.FAST_SHUTDOWN)
        await asyncio.wait_for(self.task, TIMEOUT)


async def start_origin(stack: AsyncExitStack, name: str, gate: Gate,
                       address: str = "127.0.0.1:0") -> Origin:
    origin = await Origin(NamedOrigin(name, gate), address).start()
    stack.push_async_callback(origin.kill)
    return origin


# -- the load balancer and the proxy ---------------------------------------------------------------


class CountingLB(LoadBalancer):
    """A LoadBalancer that counts its finished health check rounds, to wait on them."""

    def __init__(self, backends: Backends, selection: type[RoundRobin] = RoundRobin) -> None:
        super().__init__(backends, selection)
        self.rounds = 0
        self._round_done = asyncio.Event()

    async def run_health_check(self) -> None:
        await super().run_health_check()
        self.rounds += 1
        self._round_done.set()
        self._round_done = asyncio.Event()

    async def wait_rounds(self, rounds: int) -> None:
        """Return once `rounds` rounds have finished in all."""
        with anyio.fail_after(TIMEOUT):
            while self.rounds < rounds:
                await self._round_done.wait()


@dataclass(slots=True)
class Ctx:
    tried: list[Backend] = field(default_factory=list)


class FailoverProxy(ProxyHttp[Ctx]):
    """Round robin with failover; records every pick and every connect failure."""

    def __init__(self, lb: LoadBalancer) -> None:
        self.lb = lb
        self.picks: list[Backend] = []
        self.connect_failures: list[str] = []

    def new_ctx(self) -> Ctx:
        return Ctx()

    async def upstream_peer(self, session: Session, ctx: Ctx) -> HttpPeer:
        tried = ctx.tried
        backend = self.lb.select_with(b"", 256, lambda b, ready: ready and b not in tried)
        if backend is None:
            raise Error.explain(ErrorType.HTTPStatus(503), "no healthy upstream left")
        tried.append(backend)
        self.picks.append(backend)
        return HttpPeer(backend.addr, options=PeerOptions(connection_timeout=TIMEOUT / 2))

    async def fail_to_connect(
        self, session: Session, peer: HttpPeer, ctx: Ctx, error: Error
    ) -> Error:
        self.connect_failures.append(peer.address)
        # nothing was sent: try the next backend while there is one this request has not tried
        error.set_retry(len(ctx.tried) < len(self.lb.backends.get_backend()))
        return error

    async def error_while_proxy(
        self, peer: HttpPeer, session: Session, error: Error, ctx: Ctx, client_reused: bool
    ) -> Error:
        error = await super().error_while_proxy(peer, session, error, ctx, client_reused)
        if session.req_header.method in ("GET", "HEAD"):  # idempotent: safe to send again
            error.set_retry(len(ctx.tried) < len(self.lb.backends.get_backend()))
        return error


@asynccontextmanager
async def proxy_for(origins: list[Origin], *, background: bool) -> AsyncIterator[
        tuple[str, FailoverProxy, CountingLB]]:
    """Run a FailoverProxy over `origins` in a Server; the load balancer's health checks run
    in the background every FREQUENCY seconds when `background`, else only when the test
    calls `run_health_check()`. Yields (proxy address, app, load balancer)."""
    lb = CountingLB(Backends(Static.from_addresses(o.address for o in origins)))
    await lb.update()
    lb.set_health_check(TcpHealthCheck(connection_timeout=TIMEOUT / 2))
    lb.health_check_frequency = FREQUENCY
    app = FailoverProxy(lb)
    server = Server(conf=CONF)
    proxy = http_proxy_service(server.configuration, app)
    proxy.add_tcp("127.0.0.1:0")
    proxy_handle = server.add_service(proxy)
    if background:
        health = server.add_service(background_service("health check", lb))
        proxy_handle.add_dependency(health)
    task = asyncio.create_task(server.run())
    try:
        with anyio.fail_after(TIMEOUT):
            await proxy_handle.wait_ready()
        assert not task.done(), task
        yield proxy.bound_addresses()[0], app, lb
    finally:
        server.request_shutdown(ShutdownSignal.FAST_SHUTDOWN)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, TIMEOUT)


# -- a small HTTP/1.1 client ---------------------------------------------------------------------


@dataclass(slots=True)
class Response:
    status: int
    origin: str | None
    body: bytes


async def get(address: str, path: str = "/") -> Response:
    """One GET with `Connection: close`; the whole response, read until EOF."""
    host, port = address.rsplit(":", 1)
    with anyio.fail_after(TIMEOUT):
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            request = f"GET {path} HTTP/1.1\r\nHost: lb.test\r\nConnection: close\r\n\r\n"
            writer.write(request.encode())
            data = await reader.read(-1)
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    origin = None
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "x-origin":
            origin = value.strip()
    return Response(int(lines[0].split(" ")[1]), origin, body)


async def get_ok(address: str, n: int, path: str = "/") -> list[str]:
    """`n` GETs one after the other; each must be a 200 from a named origin. Their origins."""
    names = []
    for _ in range(n):
        resp = await get(address, path)
        assert resp.status == 200, resp
        assert resp.origin is not None
        assert resp.body == f"hello from {resp.origin}".encode()
        names.append(resp.origin)
    return names


def assert_alternates(names: list[str], expected: set[str]) -> None:
    assert set(names) == expected, names
    assert all(a != b for a, b in itertools.pairwise(names)), names


# -- tests ----------------------------------------------------------------------------------------


async def test_failover_on_connect_failure_before_the_health_check_knows() -> None:
    gate = Gate()
    async with AsyncExitStack() as stack:
        a, b, c = [await start_origin(stack, name, gate) for name in ("a", "b", "c")]
        async with proxy_for([a, b, c], background=False) as (address, app, lb):
            first = await get_ok(address, 3)
            assert sorted(first) == ["a", "b", "c"]  # round robin: each once

            await b.kill()
            app.picks.clear()
            names = await get_ok(address, 6)  # b is still "healthy": picked, then skipped
            assert set(names) == {"a", "c"}
            assert b.backend in app.picks
            assert len(app.picks) > 6  # the picks of b were retried elsewhere

            await lb.run_health_check()
            assert not lb.backends.ready(b.backend)
            app.picks.clear()
            assert_alternates(await get_ok(address, 6), {"a", "c"})
            assert b.backend not in app.picks
            assert len(app.picks) == 6  # no retries any more

            b2 = await start_origin(stack, "b again", gate, b.address)  # the same port
            await lb.run_health_check()
            assert lb.backends.ready(b.backend)
            assert sorted(await get_ok(address, 3)) == ["a", "b again", "c"]
            assert b2.app.requests == 1


async def test_dead_origin_dropped_within_two_rounds_and_back_once_healthy() -> None:
    gate = Gate()
    async with AsyncExitStack() as stack:
        a, b, c = [await start_origin(stack, name, gate) for name in ("a", "b", "c")]
        async with proxy_for([a, b, c], background=True) as (address, app, lb):
            assert lb.rounds >= 1  # the proxy started after the first round
            assert sorted(await get_ok(address, 3)) == ["a", "b", "c"]

            await b.kill()
            killed_at = lb.rounds  # a round running now may have seen b alive
            assert set(await get_ok(address, 3)) <= {"a", "c"}  # failover meanwhile
            await lb.wait_rounds(killed_at + 2)  # the second one surely started after the kill
            status = lb.backends.health(b.backend)
            assert status is not None
            assert not status.healthy
            app.picks.clear()
            assert_alternates(await get_ok(address, 6), {"a", "c"})
            assert b.backend not in app.picks

            b2 = await start_origin(stack, "b again", gate, b.address)
            revived_at = lb.rounds
            await lb.wait_rounds(revived_at + 2)
            assert lb.backends.ready(b.backend)
            names = await get_ok(address, 6)
            assert set(names) == {"a", "b again", "c"}
            assert b2.app.requests == names.count("b again") >= 1


async def test_disabled_backend_finishes_in_flight_and_gets_no_new_requests() -> None:
    gate = Gate()
    async with AsyncExitStack() as stack:
        origins = [await start_origin(stack, name, gate) for name in ("a", "b", "c")]
        by_name = {o.app.name: o for o in origins}
        async with proxy_for(origins, background=True) as (address, app, lb):
            slow = asyncio.create_task(get(address, "/slow"))
            with anyio.fail_after(TIMEOUT):
                name = await gate.entered.get()
            busy = by_name[name]
            lb.backends.set_enable(busy.backend, False)

            others = {o.app.name for o in origins} - {name}
            app.picks.clear()
            assert_alternates(await get_ok(address, 6), others)
            assert busy.backend not in app.picks
            assert busy.app.requests == 1  # only the slow one
            assert not slow.done()
            round_now = lb.rounds
            await lb.wait_rounds(round_now + 1)  # health checks do not re-enable it
            assert not lb.backends.ready(busy.backend)

            gate.release.set()
            resp = await asyncio.wait_for(slow, TIMEOUT)
            assert (resp.status, resp.origin) == (200, name)

            lb.backends.set_enable(busy.backend, True)
            assert sorted(await get_ok(address, 3)) == ["a", "b", "c"]


async def test_every_backend_down_answers_502_then_503() -> None:
    gate = Gate()
    async with AsyncExitStack() as stack:
        origins = [await start_origin(stack, name, gate) for name in ("a", "b", "c")]
        async with proxy_for(origins, background=False) as (address, app, lb):
            for origin in origins:
                await origin.kill()
            resp = await get(address)
            assert resp.status == 502  # each backend tried once, then given up
            assert sorted(app.connect_failures) == sorted(o.address for o in origins)

            await lb.run_health_check()
            app.picks.clear()
            resp = await get(address)
            assert resp.status == 503
            assert app.picks == []
