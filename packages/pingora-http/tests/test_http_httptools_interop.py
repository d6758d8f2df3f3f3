"""pingora_http fed by httptools (llhttp) callbacks through the `append_raw` fast path."""

from __future__ import annotations

import pytest

from pingora_http import RequestHeader, ResponseHeader

httptools = pytest.importorskip("httptools")

REQUEST = (
    b"POST /submit?x=1 HTTP/1.1\r\n"
    b"Host: example.com\r\n"
    b"X-CaSe-KePt: 1\r\n"
    b"content-length: 0\r\n"
    b"X-Dup: a\r\n"
    b"x-dup: b\r\n"
    b"\r\n"
)


class RequestSink:
    """Builds a RequestHeader from httptools callbacks, as a codec would."""

    def __init__(self) -> None:
        self.parser = httptools.HttpRequestParser(self)
        self.header: RequestHeader | None = None

    def on_url(self, url: bytes) -> None:
        self.header = RequestHeader.build(self.parser.get_method(), url)

    def on_header(self, name: bytes, value: bytes) -> None:
        assert self.header is not None
        self.header.append_raw(name, value)

    def on_headers_complete(self) -> None:
        assert self.header is not None
        self.header.set_version(self.parser.get_http_version())


class ResponseSink:
    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.header: ResponseHeader | None = None
        self.reason = b""

    def on_status(self, reason: bytes) -> None:
        self.reason += reason

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.header is None:
            self.header = ResponseHeader.build(self.parser.get_status_code())
            self.header.set_reason_phrase(self.reason)
        self.header.append_raw(name, value)


def test_request_from_httptools_reproduces_the_wire() -> None:
    sink = RequestSink()
    sink.parser.feed_data(REQUEST)
    req = sink.header
    assert req is not None
    assert (req.method, req.uri, req.version) == ("POST", "/submit?x=1", "HTTP/1.1")
    assert req.get_all("X-DUP") == [b"a", b"b"]
    assert req.to_h1_wire() == REQUEST


def test_response_from_httptools_reproduces_the_wire() -> None:
    wire = b"HTTP/1.1 404 Nothing Here\r\nServer: s\r\nContent-Length: 0\r\n\r\n"
    sink = ResponseSink()
    sink.parser.feed_data(wire)
    resp = sink.header
    assert resp is not None
    assert (resp.status, resp.reason_phrase) == (404, "Nothing Here")
    assert resp.to_h1_wire() == wire
