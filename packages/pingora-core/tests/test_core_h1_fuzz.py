"""Fuzzing the HTTP/1 request codec and server session with malformed heads and chunked bodies:
never a traceback, never a hang, only a clean 4xx/5xx verdict or a valid parse, and both
backends always give the same answer."""

from __future__ import annotations

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pingora_core.errors import Error
from pingora_core.protocols.http.v1 import (
    BodyData,
    H1ServerSettings,
    HttpSession,
    MessageEnd,
    ParseError,
    RequestHead,
    RequestParser,
    available_h1_backends,
)
from pingora_core.testing import memory_stream_pair
from pingora_http import ResponseHeader

BACKENDS = available_h1_backends()
CLEAN_STATUSES = {400, 408, 414, 431, 501, 505}

methods = st.sampled_from(
    [b"GET", b"POST", b"HEAD", b"CONNECT", b"OPTIONS", b"PURGE", b"get", b"G T", b"", b"GE\x00T"]
)
targets = st.sampled_from(
    [b"/", b"/a?b=c", b"*", b"http://h/p", b"h:443", b"foo", b"/\x80", b"/a b", b"", b"/%zz",
     b"//x", b"http:/\\h", b"/#frag"]
)  # fmt: skip
versions = st.sampled_from(
    [b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2.0", b"HTTP/1.2", b"HTTP/1", b"http/1.1", b"HTTP/1.1 ", b""]
)
names = st.sampled_from(
    [b"Host", b"Content-Length", b"Transfer-Encoding", b"Connection", b"Expect", b"Upgrade",
     b"X-A", b"X A", b"", b"X\x00", b"host", b"Te", b"Trailer"]
)  # fmt: skip
values = st.sampled_from(
    [b"example.com", b"0", b"3", b"03", b"-1", b"1, 1", b"chunked", b"Chunked", b"gzip, chunked",
     b"chunked, gzip", b"close", b"keep-alive", b"upgrade", b"100-continue", b"", b" x ",
     b"a\x00b", b"a\rb", b"a\nb", b"\xff", b"a\x7f", b"99999999999999999999"]
)  # fmt: skip
line_ends = st.sampled_from([b"\r\n", b"\r\n", b"\r\n", b"\n", b"\r", b" \r\n", b"\r\n "])
separators = st.sampled_from([b": ", b":", b" : ", b":\t", b"", b"::"])


@st.composite
def heads(draw: st.DrawFn) -> bytes:
    end = draw(line_ends)
    parts = [draw(methods) + b" " + draw(targets) + b" " + draw(versions) + end]
    for _ in range(draw(st.integers(0, 6))):
        parts.append(draw(names) + draw(separators) + draw(values) + draw(line_ends))
    parts.append(b"\r\n")
    raw = b"".join(parts)
    if draw(st.booleans()):
        junk = draw(st.binary(max_size=6))
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + junk + raw[at:]
    return raw


def verdict(raw: bytes, backend: str, cuts: list[int]) -> object:
    parser = RequestParser(backend)
    events: list[object] = []
    previous = 0
    for cut in [*sorted(c % (len(raw) + 1) for c in cuts), len(raw)]:
        events += parser.feed(raw[previous:cut])
        previous = cut
    events += parser.feed_eof()
    if not events:
        return "incomplete"
    first = events[0]
    if isinstance(first, ParseError):
        assert first.status in CLEAN_STATUSES, first
        return first.status
    assert isinstance(first, RequestHead)
    req = first.request
    for event in events[1:]:
        assert isinstance(event, BodyData | MessageEnd | ParseError)
    return (
        req.method,
        req.raw_path,
        req.version,
        req.headers.items(),
        first.body,
        first.keep_alive,
    )


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(raw=heads(), cuts=st.lists(st.integers(0, 500), max_size=3))
def test_malformed_heads(raw: bytes, cuts: list[int]) -> None:
    answers = [verdict(raw, backend, cuts) for backend in BACKENDS]
    assert all(answer == answers[0] for answer in answers), (raw, answers)
    # feeding in pieces gives what feeding at once gives
    assert verdict(raw, BACKENDS[0], []) == answers[0]


@settings(max_examples=200)
@given(raw=st.binary(max_size=300))
def test_random_bytes(raw: bytes) -> None:
    answers = [verdict(raw, backend, []) for backend in BACKENDS]
    assert all(answer == answers[0] for answer in answers), (raw, answers)


chunk_parts = st.sampled_from(
    [b"5\r\nhello\r\n", b"1;ext=v\r\nx\r\n", b"A\r\n0123456789\r\n", b"0\r\n\r\n",
     b"0\r\nX-T: 1\r\n\r\n", b"zz\r\n", b"5\r\nhel", b"\r\n", b"-1\r\n", b"5\nhello\n",
     b"ffffffffffffffffff\r\n", b"0\r\nbad trailer\r\n\r\n", b"3 \r\nabc\r\n", b"\x00"]
)  # fmt: skip


@settings(max_examples=300)
@given(parts=st.lists(chunk_parts, max_size=6), cuts=st.lists(st.integers(0, 200), max_size=3))
def test_chunked_bodies(parts: list[bytes], cuts: list[int]) -> None:
    head = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
    body = b"".join(parts)
    results = []
    for backend in BACKENDS:
        parser = RequestParser(backend)
        events = list(parser.feed(head))
        previous = 0
        for cut in [*sorted(c % (len(body) + 1) for c in cuts), len(body)]:
            events += parser.feed(body[previous:cut])
            previous = cut
        events += parser.feed_eof()
        data = b"".join(e.data for e in events if isinstance(e, BodyData))
        last = events[-1]
        if isinstance(last, ParseError):
            assert last.status == 400
            outcome: object = ("error", data)
        else:
            assert isinstance(last, MessageEnd)
            outcome = ("ok", data, parser.leftover)
        results.append(outcome)
    assert all(r == results[0] for r in results)


@pytest.mark.anyio
@settings(
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(raw=heads(), body=st.lists(chunk_parts, max_size=4), backend=st.sampled_from(BACKENDS))
async def test_session_answers_cleanly(raw: bytes, body: list[bytes], backend: str) -> None:
    client, server = memory_stream_pair(max_buffer=1 << 20)
    client.write(raw + b"".join(body))
    await client.shutdown()
    session = HttpSession(
        server, H1ServerSettings(backend=backend, header_timeout=2, read_timeout=2)
    )
    with anyio.fail_after(10):
        try:
            req = await session.read_request()
            if req is not None:
                while await session.read_request_body() is not None:
                    pass
                resp = ResponseHeader(200)
                resp.append_header("Content-Length", 2)
                await session.write_response_header(resp)
                await session.write_response_body(b"ok", end=True)
        except Error:
            pass
        await session.finish()
        await server.close()
        wire = b""
        while data := await client.read():
            wire += data
    if wire:
        status = int(wire[9:12])
        assert status == 200 or status in CLEAN_STATUSES, wire[:64]
