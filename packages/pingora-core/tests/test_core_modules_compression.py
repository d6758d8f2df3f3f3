"""ResponseCompression driven through HttpModules as the proxy will drive it: switched on per
service or per request, gzip / br / zstd chosen by Accept-Encoding, heads rewritten, bodies
streamed chunk by chunk, decompression, responses left alone, and failures."""

from __future__ import annotations

import gzip
import logging
import zlib

import brotli
import pytest
import zstandard

from pingora_core.errors import Error, ErrorType
from pingora_core.modules import (
    Algorithm,
    HttpModuleCtx,
    HttpModules,
    ResponseCompression,
    ResponseCompressionBuilder,
)
from pingora_core.modules.compression import EncoderInfo, ResponseCompressionCtx
from pingora_http import RequestHeader, ResponseHeader

BODY = b"".join(b'{"id": %d, "name": "item %d", "tags": ["a", "b"]}\n' % (i, i) for i in range(500))
CHUNK = 1000


def _ctx(level: int = 0, **kwargs: bool) -> HttpModuleCtx:
    modules = HttpModules()
    modules.add_module(ResponseCompressionBuilder(level, **kwargs))
    return modules.build_ctx()


def _module(ctx: HttpModuleCtx) -> ResponseCompression:
    module = ctx.get(ResponseCompression)
    assert module is not None
    return module


def _request(accept: str | None, method: str = "GET") -> RequestHeader:
    req = RequestHeader.build(method, "/items")
    if accept is not None:
        req.append_header("Accept-Encoding", accept)
    return req


def _response(
    status: int = 200,
    content_type: str = "application/json",
    length: int | None = len(BODY),
    encoding: str | None = None,
) -> ResponseHeader:
    resp = ResponseHeader.build(status)
    resp.append_header("Content-Type", content_type)
    if length is not None:
        resp.set_content_length(length)
    if encoding is not None:
        resp.append_header("Content-Encoding", encoding)
    resp.append_header("ETag", '"v1"')
    resp.append_header("Accept-Ranges", "bytes")
    return resp


async def _stream(ctx: HttpModuleCtx, body: bytes, *, end_in_body: bool = True) -> list[bytes]:
    """Feed `body` in CHUNK pieces; return what would go to the client, chunk by chunk."""
    pieces = [body[i : i + CHUNK] for i in range(0, len(body), CHUNK)]
    out = []
    for i, piece in enumerate(pieces):
        last = end_in_body and i == len(pieces) - 1
        sent = await ctx.response_body_filter(piece, last)
        assert sent is not None
        out.append(sent)
    done = await ctx.response_done_filter()
    if done is not None:
        out.append(done)
    return out


async def _run(
    ctx: HttpModuleCtx, req: RequestHeader, resp: ResponseHeader, body: bytes = BODY
) -> bytes:
    await ctx.request_header_filter(req)
    await ctx.response_header_filter(resp, False)
    return b"".join(await _stream(ctx, body))


def _decode(coding: bytes | None, data: bytes) -> bytes:
    if coding == b"gzip":
        return gzip.decompress(data)
    if coding == b"br":
        out: bytes = brotli.decompress(data)
        return out
    if coding == b"zstd":
        return zstandard.ZstdDecompressor().decompressobj().decompress(data)
    assert coding is None
    return data


# -- on / off -----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_level_zero_is_present_but_off() -> None:
    ctx = _ctx()
    resp = _response()
    before = resp.copy()
    assert await _run(ctx, _request("gzip"), resp) == BODY
    assert resp == before  # not even Vary
    assert not _module(ctx).is_enabled()
    assert _module(ctx).get_info() is None


@pytest.mark.anyio
async def test_switched_on_per_request_after_the_request_filter() -> None:
    ctx = _ctx()
    req = _request("gzip")
    await ctx.request_header_filter(req)  # runs before the user's request_filter
    _module(ctx).adjust_level(6)  # the user's request_filter turns it on
    resp = _response()
    await ctx.response_header_filter(resp, False)
    out = b"".join(await _stream(ctx, BODY))
    assert resp.get("content-encoding") == b"gzip"
    assert gzip.decompress(out) == BODY
    info = _module(ctx).get_info()
    assert info is not None
    assert (info.name, info.total_in, info.total_out) == ("gzip", len(BODY), len(out))


@pytest.mark.parametrize(
    ("accept", "coding"),
    [
        ("gzip", b"gzip"),
        ("br", b"br"),
        ("zstd", b"zstd"),
        ("gzip, deflate, br, zstd", b"gzip"),
        ("br;q=1.0, gzip;q=0.8", b"br"),
        ("zstd, br, gzip", b"zstd"),
        ("gzip;q=0, br", b"br"),
        ("deflate, identity", None),
        ("*", None),
        (None, None),
    ],
)
@pytest.mark.anyio
async def test_service_level_compression_by_accept_encoding(
    accept: str | None, coding: bytes | None
) -> None:
    ctx = _ctx(6)
    resp = _response()
    out = await _run(ctx, _request(accept), resp)
    assert resp.get("content-encoding") == coding
    assert _decode(coding, out) == BODY
    assert resp.get_all("vary") == [b"Accept-Encoding"]  # the answer depends on the header
    if coding is None:
        assert resp.get("content-length") == str(len(BODY)).encode()
        assert resp.get("etag") == b'"v1"'
        assert _module(ctx).get_info() is None
    else:
        assert len(out) < len(BODY) // 3
        assert resp.get("content-length") is None
        assert resp.get("accept-ranges") is None
        assert resp.get("transfer-encoding") == b"chunked"
        assert resp.get("etag") == b'W/"v1"'


@pytest.mark.anyio
async def test_each_chunk_is_sent_at_once() -> None:
    ctx = _ctx(6)
    await ctx.request_header_filter(_request("gzip"))
    await ctx.response_header_filter(_response(), False)
    decoder = zlib.decompressobj(31)
    received = b""
    for i in range(0, 5 * CHUNK, CHUNK):
        sent = await ctx.response_body_filter(BODY[i : i + CHUNK], False)
        assert sent
        received += decoder.decompress(sent)
        assert received == BODY[: i + CHUNK]  # the client can read everything so far


@pytest.mark.anyio
async def test_end_delivered_by_the_done_filter() -> None:
    ctx = _ctx(4)
    await ctx.request_header_filter(_request("br"))
    resp = _response(length=None)
    await ctx.response_header_filter(resp, False)
    pieces = await _stream(ctx, BODY, end_in_body=False)  # e.g. the body ended with trailers
    assert brotli.decompress(b"".join(pieces)) == BODY
    # finishing twice is harmless: nothing more to send
    assert await ctx.response_done_filter() is None


@pytest.mark.anyio
async def test_level_above_an_algorithm_maximum_uses_the_maximum() -> None:
    for accept in ("gzip", "br", "zstd"):
        ctx = _ctx(22)
        resp = _response()
        out = await _run(ctx, _request(accept), resp)
        assert _decode(resp.get("content-encoding"), out) == BODY


@pytest.mark.anyio
async def test_per_algorithm_level_zero_skips_that_algorithm() -> None:
    ctx = _ctx(6)
    _module(ctx).adjust_algorithm_level(Algorithm.GZIP, 0)
    resp = _response()
    out = await _run(ctx, _request("gzip, zstd"), resp)
    assert resp.get("content-encoding") == b"zstd"
    assert _decode(b"zstd", out) == BODY


@pytest.mark.anyio
async def test_preserve_etag() -> None:
    ctx = _ctx(6, preserve_etag=True)
    resp = _response()
    await _run(ctx, _request("gzip"), resp)
    assert resp.get("etag") == b'"v1"'
    ctx = _ctx(6)
    _module(ctx).ctx.adjust_algorithm_preserve_etag(Algorithm.BROTLI, True)
    resp = _response()
    await _run(ctx, _request("br"), resp)
    assert resp.get("etag") == b'"v1"'


# -- responses left alone -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resp", "method"),
    [
        (_response(status=204, length=None), "GET"),
        (_response(status=304, length=None), "GET"),
        (_response(), "HEAD"),
        (_response(content_type="image/png"), "GET"),
        (_response(content_type="application/zip"), "GET"),
        (_response(length=19), "GET"),
        (_response(encoding="gzip"), "GET"),  # already encoded, and the client takes it
        (_response(encoding="deflate"), "GET"),  # an encoding we do not touch
    ],
    ids=["204", "304", "HEAD", "png", "zip", "tiny", "already-gzip", "deflate"],
)
@pytest.mark.anyio
async def test_responses_not_compressed(resp: ResponseHeader, method: str) -> None:
    ctx = _ctx(6, decompress=True)
    await ctx.request_header_filter(_request("gzip, br", method))
    before = resp.copy()
    await ctx.response_header_filter(resp, False)
    assert resp.get("content-encoding") == before.get("content-encoding")
    assert resp.get("content-length") == before.get("content-length")
    assert resp.get("etag") == b'"v1"'
    assert await ctx.response_body_filter(b"payload", True) == b"payload"


@pytest.mark.anyio
async def test_response_without_body_is_left_alone() -> None:
    ctx = _ctx(6)
    await ctx.request_header_filter(_request("gzip"))
    resp = _response()
    before = resp.copy()
    await ctx.response_header_filter(resp, True)  # end of stream with the header
    assert resp == before
    assert await ctx.response_done_filter() is None


@pytest.mark.anyio
async def test_informational_then_final_response() -> None:
    ctx = _ctx(6)
    await ctx.request_header_filter(_request("gzip"))
    early = ResponseHeader.build(103)
    early.append_header("Link", "</style.css>; rel=preload")
    await ctx.response_header_filter(early, False)
    assert early.get("content-encoding") is None
    assert _module(ctx).is_enabled()  # still waiting for the final header
    resp = _response()
    await ctx.response_header_filter(resp, False)
    assert resp.get("content-encoding") == b"gzip"


@pytest.mark.anyio
async def test_switching_protocols_is_never_touched() -> None:
    ctx = _ctx(6)
    await ctx.request_header_filter(_request("gzip"))
    resp = ResponseHeader.build(101)
    resp.append_header("Upgrade", "websocket")
    await ctx.response_header_filter(resp, False)
    assert resp.get("vary") is None
    assert not _module(ctx).is_enabled()
    assert await ctx.response_body_filter(b"\x81\x05hello", False) == b"\x81\x05hello"


@pytest.mark.anyio
async def test_existing_vary_is_merged() -> None:
    ctx = _ctx(6)
    resp = _response()
    resp.append_header("Vary", "accept-encoding, Origin")
    await _run(ctx, _request("gzip"), resp)
    assert resp.get_all("vary") == [b"accept-encoding, Origin"]


# -- decompression ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("coding", "encoded"),
    [("gzip", gzip.compress(BODY)), ("br", bytes(brotli.compress(BODY)))],
)
@pytest.mark.parametrize("accept", [None, "identity", "zstd", "gzip;q=0, br;q=0"])
@pytest.mark.anyio
async def test_decompress_what_the_client_does_not_accept(
    coding: str, encoded: bytes, accept: str | None
) -> None:
    ctx = _ctx(0)
    await ctx.request_header_filter(_request(accept))
    _module(ctx).adjust_decompression(True)
    resp = _response(length=len(encoded), encoding=coding)
    await ctx.response_header_filter(resp, False)
    out = b"".join(await _stream(ctx, encoded))
    assert out == BODY
    assert resp.get("content-encoding") is None
    assert resp.get("content-length") is None
    assert resp.get("transfer-encoding") == b"chunked"
    assert resp.get("etag") == b'W/"v1"'
    assert resp.get_all("vary") == [b"Accept-Encoding"]
    info = _module(ctx).get_info()
    assert info is not None
    assert info.name == f"de-{'gzip' if coding == 'gzip' else 'brotli'}"
    assert (info.total_in, info.total_out) == (len(encoded), len(BODY))


@pytest.mark.anyio
async def test_no_decompression_when_off_or_accepted() -> None:
    encoded = gzip.compress(BODY)
    for ctx, accept in ((_ctx(6), "br"), (_ctx(6, decompress=True), "gzip")):
        resp = _response(length=len(encoded), encoding="gzip")
        out = await _run(ctx, _request(accept), resp, encoded)
        assert out == encoded
        assert resp.get("content-encoding") == b"gzip"
    ctx = _ctx(0, decompress=True)
    _module(ctx).ctx.adjust_algorithm_decompression(Algorithm.GZIP, False)
    resp = _response(length=len(encoded), encoding="gzip")
    assert await _run(ctx, _request("br"), resp, encoded) == encoded


@pytest.mark.anyio
async def test_corrupt_body_passes_through_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ctx = _ctx(0, decompress=True)
    await ctx.request_header_filter(_request(None))
    await ctx.response_header_filter(_response(encoding="gzip"), False)
    with caplog.at_level(logging.WARNING, logger="pingora_core.modules.compression"):
        first = await ctx.response_body_filter(b"not gzip at all", False)
    assert first == b"not gzip at all"
    assert "compression failed" in caplog.text
    assert await ctx.response_body_filter(b"more", True) == b"more"  # disabled for the rest
    assert not _module(ctx).is_enabled()


# -- misuse and bad input -----------------------------------------------------------------------


@pytest.mark.anyio
async def test_settings_are_frozen_after_the_response_header() -> None:
    ctx = _ctx(6)
    await ctx.request_header_filter(_request("gzip"))
    await ctx.response_header_filter(_response(), False)
    module = _module(ctx)
    with pytest.raises(Error, match="after the response header") as info:
        module.adjust_level(1)
    assert info.value.etype == ErrorType.InternalError
    with pytest.raises(Error):
        module.adjust_decompression(True)
    with pytest.raises(Error, match="second final response header"):
        await ctx.response_header_filter(_response(), False)
    with pytest.raises(Error, match="request header seen after"):
        await ctx.request_header_filter(_request("gzip"))


def test_body_before_header_is_an_error() -> None:
    ctx = ResponseCompressionCtx(6)
    with pytest.raises(Error, match="before the response header"):
        ctx.response_body_filter(b"x", False)
    assert ResponseCompressionCtx(0).response_body_filter(b"x", False) is None


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: ResponseCompressionBuilder(-1), ValueError, "0..=22"),
        (lambda: ResponseCompressionBuilder(23), ValueError, "0..=22"),
        (lambda: ResponseCompressionBuilder("6"), TypeError, "int"),  # type: ignore[arg-type]
        (lambda: ResponseCompressionBuilder(6, decompress=1), TypeError, "bool"),  # type: ignore[arg-type]
        (lambda: ResponseCompressionCtx(1).adjust_level(99), ValueError, "0..=22"),
        (
            lambda: ResponseCompressionCtx(1).adjust_algorithm_level(Algorithm.DCZ, 3),
            ValueError,
            "BROTLI, GZIP, ZSTD",
        ),
        (
            lambda: ResponseCompressionCtx(1).adjust_algorithm_decompression(Algorithm.ZSTD, True),
            ValueError,
            "BROTLI, GZIP",
        ),
        (lambda: ResponseCompressionCtx(1).adjust_preserve_etag("yes"), TypeError, "bool"),  # type: ignore[arg-type]
    ],
)
def test_bad_settings(call: object, error: type[Exception], match: str) -> None:
    assert callable(call)
    with pytest.raises(error, match=match):
        call()


def test_builder() -> None:
    builder = ResponseCompressionBuilder.enable(5)
    assert builder.level == 5
    assert builder.order == -16384  # after most other modules, as Pingora
    module = builder.init()
    assert isinstance(module, ResponseCompression)
    assert module.is_enabled()
    assert repr(builder) == (
        "ResponseCompressionBuilder(level=5, decompress=False, preserve_etag=False)"
    )
    assert "phase=header" in repr(module)
    assert "'gzip': 5" in repr(module)


def test_get_info_is_an_encoder_info() -> None:
    ctx = ResponseCompressionCtx(6)
    req = _request("zstd")
    ctx.request_filter(req)
    ctx.response_header_filter(_response(), False)
    out = ctx.response_body_filter(BODY, True)
    assert out is not None
    info = ctx.get_info()
    assert isinstance(info, EncoderInfo)
    assert (info.name, info.total_in, info.total_out) == ("zstd", len(BODY), len(out))
    assert "phase=body" in repr(ctx)


def test_per_request_settings_do_not_leak() -> None:
    modules = HttpModules()
    modules.add_module(ResponseCompressionBuilder(0))
    first = modules.build_ctx()
    _module(first).adjust_level(6)
    _module(first).adjust_decompression(True)
    second = modules.build_ctx()
    assert _module(first).is_enabled()
    assert not _module(second).is_enabled()


@pytest.mark.anyio
async def test_usage_example() -> None:
    # The usage example proposed for the pingora-core README, verbatim.
    from pingora_core.modules import HttpModules, ResponseCompression, ResponseCompressionBuilder
    from pingora_http import RequestHeader, ResponseHeader

    modules = HttpModules()
    modules.add_module(ResponseCompressionBuilder(level=0))  # present, off by default

    ctx = modules.build_ctx()  # one per request
    req = RequestHeader.build("GET", "/")
    req.append_header("Accept-Encoding", "br;q=1.0, gzip;q=0.8")
    await ctx.request_header_filter(req)
    compression = ctx.get(ResponseCompression)
    assert compression is not None
    compression.adjust_level(6)  # switched on for this request

    resp = ResponseHeader.build(200)
    resp.append_header("Content-Type", "text/html")
    resp.append_header("ETag", '"v1"')
    await ctx.response_header_filter(resp, False)
    assert resp.get("Content-Encoding") == b"br"
    assert resp.get("ETag") == b'W/"v1"'
    assert resp.get("Vary") == b"Accept-Encoding"

    sent = [await ctx.response_body_filter(b"<p>hello</p>" * 100, False)]
    sent.append(await ctx.response_body_filter(b"<p>bye</p>", True))
    body = b"".join(s for s in sent if s)
    assert brotli.decompress(body) == b"<p>hello</p>" * 100 + b"<p>bye</p>"
    info = compression.get_info()
    assert info is not None
    assert (info.name, info.total_in) == ("brotli", 1210)
