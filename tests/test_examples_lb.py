"""The load balancing examples run as real programs: each is started as a subprocess with
`--listen 127.0.0.1:0` (with its embedded origins and dead address, or in front of MockOrigins),
driven with curl over loopback and stopped with SIGTERM (or SIGINT); every wait is bounded.

Round robin over two live upstreams and a dead one alternates strictly between the live two
(the dead one is skipped, and the skip advances the counter), so the tests check the exact
alternation, not just the set of origins.
"""

from __future__ import annotations

import asyncio
import itertools
import signal
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pingora_core.testing import DEFAULT_BODY, MockOrigin, ServerProcess, start_program

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
CURL = "/usr/bin/curl"

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(not Path(CURL).exists(), reason="needs curl"),
]


@dataclass(slots=True)
class Running:
    """A running example: its address and the upstreams it announced (label -> {addr: up});
    `stderr` is complete once it has stopped."""

    program: ServerProcess
    address: str = ""
    clusters: dict[str, dict[str, bool]] = field(default_factory=dict)

    @property
    def proc(self) -> asyncio.subprocess.Process:
        return self.program.proc

    @property
    def stderr(self) -> bytearray:
        return self.program.stderr

    def url(self, path: str = "/") -> str:
        return f"http://{self.address}{path}"

    def down(self, label: str = "upstreams") -> list[str]:
        return [addr for addr, up in self.clusters[label].items() if not up]


def _parse_announcement(running: Running) -> None:
    """Read the lines the example printed once it listened (up to its `try: curl` lines)."""
    for line in running.program.lines:
        if line.startswith("listening on http://"):
            running.address = line.removeprefix("listening on http://")
        elif line.startswith("try: curl "):
            return
        elif ": " in line and running.address:
            label, _, states = line.partition(": ")
            running.clusters[label] = {
                s.split(" ")[0]: s.endswith("(up)") for s in states.split(", ")
            }
        else:
            pytest.fail(f"unexpected line {line!r}: {running.program.stderr_text()!r}")


@asynccontextmanager
async def example(name: str, *args: str, stop: signal.Signals = signal.SIGTERM
                  ) -> AsyncIterator[Running]:
    """Run examples/<name> on 127.0.0.1:0; yield it once it has announced itself; stop it with
    `stop` at the end (it must exit 0 within the bound)."""
    argv = [sys.executable, str(EXAMPLES / name), "--listen", "127.0.0.1:0", *args]
    async with start_program(argv, ready="^try: curl ", stop_signal=stop) as program:
        running = Running(program)
        _parse_announcement(running)
        yield running


@dataclass(slots=True)
class CurlResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        lower = name.lower()
        return next((v for k, v in self.headers if k.lower() == lower), None)


async def curl(url: str, *args: str) -> CurlResponse:
    """`curl -i` one URL: status, headers and body."""
    proc = await asyncio.create_subprocess_exec(
        CURL, "-sS", "-i", "--max-time", "15", *args, url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, f"curl failed ({proc.returncode}): {err.decode()}"
    head, _, body = out.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = [(k.strip(), v.strip()) for k, _, v in (ln.partition(":") for ln in lines[1:])]
    return CurlResponse(int(lines[0].split(" ")[1]), headers, body)


def dead_address() -> str:
    """A loopback port nobody listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"127.0.0.1:{port}"


def assert_alternates(names: list[str], expected: set[str]) -> None:
    assert set(names) == expected, names
    assert all(a != b for a, b in itertools.pairwise(names)), names


def peer_log(stderr: bytearray) -> list[str]:
    """The upstream addresses the example logged, one per request."""
    return [ln.rsplit(" ", 1)[-1] for ln in stderr.decode().splitlines()
            if "upstream peer is: " in ln]


# -- load_balancer --------------------------------------------------------------------------------


async def test_load_balancer_round_robin_over_the_live_origins() -> None:
    async with example("load_balancer.py") as lb:
        assert len(lb.clusters["upstreams"]) == 3
        [dead] = lb.down()  # the first health check ran before the proxy started
        names = []
        for _ in range(6):
            resp = await curl(lb.url("/"))
            assert resp.status == 200
            origin = resp.header("X-Origin")
            assert origin is not None
            assert resp.body == f"hello from {origin}\n".encode()
            names.append(origin)
        assert_alternates(names, {"origin 1", "origin 2"})
    log = lb.stderr.decode()
    assert f"{dead} becomes unhealthy" in log
    peers = peer_log(lb.stderr)
    assert len(peers) == 6  # one pick per request: never the dead one, never a retry
    assert dead not in peers


@pytest.mark.parametrize("upstream_host", [None, "example.test"])
async def test_load_balancer_in_front_of_given_upstreams(upstream_host: str | None) -> None:
    dead = dead_address()
    extra = [] if upstream_host is None else ["--upstream-host", upstream_host]
    async with (
        MockOrigin() as one,
        MockOrigin() as two,
        example("load_balancer.py", *extra, one.address, dead, two.address) as lb,
    ):
        assert lb.down() == [dead]
        for _ in range(4):
            resp = await curl(lb.url("/path?q=1"))
            assert resp.status == 200
            assert resp.body == DEFAULT_BODY
        assert one.requests == two.requests == 2
        for origin in (one, two):
            assert [r.target for r in origin.seen] == ["/path?q=1"] * 2
            hosts = {r.header("Host") for r in origin.seen}
            assert hosts == {origin.address if upstream_host is None else upstream_host}
    assert_alternates(peer_log(lb.stderr), {one.address, two.address})


async def test_load_balancer_answers_503_when_no_upstream_is_up() -> None:
    async with example("load_balancer.py", dead_address(), dead_address()) as lb:
        assert len(lb.down()) == 2
        for _ in range(2):
            resp = await curl(lb.url("/"))
            assert resp.status == 503


async def test_load_balancer_sigterm_lets_the_request_in_flight_finish() -> None:
    async with MockOrigin() as origin:
        async with example("load_balancer.py", origin.address) as lb:
            host, port = lb.address.rsplit(":", 1)
            reader, writer = await asyncio.open_connection(host, int(port))
            writer.write(b"GET /slow HTTP/1.1\r\nHost: x\r\nX-Sleep-Head: 0.5\r\n\r\n")
            await asyncio.wait_for(origin.wait_for_requests(1), 20)
            lb.proc.send_signal(signal.SIGTERM)  # the context manager's SIGTERM comes later
            response = await asyncio.wait_for(reader.read(), 20)  # until the proxy closes
            writer.close()
            assert await asyncio.wait_for(lb.proc.wait(), 20) == 0
        assert response.startswith(b"HTTP/1.1 200 ")
        assert response.endswith(b"\r\n\r\n" + DEFAULT_BODY)


async def test_load_balancer_stops_at_once_on_sigint() -> None:
    async with example("load_balancer.py", stop=signal.SIGINT) as lb:
        assert (await curl(lb.url("/"))).status == 200


async def test_load_balancer_refuses_a_bad_upstream_address() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(EXAMPLES / "load_balancer.py"), "not-an-address:80",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 2
    assert out == b""
    assert b"invalid backend address 'not-an-address:80'" in err
    assert b"Traceback" not in err


# -- multi_lb -------------------------------------------------------------------------------------


async def test_multi_lb_routes_by_path_prefix() -> None:
    async with example("multi_lb.py") as lb:
        assert set(lb.clusters) == {"api upstreams", "web upstreams"}
        assert len(lb.down("api upstreams")) == 1
        assert len(lb.down("web upstreams")) == 1
        api = [await curl(lb.url(p)) for p in ("/api", "/api/users", "/api/", "/api/x?y=1")]
        web = [await curl(lb.url(p)) for p in ("/", "/apix", "/web/api", "/index.html")]
        for resp in api + web:
            assert resp.status == 200
            assert resp.body == f"hello from {resp.header('X-Origin')}\n".encode()
        assert_alternates([r.header("X-Origin") or "" for r in api], {"api 1", "api 2"})
        assert_alternates([r.header("X-Origin") or "" for r in web], {"web 1", "web 2"})
    dead = lb.down("api upstreams") + lb.down("web upstreams")
    peers = peer_log(lb.stderr)
    assert len(peers) == 8
    assert not set(peers) & set(dead)


async def test_multi_lb_in_front_of_given_upstreams() -> None:
    async with (
        MockOrigin() as api,
        MockOrigin() as web,
        example("multi_lb.py", "--api", api.address, "--web", web.address) as lb,
    ):
        assert lb.clusters == {"api upstreams": {api.address: True},
                               "web upstreams": {web.address: True}}
        for path in ("/api/v1/users", "/", "/api", "/about"):
            assert (await curl(lb.url(path))).status == 200
        assert [r.target for r in api.seen] == ["/api/v1/users", "/api"]
        assert [r.target for r in web.seen] == ["/", "/about"]
