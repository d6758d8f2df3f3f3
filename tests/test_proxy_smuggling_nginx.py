"""Request smuggling attempts through our proxy to a real nginx origin.

Each row of `CASES` is one desync attempt (CL.TE, TE.CL, TE.TE with obfuscated
Transfer-Encoding, Content-Length tricks, chunk-size tricks, header-name and line-ending tricks)
as the raw bytes a client sends. Per row and per HTTP/1 backend of our proxy, the test starts a
fresh nginx origin (temporary prefix, `daemon off`, one worker, a listening socket on
127.0.0.1:0 handed over through nginx's `NGINX` environment variable) that answers every request
with `200 "$request_method $request_uri $content_length"` and logs each request it sees as one
JSON line; and our proxy in-process on 127.0.0.1:0, whose `upstream_request_filter` records
every request it sends upstream. The client (a raw asyncio socket) sends the bytes, half-closes,
and reads until the proxy closes. Then the proxy and nginx are stopped (so every request nginx
saw is in its log) and:

- always: the proxy closed the connection within the timeout; the requests nginx logged are
  exactly the ones the proxy sent, in order (same method and target), so no request the proxy
  did not see reached the origin; no `/smuggled` request appears in the origin's log;
- "reject": the proxy answered one error (4xx, or 501/505 for a coding or version it does not
  implement) and closed; nothing was forwarded;
- "forward": the request(s) were normalised and forwarded: the client got the origin's answer
  for each expected target, in order, and nginx accepted each (status 200);
- "abort": the head was forwarded but the body framing turned out bad (or cut short) while it
  streamed: the exchange was aborted; at most that one request reached the origin and the
  client got no answer from the origin for anything after it.

Skipped (with the reason) when nginx is not installed; CI installs it.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import os
import shutil
import signal
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

import anyio
import pytest

from pingora_core.protocols.http.v1.settings import H1ServerSettings
from pingora_core.server import Server, ServerConf, ShutdownSignal
from pingora_core.services import Service
from pingora_core.testing import serving
from pingora_core.upstreams import HttpPeer
from pingora_http import RequestHeader
from pingora_proxy import HttpProxy, ProxyHttp, Session

NGINX: Final = shutil.which("nginx") or "/usr/sbin/nginx"
TIMEOUT: Final = 10.0
REJECT_STATUSES: Final = frozenset(range(400, 500)) | {501, 505}
READY: Final = "/__ready"
BACKENDS: Final = ["h11"] + (["httptools"] if importlib.util.find_spec("httptools") else [])

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(
        not os.access(NGINX, os.X_OK), reason=f"nginx is not installed ({NGINX} not found)"
    ),
]

NGINX_CONF: Final = """\
daemon off;
master_process on;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;
events {{ worker_connections 64; }}
http {{
    log_format seen escape=json
        '{{"method":"$request_method","uri":"$request_uri","cl":"$content_length",'
        '"length":"$request_length","status":"$status"}}';
    access_log {prefix}/access.log seen;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location / {{ return 200 "$request_method $request_uri $content_length\\n"; }}
    }}
}}
"""


# -- the cases -------------------------------------------------------------------------------------

Outcome = Literal["reject", "forward", "abort"]
SMUGGLED: Final = b"GET /smuggled HTTP/1.1\r\nHost: origin\r\n\r\n"


@dataclass(frozen=True, slots=True, kw_only=True)
class Case:
    """One attempt: the raw bytes and what the proxy must do with them."""

    name: str
    raw: bytes
    outcome: Outcome
    targets: tuple[str, ...] = ()  # "forward": the targets the origin must answer, in order


def post(*headers: str, body: bytes = b"", target: str = "/case", version: str = "1.1") -> bytes:
    """A POST head with `headers` (raw lines, sent as written) and `body` after it."""
    lines = [f"POST {target} HTTP/{version}", "Host: origin", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


CHUNKED_HELLO: Final = b"5\r\nhello\r\n0\r\n\r\n"
# A chunked body that ends early, then a request: read by Content-Length instead, it swallows it.
TE_CL_BODY: Final = b"0\r\n\r\n" + SMUGGLED
# What a Content-Length reader takes as a 4-byte body while a chunked reader sees one big chunk
# holding a request, then the last chunk.
_INNER: Final = b"GPOST /smuggled HTTP/1.1\r\nHost: origin\r\nContent-Length: 15\r\n\r\nx="
TE_CL_CHUNK: Final = b"%x\r\n" % len(_INNER) + _INNER + b"\r\n0\r\n\r\n"


def te(value: str, *more: str, body: bytes = CHUNKED_HELLO) -> bytes:
    return post(f"Transfer-Encoding:{value}", *more, body=body)


CASES: Final = [
    # CL.TE and TE.CL: both framings present; Transfer-Encoding wins, Content-Length goes,
    # and the connection closes after the request, so the rest is never read as a request.
    Case(name="cl-te", raw=post(f"Content-Length: {len(TE_CL_BODY)}", "Transfer-Encoding: chunked",
                                body=TE_CL_BODY), outcome="forward", targets=("/case",)),
    Case(name="te-cl", raw=post("Transfer-Encoding: chunked", "Content-Length: 4",
                                body=TE_CL_CHUNK), outcome="forward", targets=("/case",)),
    Case(name="cl-te-cl-zero", raw=post("Content-Length: 0", "Transfer-Encoding: chunked",
                                        body=TE_CL_BODY), outcome="forward", targets=("/case",)),
    # TE.TE: obfuscated Transfer-Encoding, refused rather than guessed at.
    Case(name="te-xchunked", raw=te(" xchunked", "Content-Length: 17"), outcome="reject"),
    Case(name="te-space-before-colon", raw=post("Transfer-Encoding : chunked",
                                                "Content-Length: 17", body=CHUNKED_HELLO),
         outcome="reject"),
    Case(name="te-chunked-then-x", raw=te(" chunked", "Transfer-Encoding: x"), outcome="reject"),
    Case(name="te-x-then-chunked", raw=te(" x", "Transfer-Encoding: chunked"), outcome="reject"),
    Case(name="te-chunked-twice", raw=te(" chunked", "Transfer-Encoding: chunked"),
         outcome="reject"),
    Case(name="te-list-chunked-chunked", raw=te(" chunked, chunked"), outcome="reject"),
    Case(name="te-identity-chunked", raw=te(" identity, chunked"), outcome="reject"),
    Case(name="te-chunked-identity", raw=te(" chunked, identity"), outcome="reject"),
    Case(name="te-gzip-chunked", raw=te(" gzip, chunked"), outcome="reject"),
    Case(name="te-quoted", raw=te(' "chunked"'), outcome="reject"),
    Case(name="te-param", raw=te(" chunked;q=1"), outcome="reject"),
    Case(name="te-vertical-tab", raw=te(" \x0bchunked"), outcome="reject"),
    Case(name="te-form-feed", raw=te(" chunked\x0c"), outcome="reject"),
    Case(name="te-nul-in-value", raw=te(" chunked\x00"), outcome="reject"),
    Case(name="te-empty", raw=te("", "Content-Length: 17"), outcome="reject"),
    Case(name="te-obs-fold", raw=post("Transfer-Encoding:", " chunked", body=CHUNKED_HELLO),
         outcome="reject"),
    Case(name="te-obs-fold-after-other", raw=post("X-Pad: a", " Transfer-Encoding: chunked",
                                                  "Content-Length: 17", body=CHUNKED_HELLO),
         outcome="reject"),
    Case(name="te-http10", raw=post("Transfer-Encoding: chunked", body=CHUNKED_HELLO,
                                    version="1.0"), outcome="reject"),
    Case(name="te-name-tab-before-colon", raw=post("Transfer-Encoding\t: chunked",
                                                  body=CHUNKED_HELLO), outcome="reject"),
    Case(name="te-name-with-nul", raw=post("Transfer-Encoding\x00: chunked",
                                           body=CHUNKED_HELLO), outcome="reject"),
    # TE spellings that do mean chunked: normalised, the body re-framed for the origin.
    Case(name="te-uppercase", raw=te(" CHUNKED"), outcome="forward", targets=("/case",)),
    Case(name="te-mixed-case-name", raw=post("tRaNsFeR-eNcOdInG: chunked", body=CHUNKED_HELLO),
         outcome="forward", targets=("/case",)),
    Case(name="te-tab-value", raw=te("\tchunked"), outcome="forward", targets=("/case",)),
    Case(name="te-no-space", raw=te("chunked"), outcome="forward", targets=("/case",)),
    Case(name="te-trailing-space", raw=te(" chunked  "), outcome="forward", targets=("/case",)),
    # An underscore name is a different (unknown) field, not Transfer-Encoding, for both hops.
    Case(name="te-underscore-name", raw=post("Transfer_Encoding: chunked",
                                             f"Content-Length: {len(TE_CL_BODY)}",
                                             body=TE_CL_BODY), outcome="forward",
         targets=("/case",)),
    # Content-Length tricks.
    Case(name="cl-duplicate-same", raw=post("Content-Length: 5", "Content-Length: 5",
                                            body=b"hello"), outcome="reject"),
    Case(name="cl-duplicate-different",
         raw=post("Content-Length: 0", f"Content-Length: {len(SMUGGLED)}", body=SMUGGLED),
         outcome="reject"),
    Case(name="cl-list", raw=post("Content-Length: 5, 5", body=b"hello"), outcome="reject"),
    Case(name="cl-case-duplicate", raw=post("Content-Length: 0", f"content-length: {len(SMUGGLED)}",
                                            body=SMUGGLED), outcome="reject"),
    Case(name="cl-plus", raw=post("Content-Length: +5", body=b"hello"), outcome="reject"),
    Case(name="cl-minus", raw=post("Content-Length: -5", body=b"hello"), outcome="reject"),
    Case(name="cl-hex", raw=post("Content-Length: 0x5", body=b"hello"), outcome="reject"),
    Case(name="cl-decimal-point", raw=post("Content-Length: 5.0", body=b"hello"),
         outcome="reject"),
    Case(name="cl-exponent", raw=post("Content-Length: 5e0", body=b"hello"), outcome="reject"),
    Case(name="cl-inner-space", raw=post("Content-Length: 1 0", body=b"0123456789"),
         outcome="reject"),
    Case(name="cl-empty", raw=post("Content-Length:", body=b"hello"), outcome="reject"),
    Case(name="cl-too-many-digits", raw=post("Content-Length: 1" + "0" * 19, body=b"hello"),
         outcome="reject"),
    Case(name="cl-space-before-colon", raw=post(f"Content-Length : {len(SMUGGLED)}", body=SMUGGLED),
         outcome="reject"),
    Case(name="cl-nul", raw=post("Content-Length: 5\x00", body=b"hello"), outcome="reject"),
    Case(name="cl-leading-zeros", raw=post("Content-Length: 0005", body=b"hello"),
         outcome="forward", targets=("/case",)),
    Case(name="cl-surrounding-space", raw=post("Content-Length:   5  ", body=b"hello"),
         outcome="forward", targets=("/case",)),
    Case(name="cl-tab", raw=post("Content-Length:\t5", body=b"hello"), outcome="forward",
         targets=("/case",)),
    Case(name="cl-body-holds-request", raw=post(f"Content-Length: {len(SMUGGLED)}", body=SMUGGLED),
         outcome="forward", targets=("/case",)),
    Case(name="cl-get-body-holds-request",
         raw=b"GET /case HTTP/1.1\r\nHost: origin\r\nContent-Length: %d\r\n\r\n%s"
         % (len(SMUGGLED), SMUGGLED),
         outcome="forward", targets=("/case",)),
    Case(name="cl-longer-than-sent", raw=post("Content-Length: 100", body=SMUGGLED),
         outcome="abort"),
    # Chunk-size tricks (the head is fine, so it may already be on its way upstream).
    Case(name="chunk-0x-prefix", raw=te(" chunked", body=b"0x5\r\nhello\r\n0\r\n\r\n"),
         outcome="abort"),
    Case(name="chunk-negative", raw=te(" chunked", body=b"-5\r\nhello\r\n0\r\n\r\n"),
         outcome="abort"),
    Case(name="chunk-plus", raw=te(" chunked", body=b"+5\r\nhello\r\n0\r\n\r\n"),
         outcome="abort"),
    Case(name="chunk-huge-size", raw=te(" chunked", body=b"1" + b"0" * 16 + b"\r\nhello\r\n"),
         outcome="abort"),
    Case(name="chunk-size-overflow-64bit", raw=te(" chunked", body=b"10000000000000005\r\n"
                                                  b"hello\r\n0\r\n\r\n" + SMUGGLED),
         outcome="abort"),
    Case(name="chunk-size-never-sent", raw=te(" chunked", body=b"ffffffff\r\nhello\r\n"),
         outcome="abort"),
    Case(name="chunk-missing-crlf-after-data", raw=te(" chunked", body=b"5\r\nhello0\r\n\r\n"
                                                      + SMUGGLED), outcome="abort"),
    Case(name="chunk-data-longer-than-size", raw=te(" chunked", body=b"3\r\nhello\r\n0\r\n\r\n"),
         outcome="abort"),
    Case(name="chunk-lf-only", raw=te(" chunked", body=b"5\nhello\n0\n\n" + SMUGGLED),
         outcome="abort"),
    Case(name="chunk-bare-cr", raw=te(" chunked", body=b"5\rhello\r\n0\r\n\r\n"),
         outcome="abort"),
    Case(name="chunk-space-in-size", raw=te(" chunked", body=b"5 5\r\nhello\r\n0\r\n\r\n"),
         outcome="abort"),
    Case(name="chunk-last-without-crlf", raw=te(" chunked", body=b"5\r\nhello\r\n0\r\n"),
         outcome="abort"),
    Case(name="chunk-extension", raw=te(" chunked", body=b"5;ext=1\r\nhello\r\n0\r\n\r\n"),
         outcome="forward", targets=("/case",)),
    Case(name="chunk-extension-bws", raw=te(" chunked", body=b"5 ;ext\r\nhello\r\n0\r\n\r\n"),
         outcome="forward", targets=("/case",)),
    Case(name="chunk-leading-zeros", raw=te(" chunked", body=b"0005\r\nhello\r\n0\r\n\r\n"),
         outcome="forward", targets=("/case",)),
    Case(name="chunk-uppercase-hex", raw=te(" chunked", body=b"A\r\nhellohello\r\n0\r\n\r\n"),
         outcome="forward", targets=("/case",)),
    Case(name="chunk-trailer", raw=te(" chunked", body=b"5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n"),
         outcome="forward", targets=("/case",)),
    # Pipelined requests after a well-framed body are separate requests for both hops.
    Case(name="chunked-then-pipelined",
         raw=te(" chunked") + b"GET /second HTTP/1.1\r\nHost: origin\r\n\r\n",
         outcome="forward", targets=("/case", "/second")),
    Case(name="cl-then-pipelined",
         raw=post("Content-Length: 5", body=b"hello")
         + b"GET /second HTTP/1.1\r\nHost: origin\r\n\r\n",
         outcome="forward", targets=("/case", "/second")),
    # Header-name and line-ending tricks.
    Case(name="name-non-token", raw=post("Content(Length: 5", body=b"hello"), outcome="reject"),
    Case(name="name-at-sign", raw=post("X-A@b: 1", "Content-Length: 0", body=SMUGGLED),
         outcome="reject"),
    Case(name="name-empty", raw=post(": chunked", "Content-Length: 0", body=SMUGGLED),
         outcome="reject"),
    Case(name="line-without-colon", raw=post("Transfer-Encoding chunked", body=CHUNKED_HELLO),
         outcome="reject"),
    Case(name="value-with-nul", raw=post("X-A: a\x00b", "Content-Length: 0", body=SMUGGLED),
         outcome="reject"),
    Case(name="bare-lf-before-te",
         raw=b"POST /case HTTP/1.1\r\nHost: origin\r\nX-A: a\nTransfer-Encoding: chunked\r\n"
             b"Content-Length: 0\r\n\r\n" + TE_CL_BODY, outcome="reject"),
    Case(name="bare-cr-in-value",
         raw=b"POST /case HTTP/1.1\r\nHost: origin\r\nX-A: a\rTransfer-Encoding: chunked\r\n"
             b"Content-Length: 0\r\n\r\n" + TE_CL_BODY, outcome="reject"),
    Case(name="two-hosts", raw=b"GET /case HTTP/1.1\r\nHost: origin\r\nHost: other\r\n\r\n",
         outcome="reject"),
    Case(name="request-line-extra-space", raw=b"GET  /case HTTP/1.1\r\nHost: origin\r\n\r\n",
         outcome="reject"),
    Case(name="request-line-extra-part",
         raw=b"GET /case HTTP/1.1 " + SMUGGLED, outcome="reject"),
    Case(name="http-version-1-2", raw=b"GET /case HTTP/1.2\r\nHost: origin\r\n\r\n",
         outcome="reject"),
    # Hop-by-hop fields that name the framing fields must not unframe the forwarded body.
    Case(name="connection-names-te",
         raw=post("Connection: Transfer-Encoding", "Transfer-Encoding: chunked",
                  body=b"%x\r\n" % len(SMUGGLED) + SMUGGLED + b"\r\n0\r\n\r\n"),
         outcome="forward", targets=("/case",)),
    Case(name="connection-names-cl",
         raw=post("Connection: Content-Length", f"Content-Length: {len(SMUGGLED)}", body=SMUGGLED),
         outcome="forward", targets=("/case",)),
    # An upgrade the origin does not take: the next request is still parsed by the proxy.
    Case(name="upgrade-refused-then-pipelined",
         raw=b"GET /case HTTP/1.1\r\nHost: origin\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"
             b"GET /second HTTP/1.1\r\nHost: origin\r\n\r\n",
         outcome="forward", targets=("/case", "/second")),
]


def test_case_names_are_unique() -> None:
    names = [case.name for case in CASES]
    assert len(names) == len(set(names))


# -- the origin and the proxy ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Seen:
    """One request in the origin's access log."""

    method: str
    uri: str
    content_length: str
    status: str


@dataclass(slots=True)
class Origin:
    address: str
    prefix: Path

    async def seen(self) -> list[Seen]:
        text = await anyio.Path(self.prefix / "access.log").read_text(errors="replace")
        entries = [json.loads(line) for line in text.splitlines() if line]
        seen = [Seen(e["method"], e["uri"], e["cl"], e["status"]) for e in entries]
        assert seen[:1] == [Seen("GET", READY, "", "200")], seen
        return seen[1:]


@asynccontextmanager
async def nginx_origin(prefix: Path) -> AsyncIterator[Origin]:
    """nginx on a listening socket we bound (so it is ready before nginx even starts); stopped
    (gracefully, bounded) on exit so every request it saw is in its log."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    conf = prefix / "nginx.conf"
    await anyio.Path(conf).write_text(NGINX_CONF.format(prefix=prefix, port=port))
    fd = sock.fileno()
    try:
        proc = await asyncio.create_subprocess_exec(
            NGINX, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log"),
            pass_fds=(fd,), env={"NGINX": f"{fd};"},
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
    finally:
        sock.close()
    try:
        with anyio.fail_after(TIMEOUT):
            await ready(port)
        yield Origin(f"127.0.0.1:{port}", prefix)
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGQUIT)
            try:
                await asyncio.wait_for(proc.wait(), TIMEOUT)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def ready(port: int) -> None:
    """One request straight to nginx: it answers once it is up (its log is open)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(f"GET {READY} HTTP/1.1\r\nHost: origin\r\nConnection: close\r\n\r\n"
                     .encode())
        answer = await reader.read()
        assert answer.startswith(b"HTTP/1.1 200"), answer
    finally:
        writer.close()
        await writer.wait_closed()


class Recorder(ProxyHttp[None]):
    """Proxies everything to `origin`; records each request head it sends upstream."""

    def __init__(self, origin: str) -> None:
        self.peer = HttpPeer(origin)
        self.forwarded: list[tuple[str, str]] = []

    async def upstream_peer(self, session: Session, ctx: None) -> HttpPeer:
        return self.peer

    async def upstream_request_filter(
        self, session: Session, upstream_request: RequestHeader, ctx: None
    ) -> None:
        self.forwarded.append((upstream_request.method,
                               upstream_request.raw_path.decode("latin-1")))


@asynccontextmanager
async def proxy_to(origin: str, backend: str) -> AsyncIterator[tuple[str, Recorder]]:
    """Our proxy on 127.0.0.1:0 with `backend` reading requests; stopped on exit."""
    conf = ServerConf(grace_period_seconds=1, graceful_shutdown_timeout_seconds=1)
    app = Recorder(origin)
    settings = H1ServerSettings(backend=backend, header_timeout=TIMEOUT, read_timeout=TIMEOUT)
    service = Service("smuggling proxy", HttpProxy(app, conf, h1_settings=settings))
    service.add_tcp("127.0.0.1:0")
    server = Server(conf=conf)
    async with serving(
        server, service, time_limit=TIMEOUT, shutdown=ShutdownSignal.FAST_SHUTDOWN
    ) as addr:
        yield addr, app


# -- the client ------------------------------------------------------------------------------------


@dataclass(slots=True)
class Response:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Received:
    responses: list[Response]
    closed: bool  # the proxy ended the connection (EOF or reset) within the timeout
    rest: bytes  # bytes after the last complete response


async def attempt(address: str, raw: bytes, half_close: bool) -> Received:
    """Send `raw` (then half-close if `half_close`), read until the proxy closes (bounded:
    `closed` says if it did)."""
    host, _, port = address.rpartition(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    data = b""
    closed = False
    try:
        writer.write(raw)
        with contextlib.suppress(ConnectionError):
            await writer.drain()
            if half_close:
                writer.write_eof()
        with anyio.move_on_after(TIMEOUT):
            try:
                while chunk := await reader.read(65536):
                    data += chunk
            except ConnectionError:
                pass
            closed = True
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    responses, rest = parse_responses(data)
    return Received(responses, closed, rest)


def parse_responses(data: bytes) -> tuple[list[Response], bytes]:
    """The complete responses at the start of `data` (Content-Length or chunked bodies)."""
    out: list[Response] = []
    while (end := data.find(b"\r\n\r\n")) >= 0:
        lines = data[:end].decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":")
                                                                for x in lines[1:])}
        rest = data[end + 4:]
        if 100 <= status < 200:
            data = rest
            continue
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                eol = rest.find(b"\r\n")
                if eol < 0:
                    return out, data
                size = int(rest[:eol].split(b";")[0], 16)
                if size == 0:
                    trailer_end = rest.find(b"\r\n\r\n", eol)
                    if rest[eol:eol + 4] == b"\r\n\r\n":
                        trailer_end = eol
                    if trailer_end < 0:
                        return out, data
                    rest = rest[trailer_end + 4:]
                    break
                if len(rest) < eol + 2 + size + 2:
                    return out, data
                body += rest[eol + 2:eol + 2 + size]
                rest = rest[eol + 2 + size + 2:]
        else:
            length = int(headers.get("content-length", "0"))
            if len(rest) < length:
                return out, data
            body, rest = rest[:length], rest[length:]
        out.append(Response(status, body, headers))
        data = rest
    return out, data


# -- the test --------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_smuggling_attempt(case: Case, backend: str, tmp_path: Path) -> None:
    # The proxy stops first (closing its upstream connections), then nginx, which logs
    # everything it saw before it exits.
    async with (
        nginx_origin(tmp_path) as origin,
        proxy_to(origin.address, backend) as (address, app),
    ):
        # A refusal must close the connection by itself; otherwise the client's half-close
        # ends the exchange (a proxy may keep a connection open for more requests).
        received = await attempt(address, case.raw, half_close=case.outcome != "reject")
    seen = await origin.seen()
    forwarded = app.forwarded
    statuses = [r.status for r in received.responses]
    report = f"forwarded={forwarded} seen={seen} responses={statuses} rest={received.rest!r}"

    assert received.closed, f"the proxy did not close the connection in {TIMEOUT}s; {report}"
    assert not any("/smuggled" in s.uri for s in seen), report
    assert [(s.method, s.uri) for s in seen] == forwarded, report

    if case.outcome == "reject":
        assert forwarded == [], report
        assert len(statuses) == 1, report
        assert statuses[0] in REJECT_STATUSES, report
    elif case.outcome == "forward":
        assert [uri for _, uri in forwarded] == list(case.targets), report
        assert all(s.status == "200" for s in seen), report
        assert statuses == [200] * len(case.targets), report
        for (method, uri), resp in zip(forwarded, received.responses, strict=True):
            assert resp.body.startswith(f"{method} {uri} ".encode()), report
    else:
        assert len(forwarded) <= 1, report
        assert all(uri == "/case" for _, uri in forwarded), report
        assert statuses.count(200) <= 1, report
