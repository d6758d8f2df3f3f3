"""The client's everyday-head fast path gives exactly what llhttp and h11 give, or steps aside."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pingora_core.errors import Error
from pingora_core.protocols.http.v1.client_parse import (
    _parse_h11,
    _parse_httptools,
    _parse_simple,
    parse_response_head,
)

pytest.importorskip("httptools")

_NAMES = st.sampled_from(
    [b"Content-Length", b"content-length", b"Transfer-Encoding", b"Server", b"X-A", b"Date",
     b"Connection", b"Keep-Alive", b"Set-Cookie", b"X y", b"", b"X\x00", b"Upgrade", b"Vary "]
)
_VALUES = st.one_of(
    st.sampled_from([b"5", b"05", b"chunked", b"Chunked", b"gzip, chunked", b"close", b"", b" ",
                     b"a b", b"x\t", b"\tx", b"1,1", b"-1", b"keep-alive", b"caf\xc3\xa9"]),
    st.binary(max_size=6),
)
_STATUS = st.sampled_from(
    [b"HTTP/1.1 200 OK", b"HTTP/1.0 200 OK", b"HTTP/1.1 204 No Content", b"HTTP/1.1 200",
     b"HTTP/1.1 200 ", b"HTTP/1.1 404 Gone Fishing", b"HTTP/1.1 100 Continue",
     b"HTTP/1.1 101 Switching Protocols", b"HTTP/1.1 999 X", b"HTTP/1.1 099 X",
     b"HTTP/2.0 200 OK", b"HTTP/1.1 200 \xe9", b"HTTP/1.1 103 Early Hints"]
)


def _outcome(parse, head: bytes):  # type: ignore[no-untyped-def]
    try:
        return parse(head)
    except Error as exc:
        return ("error", exc.etype)


@given(_STATUS, st.lists(st.tuples(_NAMES, st.sampled_from([b": ", b":", b":  ", b" : "]),
                                   _VALUES), max_size=5))
def test_fast_path_matches_llhttp(status: bytes, fields: list[tuple[bytes, bytes, bytes]]) -> None:
    head = status + b"\r\n" + b"".join(n + s + v + b"\r\n" for n, s, v in fields) + b"\r\n"
    fast = _parse_simple(head)
    if fast is None:
        return  # not the everyday shape: llhttp decides
    for parse in (_parse_httptools, _parse_h11):
        reference = _outcome(parse, head)
        assert fast == reference
        assert fast.reason_phrase == reference.reason_phrase  # type: ignore[union-attr]
        assert fast.headers.items() == reference.headers.items()  # type: ignore[union-attr]


def test_everyday_head_takes_the_fast_path() -> None:
    head = b"HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 5\r\nX-Tab: a\tb\r\n\r\n"
    resp = _parse_simple(head)
    assert resp is not None
    assert resp.status == 200
    assert resp.version == "HTTP/1.1"
    assert resp.headers.items() == [(b"Server", b"nginx"), (b"Content-Length", b"5"),
                                    (b"X-Tab", b"a\tb")]
    assert resp == _parse_httptools(head)


def test_custom_reason_is_kept() -> None:
    resp = _parse_simple(b"HTTP/1.0 404 Gone Fishing\r\n\r\n")
    assert resp is not None
    assert resp.reason_phrase == "Gone Fishing"
    assert resp.version == "HTTP/1.0"


@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nA: b \r\n\r\n",
        b"HTTP/1.1 200 OK\r\nA : b\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n",
        b"HTTP/1.1 200 OK\nA: b\n\n",
        b"HTTP/1.1 200 OK\r\nA: b\nC: d\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nA: b\rC: d\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nA: b\r\nno colon\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nA: \x7f\r\n\r\n",
    ],
)
def test_unusual_heads_go_to_llhttp(head: bytes) -> None:
    assert _parse_simple(head) is None
    # and the full path still answers them as before (refused or repaired)
    _outcome(lambda h: parse_response_head(h, "httptools"), head)


def test_duplicate_length_still_refused() -> None:
    with pytest.raises(Error):
        parse_response_head(
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", "httptools"
        )


@pytest.mark.parametrize("backend", ["httptools", "h11"])
@pytest.mark.parametrize("line", [b"HTTP/1.1 200", b"HTTP/1.1 200 "])
def test_no_reason_reads_as_the_canonical_one_on_either_backend(backend: str, line: bytes) -> None:
    # a trailing space in a value keeps the head off the fast path: the backend reads it
    head = line + b"\r\nX-A: a \r\nContent-Length: 0\r\n\r\n"
    assert _parse_simple(head) is None
    resp = parse_response_head(head, backend)
    assert resp.reason_phrase == "OK"
    assert resp.to_h1_wire().startswith(b"HTTP/1.1 200 OK\r\n")
