"""The pingora-proxy examples run as real programs: each is started as a subprocess on port 0
(with its embedded origin, or in front of a MockOrigin), driven with curl over loopback and
stopped with SIGTERM; every wait is bounded.

ctx, gateway, modify_response, rate_limiter, backoff_retry and use_module live here;
connection_filter and websocket_proxy in test_examples_proxy_net.py.
"""

from __future__ import annotations

import asyncio
import sys
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from pingora_core.testing import DEFAULT_BODY, MockOrigin, ServerProcess, start_program

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
CURL = "/usr/bin/curl"

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(not Path(CURL).exists(), reason="needs curl"),
]


def example(name: str, *args: str) -> AbstractAsyncContextManager[ServerProcess]:
    """Run examples/<name> with `--port 0` until the block ends (SIGTERM: it must exit 0)."""
    return start_program([sys.executable, str(EXAMPLES / name), "--port", "0", *args])


@dataclass(slots=True)
class CurlResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        lower = name.lower()
        return next((v for k, v in self.headers if k.lower() == lower), None)


async def curl(url: str, *args: str) -> CurlResponse:
    """`curl -i` one URL; the last (final) response's status, headers and body."""
    proc = await asyncio.create_subprocess_exec(
        CURL, "-sS", "-i", "--max-time", "15", *args, url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, f"curl failed ({proc.returncode}): {err.decode()}"
    while True:
        head, _, rest = out.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        if status >= 200 or status == 101:
            break
        out = rest
    headers = [(k.strip(), v.strip()) for k, _, v in (ln.partition(":") for ln in lines[1:])]
    return CurlResponse(status, headers, rest)


# -- ctx ------------------------------------------------------------------------------------------


async def test_ctx_counts_requests_and_routes_beta_users() -> None:
    async with example("ctx.py") as proxy:
        first = await curl(proxy.url("/a"))
        assert first.status == 200
        assert first.body == b"hello from the main origin, path /a\n"
        assert first.header("X-Request-Number") == "1"
        assert first.header("X-Beta-Number") is None
        beta = await curl(proxy.url("/b"), "-H", "beta-flag: 1")
        assert beta.body == b"hello from the beta origin, path /b\n"
        assert beta.header("X-Request-Number") == "2"
        assert beta.header("X-Beta-Number") == "1"
        again = await curl(proxy.url("/c"), "-H", "beta-flag: yes")
        assert again.header("X-Request-Number") == "3"
        assert again.header("X-Beta-Number") == "2"
        assert (await curl(proxy.url("/d"))).header("X-Request-Number") == "4"


async def test_ctx_in_front_of_given_upstreams() -> None:
    async with (
        MockOrigin() as main,
        MockOrigin() as beta,
        example("ctx.py", "--upstream", main.address, "--beta-upstream", beta.address) as proxy,
    ):
        assert (await curl(proxy.url("/"))).body == DEFAULT_BODY
        assert (await curl(proxy.url("/beta"), "-H", "beta-flag: 1")).status == 200
        assert [r.target for r in main.seen] == ["/"]
        assert [r.target for r in beta.seen] == ["/beta"]


# -- gateway --------------------------------------------------------------------------------------


async def test_gateway_auth_routing_headers_and_logs() -> None:
    async with example("gateway.py") as gateway:
        resp = await curl(gateway.url("/"))
        assert resp.status == 200
        assert resp.body == b"hello from the default origin, path /\n"
        assert resp.header("Server") == "MyGateway"
        assert resp.header("alt-svc") is None
        assert [v for k, v in resp.headers if k.lower() == "server"] == ["MyGateway"]

        resp = await curl(gateway.url("/family/photos"))
        assert resp.body == b"hello from the family origin, path /family/photos\n"
        assert resp.header("Server") == "MyGateway"

        refused = await curl(gateway.url("/login/"), "-H", "Authorization: bad")
        assert refused.status == 403
        refused = await curl(gateway.url("/login/"))
        assert refused.status == 403
        allowed = await curl(gateway.url("/login/"), "-H", "Authorization: password")
        assert allowed.status == 200
        assert allowed.body == b"hello from the default origin, path /login/\n"
    lines = [ln for ln in gateway.stderr.decode().splitlines() if "response code:" in ln]
    assert len(lines) == 5  # one per request, refused ones included
    assert [ln.rsplit(" ", 1)[-1] for ln in lines] == ["200", "200", "403", "403", "200"]
    assert "GET /family/photos" in lines[1]


async def test_gateway_in_front_of_given_upstreams() -> None:
    async with (
        MockOrigin() as default,
        MockOrigin() as family,
        example("gateway.py", "--upstream", default.address, "--family-upstream", family.address)
        as gateway,
    ):
        resp = await curl(gateway.url("/family/"), "-H", "X-Set-Header: alt-svc: h3=\":443\"")
        assert resp.status == 200
        assert resp.header("alt-svc") is None
        assert resp.header("Server") == "MyGateway"
        assert (await curl(gateway.url("/"))).body == DEFAULT_BODY
        assert [r.target for r in family.seen] == ["/family/"]
        assert [r.target for r in default.seen] == ["/"]


# -- modify_response ------------------------------------------------------------------------------


async def test_modify_response_turns_json_into_yaml() -> None:
    async with example("modify_response.py") as proxy:
        resp = await curl(proxy.url("/whoami"))
        assert resp.status == 200
        assert resp.header("Content-Type") == "application/yaml"
        assert resp.header("Content-Length") is None  # re-framed: the new size was unknown
        assert (resp.header("Transfer-Encoding") or "").lower() == "chunked"
        assert resp.body.startswith(b"ip: ")
        assert yaml.safe_load(resp.body) == {
            "ip": "127.0.0.1",
            "host": "ip.json.test",
            "path": "/whoami",
        }


async def test_modify_response_passes_other_bodies_through() -> None:
    async with MockOrigin() as origin, example(
        "modify_response.py", "--upstream", origin.address
    ) as proxy:
        resp = await curl(proxy.url("/"))
        assert resp.body == DEFAULT_BODY
        assert resp.header("Content-Type") == "text/plain"
        resp = await curl(
            proxy.url("/echo"), "-H", "Content-Type: application/json",
            "--data-binary", '{"a": [1, 2], "b": {"c": "d"}}',
        )
        assert resp.header("Content-Type") == "application/yaml"
        assert yaml.safe_load(resp.body) == {"a": [1, 2], "b": {"c": "d"}}
        assert origin.seen[-1].header("Host") == "ip.json.test"


# -- rate_limiter ---------------------------------------------------------------------------------


async def test_rate_limiter_answers_429_over_the_limit() -> None:
    # a long window: every request of the test falls in the same one
    async with example("rate_limiter.py", "--limit", "2", "--window", "600") as proxy:
        for _ in range(2):
            assert (await curl(proxy.url("/"), "-H", "appid: 1")).status == 200
        limited = await curl(proxy.url("/"), "-H", "appid: 1")
        assert limited.status == 429
        assert limited.header("X-Rate-Limit-Limit") == "2"
        assert limited.header("X-Rate-Limit-Remaining") == "0"
        assert limited.header("X-Rate-Limit-Reset") == "600"
        assert (limited.header("Connection") or "").lower() == "close"
        assert limited.body == b""
        assert (await curl(proxy.url("/"), "-H", "appid: 1")).status == 429
        # another client has its own budget; requests without appid are not limited
        assert (await curl(proxy.url("/"), "-H", "appid: 2")).status == 200
        for _ in range(4):
            resp = await curl(proxy.url("/"))
            assert resp.status == 200
            assert resp.body == b"hello from the origin\n"


async def test_rate_limiter_defaults_to_one_request_per_second() -> None:
    async with MockOrigin() as origin, example(
        "rate_limiter.py", "--upstream", origin.address
    ) as proxy:
        # two requests in a row: either the second lands in the same window (429) or the
        # window turned in between (200) -- never both limited
        statuses = [(await curl(proxy.url("/"), "-H", "appid: x")).status for _ in range(2)]
        assert statuses[0] == 200
        assert statuses[1] in (200, 429)
        assert origin.requests == statuses.count(200)


# -- backoff_retry --------------------------------------------------------------------------------


async def test_backoff_retry_moves_on_to_the_live_peer() -> None:
    async with example("backoff_retry.py") as proxy:
        resp = await curl(proxy.url("/"))
        assert resp.status == 200
        assert resp.body == b"hello from the origin that is up\n"
        assert resp.header("X-Retries") == "1"
    log = proxy.stderr.decode()
    assert "attempt 1 to 127.0.0.1:" in log
    assert "sleeping for 0.010 s before attempt 2" in log


async def test_backoff_retry_gives_up_after_max_retries(tmp_path: Path) -> None:
    conf = tmp_path / "conf.yaml"
    conf.write_text("version: 1\nmax_retries: 3\n")
    async with MockOrigin() as gone:
        dead = gone.address  # nothing listens there any more
    async with example(
        "backoff_retry.py", "--conf", str(conf), "--upstream", dead, "--max-sleep", "0.05"
    ) as proxy:
        resp = await curl(proxy.url("/"))
        assert resp.status == 502
    log = proxy.stderr.decode()
    assert "attempt 3 to" in log
    assert "attempt 4 to" not in log


# -- use_module -----------------------------------------------------------------------------------


async def test_use_module_acl() -> None:
    async with MockOrigin() as origin, example("use_module.py", "--upstream", origin.address) as p:
        assert (await curl(p.url("/"))).status == 403
        assert (await curl(p.url("/"), "-H", "Authorization: basic wrong")).status == 403
        ok = await curl(p.url("/"), "-H", "Authorization: basic testcode")
        assert ok.status == 200
        assert ok.body == DEFAULT_BODY
        assert origin.requests == 1  # the refused requests never reached the origin


async def test_use_module_embedded_origin_and_credential() -> None:
    async with example("use_module.py", "--credential", "s3cret") as proxy:
        assert (await curl(proxy.url("/"), "-H", "Authorization: basic testcode")).status == 403
        ok = await curl(proxy.url("/"), "-H", "Authorization: basic s3cret")
        assert ok.status == 200
        assert ok.body == b"hello from behind the ACL\n"
