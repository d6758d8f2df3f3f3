"""The compression decision table, ported from Pingora's unit tests (Accept-Encoding parsing,
decide_action, compressible types and sizes, Vary, header rewriting and ETag weakening), plus
our additions: q-values and `*`."""

from __future__ import annotations

import pytest

from pingora_core.modules.compression import AcceptEncoding, Algorithm, parse_accept_encoding
from pingora_core.modules.compression._decide import (
    NOOP,
    Action,
    add_vary_header,
    adjust_response_header,
    compressible,
    decide_action,
    depends_on_accept_encoding,
)
from pingora_http import RequestHeader, ResponseHeader

GZIP, BR, ZSTD, DCB, DCZ, ANY = (
    Algorithm.GZIP,
    Algorithm.BROTLI,
    Algorithm.ZSTD,
    Algorithm.DCB,
    Algorithm.DCZ,
    Algorithm.ANY,
)


def _resp(*fields: tuple[str, str], status: int = 200) -> ResponseHeader:
    resp = ResponseHeader.build(status)
    for name, value in fields:
        resp.insert_header(name, value)
    return resp


def _accept(*algorithms: Algorithm) -> AcceptEncoding:
    return AcceptEncoding(accepted=algorithms, present=True)


# -- Accept-Encoding -----------------------------------------------------------------------------


def test_accept_encoding_req_header() -> None:
    # Pingora's test_accept_encoding_req_header
    req = RequestHeader.build("GET", "/")
    assert parse_accept_encoding(req.get_all("accept-encoding")).accepted == ()
    req.insert_header("accept-encoding", "gzip")
    assert parse_accept_encoding(req.get_all("accept-encoding")).accepted == (GZIP,)
    req.insert_header("accept-encoding", "what, br, gzip")
    assert parse_accept_encoding(req.get_all("accept-encoding")).accepted == (BR, GZIP)


@pytest.mark.parametrize(
    ("header", "accepted", "rejected"),
    [
        (b"gzip", (GZIP,), ()),
        (b"GZip", (GZIP,), ()),
        (b"gzip, deflate, br, zstd", (GZIP, BR, ZSTD), ()),
        (b"br;q=1.0, gzip;q=0.8, *;q=0.1", (BR, GZIP, ANY), ()),
        (b"zstd;q=0.5, br;q=0.9", (ZSTD, BR), ()),  # client order, not weight order
        (b"gzip;q=0, br", (BR,), (GZIP,)),
        (b"gzip; q=0.000 , br ; Q=0.001", (BR,), (GZIP,)),
        (b"*", (ANY,), ()),
        (b"*;q=0, gzip", (GZIP,), (ANY,)),
        (b"identity", (), ()),
        (b"", (), ()),
        (b" , ,gzip,", (GZIP,), ()),
        (b"gzip;q=2, br", (BR,), ()),  # malformed q: the entry is ignored
        (b"gzip;q=abc, br;q=1.0000", (), ()),
        (b"gzip;q=, zstd;level=3", (ZSTD,), ()),  # other parameters are ignored
        (b"gzip, gzip;q=0", (GZIP,), ()),  # first mention counts
        (b"dcz, br, gzip", (DCZ, BR, GZIP), ()),
        (b"x-gzip", (), ()),
    ],
)
def test_parse_accept_encoding(
    header: bytes, accepted: tuple[Algorithm, ...], rejected: tuple[Algorithm, ...]
) -> None:
    parsed = parse_accept_encoding(header)
    assert parsed.accepted == accepted
    assert parsed.rejected == frozenset(rejected)
    assert parsed.present


def test_several_accept_encoding_fields_are_joined() -> None:
    req = RequestHeader.build("GET", "/")
    req.append_header("Accept-Encoding", "gzip;q=0")
    req.append_header("accept-encoding", "zstd")
    parsed = parse_accept_encoding(req.get_all("accept-encoding"))
    assert parsed == AcceptEncoding(accepted=(ZSTD,), rejected=frozenset({GZIP}), present=True)


def test_absent_header() -> None:
    assert parse_accept_encoding(None) == AcceptEncoding()
    assert parse_accept_encoding([]).present is False
    with pytest.raises(TypeError, match="list of bytes"):
        parse_accept_encoding("gzip")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("header", "coding", "accepted"),
    [
        (b"gzip", GZIP, True),
        (b"gzip", BR, False),
        (b"*", BR, True),
        (b"*", Algorithm.OTHER, False),
        (b"gzip;q=0, *", GZIP, False),
        (b"gzip;q=0, *", ZSTD, True),
        (b"*;q=0", GZIP, False),
        (b"*;q=0, br", BR, True),
        (b"identity", GZIP, False),
    ],
)
def test_accepts(header: bytes, coding: Algorithm, accepted: bool) -> None:
    assert parse_accept_encoding(header).accepts(coding) is accepted


def test_algorithm_from_token() -> None:
    assert Algorithm.from_token("GzIp") is GZIP
    assert Algorithm.from_token(b" br ") is BR
    assert Algorithm.from_token("*") is ANY
    assert Algorithm.from_token("deflate") is Algorithm.OTHER
    assert Algorithm.from_token("") is Algorithm.OTHER
    with pytest.raises(TypeError, match="str or bytes"):
        Algorithm.from_token(3)  # type: ignore[arg-type]


# -- decide_action ---------------------------------------------------------------------------------

HTML_20 = (("content-length", "20"), ("content-type", "text/html"))

DECIDE_CASES = [
    # Pingora's test_decide_action, in order
    ("nothing asked", (), (), NOOP),
    ("already gzip", (("content-type", "text/html"), ("content-encoding", "gzip")), (GZIP,), NOOP),
    ("already gzip, upper case", (("content-encoding", "GzIp"),), (GZIP,), NOOP),
    ("compress", HTML_20, (GZIP,), Action.compress(GZIP)),
    ("too small", (("content-length", "19"), ("content-type", "text/html")), (GZIP,), NOOP),
    (
        "compressed MIME",
        (("content-length", "20"), ("content-type", "text/html+zip")),
        (GZIP,),
        NOOP,
    ),
    ("unsupported MIME", (("content-length", "20"), ("content-type", "image/jpg")), (GZIP,), NOOP),
    ("decompress", (("content-encoding", "gzip"),), (), Action.decompress(GZIP)),
    ("other accepted", (("content-encoding", "gzip"),), (BR,), Action.decompress(GZIP)),
    ("less preferred but accepted", (("content-encoding", "gzip"),), (BR, GZIP), NOOP),
    ("dcb passthrough", (("content-encoding", "dcb"),), (DCB, BR), NOOP),
    ("dcz passthrough", (("content-encoding", "dcz"),), (DCZ, ZSTD), NOOP),
    ("dcz wanted, br sent", (("content-encoding", "br"),), (DCZ,), Action.decompress(BR)),
    ("dcz wanted, zstd sent", (("content-encoding", "zstd"),), (DCZ,), Action.decompress(ZSTD)),
    ("dcb wanted, gzip sent", (("content-encoding", "gzip"),), (DCB,), Action.decompress(GZIP)),
    ("dcb wanted, br sent", (("content-encoding", "br"),), (DCB,), Action.decompress(BR)),
    # ours: the first accepted coding we can produce wins; `*` first means no preference
    ("br first", HTML_20, (BR, GZIP), Action.compress(BR)),
    ("zstd first", HTML_20, (ZSTD, BR), Action.compress(ZSTD)),
    ("dictionary codings skipped", HTML_20, (DCZ, DCB, GZIP), Action.compress(GZIP)),
    ("any first", HTML_20, (ANY, GZIP), NOOP),
    ("any after gzip", HTML_20, (GZIP, ANY), Action.compress(GZIP)),
    ("unknown length", (("content-type", "application/json"),), (GZIP,), Action.compress(GZIP)),
    (
        "unparsable length",
        (("content-length", "big"), ("content-type", "text/css")),
        (BR,),
        Action.compress(BR),
    ),
    ("no content type", (("content-length", "1000"),), (GZIP,), NOOP),
    ("unknown coding sent", (("content-encoding", "deflate"),), (GZIP,), Action.decompress(
        Algorithm.OTHER
    )),
]


@pytest.mark.parametrize(
    ("fields", "accepted", "action"),
    [case[1:] for case in DECIDE_CASES],
    ids=[case[0] for case in DECIDE_CASES],
)
def test_decide_action(
    fields: tuple[tuple[str, str], ...], accepted: tuple[Algorithm, ...], action: Action
) -> None:
    assert decide_action(_resp(*fields), _accept(*accepted)) == action


def test_decide_action_skips_algorithms_turned_off() -> None:
    resp = _resp(*HTML_20)
    assert decide_action(resp, _accept(GZIP, BR), frozenset({BR})) == Action.compress(BR)
    assert decide_action(resp, _accept(GZIP), frozenset({BR, ZSTD})) == NOOP


def test_decide_action_with_q_zero() -> None:
    resp = _resp(*HTML_20)
    assert decide_action(resp, parse_accept_encoding(b"gzip;q=0")) == NOOP
    assert decide_action(resp, parse_accept_encoding(b"br;q=0, gzip")) == Action.compress(GZIP)
    coded = _resp(("content-encoding", "gzip"))
    assert decide_action(coded, parse_accept_encoding(b"gzip;q=0, *")) == Action.decompress(GZIP)
    assert decide_action(coded, parse_accept_encoding(b"*")) == NOOP


# -- compressible -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("text/html", True),
        ("text/plain; charset=utf-8", True),
        ("Text/CSS", True),
        ("application/json", True),
        ("application/javascript", True),
        ("application/xml", True),
        ("application/wasm", True),
        ("font/woff2", True),
        ("image/svg+xml", True),
        ("image/x-icon", True),
        ("image/vnd.microsoft.icon", True),
        ("binary/octet-stream", True),
        ("image/png", False),
        ("image/jpg", False),
        ("video/mp4", False),
        ("audio/mpeg", False),
        ("application/zip", False),
        ("application/gzip", False),
        ("application/x-bzip2", False),
        ("text/html+zip", False),
        ("multipart/form-data", False),
        ("", False),
    ],
)
def test_compressible_content_types(content_type: str, expected: bool) -> None:
    assert compressible(_resp(("content-type", content_type))) is expected


@pytest.mark.parametrize(
    ("length", "expected"),
    [("0", False), ("19", False), ("20", True), ("1048576", True), ("nope", True), (None, True)],
)
def test_compressible_sizes(length: str | None, expected: bool) -> None:
    resp = _resp(("content-type", "text/plain"))
    if length is not None:
        resp.insert_header("content-length", length)
    assert compressible(resp) is expected


def test_decide_on_accept_encoding() -> None:
    # Pingora's test_decide_on_accept_encoding
    resp = _resp(
        ("content-length", "50"), ("content-type", "text/html"), ("content-encoding", "gzip")
    )
    assert depends_on_accept_encoding(resp, False, True)
    assert not depends_on_accept_encoding(resp, False, False)
    resp.remove_header("content-encoding")
    assert not depends_on_accept_encoding(resp, False, True)
    assert depends_on_accept_encoding(resp, True, False)
    assert not depends_on_accept_encoding(resp, False, False)
    resp.insert_header("content-type", "text/html+zip")
    assert not depends_on_accept_encoding(resp, True, False)


# -- Vary ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ([], [b"Accept-Encoding"]),
        (["Accept-Language"], [b"Accept-Language", b"Accept-Encoding"]),
        (["Accept-Language, Accept-Encoding"], [b"Accept-Language, Accept-Encoding"]),
        (["accept-language,accept-encoding"], [b"accept-language,accept-encoding"]),
        (["Origin", " ACCEPT-ENCODING "], [b"Origin", b" ACCEPT-ENCODING "]),
        (["*"], [b"*"]),
        (["Cookie, *"], [b"Cookie, *"]),
        (["Accept-Encodings"], [b"Accept-Encodings", b"Accept-Encoding"]),
    ],
)
def test_add_vary_header(before: list[str], after: list[bytes]) -> None:
    resp = ResponseHeader.build(200)
    for value in before:
        resp.append_header("Vary", value)
    add_vary_header(resp)
    assert resp.get_all("vary") == after


# -- header rewriting ---------------------------------------------------------------------------


def _full() -> ResponseHeader:
    return _resp(
        ("content-length", "20"),
        ("content-encoding", "gzip"),
        ("accept-ranges", "bytes"),
        ("etag", '"abc123"'),
    )


def test_adjust_response_header_noop() -> None:
    resp = _full()
    adjust_response_header(resp, NOOP, False)
    assert resp == _full()
    assert resp.get("transfer-encoding") is None


def test_adjust_response_header_decompress() -> None:
    resp = _full()
    adjust_response_header(resp, Action.decompress(GZIP), False)
    assert resp.get("content-encoding") is None
    assert resp.get("content-length") is None
    assert resp.get("accept-ranges") is None
    assert resp.get("transfer-encoding") == b"chunked"
    assert resp.get("etag") == b'W/"abc123"'
    # preserve_etag keeps a strong ETag
    resp.insert_header("etag", '"abc123"')
    adjust_response_header(resp, Action.decompress(GZIP), True)
    assert resp.get("etag") == b'"abc123"'


def test_adjust_response_header_compress() -> None:
    resp = _resp(("content-length", "20"), ("accept-ranges", "bytes"), ("etag", "abc123"))
    adjust_response_header(resp, Action.compress(GZIP), False)
    assert resp.get("content-encoding") == b"gzip"
    assert resp.get("content-length") is None
    assert resp.get("accept-ranges") is None
    assert resp.get("transfer-encoding") == b"chunked"
    assert resp.get("etag") is None  # not a quoted string: cleared
    resp.insert_header("etag", "abc123")
    adjust_response_header(resp, Action.compress(GZIP), True)
    assert resp.get("etag") == b"abc123"


@pytest.mark.parametrize(
    ("etag", "after"),
    [('"x"', b'W/"x"'), ('W/"x"', b'W/"x"'), ("x", None), ('""', b'W/""')],
)
def test_etag_weakening(etag: str, after: bytes | None) -> None:
    resp = _resp(("etag", etag))
    adjust_response_header(resp, Action.compress(BR), False)
    assert resp.get("etag") == after
    assert resp.get("content-encoding") == b"br"


def test_http2_response_gets_no_transfer_encoding() -> None:
    resp = ResponseHeader.from_h2_headers([(b":status", b"200"), (b"content-length", b"99")])
    adjust_response_header(resp, Action.compress(ZSTD), False)
    assert resp.get("transfer-encoding") is None
    assert resp.get("content-length") is None
    assert resp.get("content-encoding") == b"zstd"
