"""pingora_http against h2: header lists both ways, through a real in-memory HTTP/2 exchange."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pingora_http import InvalidHeaderError, RequestHeader, ResponseHeader

h2_config = pytest.importorskip("h2.config")
h2_connection = pytest.importorskip("h2.connection")
h2_events = pytest.importorskip("h2.events")

TCHARS_LOWER = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz"
# Fields HTTP/2 forbids or that :authority replaces; cookie is joined (tested on its own).
SPECIAL = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te"}
SPECIAL |= {"host", "cookie"}

names = st.text(alphabet=TCHARS_LOWER, min_size=1, max_size=16).filter(lambda n: n not in SPECIAL)
field_vchar = st.sampled_from([bytes([b]) for b in [*range(0x21, 0x7F), *range(0x80, 0x100)]])
values = (
    st.lists(st.one_of(field_vchar, st.sampled_from([b" ", b"\t"])), max_size=24)
    .map(b"".join)
    .map(lambda v: v.strip(b" \t"))
)
fields = st.lists(st.tuples(names.map(str.encode), values), max_size=20)


class Exchange:
    """A client and a server h2 connection wired to each other in memory."""

    def __init__(self) -> None:
        self.client = h2_connection.H2Connection(h2_config.H2Configuration(client_side=True))
        self.server = h2_connection.H2Connection(
            h2_config.H2Configuration(client_side=False, header_encoding=None)
        )
        self.client.initiate_connection()
        self.server.initiate_connection()
        self.server.receive_data(self.client.data_to_send())
        self.client.receive_data(self.server.data_to_send())
        self.server.receive_data(self.client.data_to_send())

    def request(self, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        self.client.send_headers(1, headers, end_stream=True)
        events = self.server.receive_data(self.client.data_to_send())
        received = [e for e in events if isinstance(e, h2_events.RequestReceived)]
        assert len(received) == 1, events
        return list(received[0].headers)

    def respond(self, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        self.server.send_headers(1, headers, end_stream=True)
        events = self.client.receive_data(self.server.data_to_send())
        received = [e for e in events if isinstance(e, h2_events.ResponseReceived)]
        assert len(received) == 1, events
        return list(received[0].headers)


@given(
    method=st.sampled_from([b"GET", b"POST", b"PURGE"]),
    path=st.sampled_from([b"/", b"/a?b=c", b"/x/y%20z", b"*"]),
    authority=st.sampled_from([b"example.com", b"[::1]:8443"]),
    regular=fields,
)
def test_request_round_trips_through_h2(
    method: bytes, path: bytes, authority: bytes, regular: list[tuple[bytes, bytes]]
) -> None:
    pseudo = [(b":method", method), (b":scheme", b"https"), (b":authority", authority)]
    sent = [*pseudo, (b":path", path), *regular]

    req = RequestHeader.from_h2_headers(sent)
    assert req.version == "HTTP/2"
    assert not req.has_case()
    assert req.to_h2_headers() == sent
    received = Exchange().request(req.to_h2_headers())
    assert received == sent
    assert RequestHeader.from_h2_headers(received) == req


@given(status=st.integers(200, 599), regular=fields)
def test_response_round_trips_through_h2(status: int, regular: list[tuple[bytes, bytes]]) -> None:
    sent = [(b":status", b"%d" % status), *regular]
    resp = ResponseHeader.from_h2_headers(sent)
    assert resp.status == status
    assert resp.to_h2_headers() == sent
    exchange = Exchange()
    exchange.request(
        [(b":method", b"GET"), (b":scheme", b"https"), (b":authority", b"h"), (b":path", b"/")]
    )
    received = exchange.respond(resp.to_h2_headers())
    assert received == sent
    assert ResponseHeader.from_h2_headers(received) == resp


def test_h1_request_to_h2_drops_connection_fields_and_moves_host() -> None:
    req = RequestHeader.build("POST", "/upload?x=1")
    for name, value in [
        ("Host", "example.com"),
        ("Connection", "keep-alive"),
        ("Keep-Alive", "timeout=5"),
        ("Transfer-Encoding", "chunked"),
        ("TE", "gzip"),
        ("Upgrade", "websocket"),
        ("Content-Type", "text/plain"),
        ("X-Trace", "1"),
    ]:
        req.append_header(name, value)
    headers = req.to_h2_headers("https")
    assert headers == [
        (b":method", b"POST"),
        (b":scheme", b"https"),
        (b":authority", b"example.com"),
        (b":path", b"/upload?x=1"),
        (b"content-type", b"text/plain"),
        (b"x-trace", b"1"),
    ]
    assert Exchange().request(headers) == headers
    req.append_header("te", "Trailers")
    assert req.to_h2_headers("https")[-1] == (b"te", b"Trailers")


def test_h2_request_to_h1_titles_common_names_and_joins_cookies() -> None:
    req = RequestHeader.from_h2_headers(
        [
            (":method", "GET"),
            (":scheme", "https"),
            (":authority", "example.com"),
            (":path", "/p"),
            ("cookie", "a=1"),
            ("user-agent", "ua"),
            ("cookie", "b=2"),
            ("x-custom", "v"),
        ]
    )
    assert (req.scheme, req.authority, req.host()) == ("https", "example.com", "example.com")
    assert req.to_h1_wire() == (
        b"GET /p HTTP/1.1\r\nCookie: a=1; b=2\r\nUser-Agent: ua\r\nx-custom: v\r\n\r\n"
    )


def test_absolute_form_and_explicit_arguments() -> None:
    req = RequestHeader.build("GET", "http://origin.example:8080/a?b")
    assert req.to_h2_headers() == [
        (b":method", b"GET"),
        (b":scheme", b"http"),
        (b":authority", b"origin.example:8080"),
        (b":path", b"/a?b"),
    ]
    assert req.to_h2_headers("https", "other.example")[1:3] == [
        (b":scheme", b"https"),
        (b":authority", b"other.example"),
    ]
    with pytest.raises(InvalidHeaderError, match="scheme"):
        RequestHeader.build("GET", "/").to_h2_headers()
    with pytest.raises(InvalidHeaderError, match=":authority"):
        RequestHeader.build("GET", "/").to_h2_headers("https", "bad host")


def test_connect_has_no_scheme_or_path() -> None:
    req = RequestHeader.build("CONNECT", "example.com:443")
    headers = req.to_h2_headers()
    assert headers == [(b":method", b"CONNECT"), (b":authority", b"example.com:443")]
    assert Exchange().request(headers) == headers
    back = RequestHeader.from_h2_headers(headers)
    assert (back.method, back.raw_path, back.uri) == ("CONNECT", b"example.com:443", "/")


@pytest.mark.parametrize(
    ("headers", "match"),
    [
        ([(b":scheme", b"https"), (b":path", b"/")], ":method"),
        ([(b":method", b"GET"), (b":path", b"/")], ":path or :scheme"),
        ([(b":method", b"GET"), (b":scheme", b"https")], ":path or :scheme"),
        ([(b":method", b"CONNECT"), (b":authority", b"h:1"), (b":path", b"/")], "CONNECT"),
        ([(b":method", b"CONNECT")], "CONNECT"),
        ([(b":method", b"GET"), (b"x", b"1"), (b":path", b"/")], "after a regular header"),
        ([(b":method", b"GET"), (b":method", b"GET")], "duplicate"),
        ([(b":method", b"GET"), (b":status", b"200")], "unexpected pseudo-header"),
        ([(b":method", b"GE T"), (b":scheme", b"https"), (b":path", b"/")], "method"),
        ([(b":method", b"GET"), (b":scheme", b"https"), (b":path", b"/a b")], "request target"),
        (
            [(b":method", b"GET"), (b":scheme", b"https"), (b":path", b"/"), (b"a b", b"1")],
            "header name",
        ),
        (
            [(b":method", b"GET"), (b":scheme", b"https"), (b":path", b"/"), (b"x", b"1\r\n")],
            "header value",
        ),
    ],
)
def test_invalid_h2_requests_are_refused(headers: list[tuple[bytes, bytes]], match: str) -> None:
    with pytest.raises(InvalidHeaderError, match=match):
        RequestHeader.from_h2_headers(headers)


@pytest.mark.parametrize(
    ("headers", "match"),
    [
        ([(b"x", b"1")], ":status"),
        ([(b":status", b"20")], "status"),
        ([(b":status", b"abc")], "status"),
        ([(b":status", b"200"), (b":path", b"/")], "unexpected pseudo-header"),
    ],
)
def test_invalid_h2_responses_are_refused(headers: list[tuple[bytes, bytes]], match: str) -> None:
    with pytest.raises(InvalidHeaderError, match=match):
        ResponseHeader.from_h2_headers(headers)


def test_h1_response_to_h2() -> None:
    resp = ResponseHeader.build(200)
    resp.append_header("Content-Type", "text/html")
    resp.append_header("Connection", "close")
    resp.append_header("Set-Cookie", "a=1")
    resp.append_header("Set-Cookie", "b=2")
    assert resp.to_h2_headers() == [
        (b":status", b"200"),
        (b"content-type", b"text/html"),
        (b"set-cookie", b"a=1"),
        (b"set-cookie", b"b=2"),
    ]
