"""pingora_http against h11: conversions both ways and round-trips of any valid header list.

Property: build -> to_h1_wire -> parse with h11 (raw_items keeps case) -> build gives back the
same message and the same bytes.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pingora_http import InvalidHeaderError, RequestHeader, ResponseHeader

h11 = pytest.importorskip("h11")

TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
# h11 checks these names' values itself (framing), so they are tested separately.
FRAMING = {"host", "content-length", "transfer-encoding"}

names = st.text(alphabet=TCHARS, min_size=1, max_size=16).filter(lambda n: n.lower() not in FRAMING)
field_vchar = st.sampled_from([bytes([b]) for b in [*range(0x21, 0x7F), *range(0x80, 0x100)]])
# Field values as h11 parses them back: no leading or trailing whitespace (that is OWS).
values = (
    st.lists(st.one_of(field_vchar, st.sampled_from([b" ", b"\t"])), max_size=24)
    .map(b"".join)
    .map(lambda v: v.strip(b" \t"))
)
fields = st.lists(st.tuples(names, values), max_size=20)
methods = st.text(alphabet=TCHARS, min_size=1, max_size=10)
targets = st.one_of(
    st.text(alphabet=[chr(c) for c in range(0x21, 0x7F) if chr(c) != "#"], max_size=30).map(
        lambda p: "/" + p
    ),
    st.sampled_from(["*", "http://example.com/a?b", "example.com:443", "http://h"]),
)


def h11_parse_request(wire: bytes) -> h11.Request:
    conn = h11.Connection(h11.SERVER)
    conn.receive_data(wire)
    event = conn.next_event()
    assert isinstance(event, h11.Request), event
    return event


def h11_parse_response(wire: bytes) -> h11.Response | h11.InformationalResponse:
    conn = h11.Connection(h11.CLIENT)
    conn.send(h11.Request(method="GET", target="/", headers=[("Host", "x")]))
    conn.send(h11.EndOfMessage())
    conn.receive_data(wire)
    event = conn.next_event()
    assert isinstance(event, (h11.Response, h11.InformationalResponse)), event
    return event


@given(
    method=methods,
    target=targets,
    before=fields,
    after=fields,
    host=values,
    http10=st.booleans(),
)
def test_request_round_trips_through_h11(
    method: str,
    target: str,
    before: list[tuple[str, bytes]],
    after: list[tuple[str, bytes]],
    host: bytes,
    http10: bool,
) -> None:
    req = RequestHeader.build(method, target)
    if http10:
        req.set_version("HTTP/1.0")
    sent = [*before, ("Host", host), *after]
    for name, value in sent:
        req.append_header(name, value)
    wire = req.to_h1_wire()

    event = h11_parse_request(wire)
    assert event.headers.raw_items() == [(n.encode(), v) for n, v in sent]

    back = RequestHeader.from_h11(event)
    assert back == req
    assert back.to_h1_wire() == wire

    # The parser fast path gives the same result.
    rebuilt = RequestHeader.build(event.method, event.target)
    rebuilt.set_version(event.http_version)
    for name_b, value_b in event.headers.raw_items():
        rebuilt.append_raw(name_b, value_b)
    assert rebuilt == req


@given(
    status=st.integers(100, 599).filter(lambda s: s != 101),
    reason=st.one_of(st.none(), values),
    sent=fields,
    http10=st.booleans(),
)
def test_response_round_trips_through_h11(
    status: int, reason: bytes | None, sent: list[tuple[str, bytes]], http10: bool
) -> None:
    resp = ResponseHeader.build(status)
    resp.set_reason_phrase(reason)
    if http10:
        resp.set_version("HTTP/1.0")
    for name, value in sent:
        resp.append_header(name, value)
    wire = resp.to_h1_wire()

    event = h11_parse_response(wire)
    assert event.headers.raw_items() == [(n.encode(), v) for n, v in sent]
    back = ResponseHeader.from_h11(event)
    assert back == resp
    assert back.to_h1_wire() == wire


def test_to_h11_headers_gives_h11_the_same_bytes() -> None:
    req = RequestHeader.build("POST", "/submit?x=1")
    for name, value in [("Host", "example.com"), ("X-CaSe", "1"), ("content-length", "0")]:
        req.append_header(name, value)
    request = h11.Request(method=req.method, target=req.raw_path, headers=req.to_h11_headers())
    assert h11.Connection(h11.CLIENT).send(request) == req.to_h1_wire()


def test_no_case_headers_reach_h11_titled() -> None:
    req = RequestHeader.build_no_case("GET", "/")
    req.append_header("HOST", "example.com")
    req.append_header("X-Custom", "1")
    assert req.to_h11_headers() == [(b"Host", b"example.com"), (b"x-custom", b"1")]


def test_from_h11_keeps_framing_headers_and_events_built_by_hand() -> None:
    event = h11.Request(
        method="PUT",
        target="/up",
        headers=[("Host", "h"), ("Transfer-Encoding", "chunked"), ("X-A", "1")],
    )
    req = RequestHeader.from_h11(event)
    assert req.to_h1_wire() == (
        b"PUT /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n"
    )
    response = h11.Response(status_code=404, headers=[("Content-Length", "0")], reason=b"Gone Away")
    resp = ResponseHeader.from_h11(response)
    assert (resp.status, resp.reason_phrase, resp.get("content-length")) == (404, "Gone Away", b"0")


def test_from_h11_refuses_control_bytes_h11_lets_through() -> None:
    # h11's field-value grammar admits bytes such as \x01; nothing invalid may reach our wire.
    event = h11_parse_request(b"GET / HTTP/1.1\r\nHost: h\r\nX-Bad: a\x01b\r\n\r\n")
    with pytest.raises(InvalidHeaderError, match="header value"):
        RequestHeader.from_h11(event)


def test_informational_response_from_h11() -> None:
    event = h11_parse_response(b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n")
    resp = ResponseHeader.from_h11(event)
    assert resp.status == 103
    assert resp.reason_phrase == "Early Hints"
    assert resp.headers.items() == [(b"Link", b"</a.css>; rel=preload")]
