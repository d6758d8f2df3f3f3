"""The streaming encoders: Pingora's byte vectors, round trips through the reference libraries
(zlib / gzip, brotli, zstandard) on streamed chunks, counters, errors, and hypothesis: any
chunking of any body round-trips through each encoder."""

from __future__ import annotations

import gzip
import itertools
import zlib
from collections.abc import Callable

import brotli
import pytest
import zstandard
from hypothesis import given
from hypothesis import strategies as st

from pingora_core.errors import Error
from pingora_core.modules.compression import (
    COMPRESSION_ERROR,
    BrotliCompressor,
    BrotliDecompressor,
    Encoder,
    EncoderInfo,
    GzipCompressor,
    GzipDecompressor,
    ZstdCompressor,
)

TEXT = b"".join(b"line %d: the quick brown fox jumps over the lazy dog\n" % i for i in range(2000))


def _zstd_decompress(data: bytes) -> bytes:
    return zstandard.ZstdDecompressor().decompressobj().decompress(data)


def _brotli_decompress(data: bytes) -> bytes:
    out: bytes = brotli.decompress(data)
    return out


COMPRESSORS: list[tuple[str, Callable[[], Encoder], Callable[[bytes], bytes]]] = [
    ("gzip", lambda: GzipCompressor(6), gzip.decompress),
    ("gzip-1", lambda: GzipCompressor(1), gzip.decompress),
    ("gzip-noflush", lambda: GzipCompressor(9, flush=False), gzip.decompress),
    ("brotli", lambda: BrotliCompressor(5), _brotli_decompress),
    ("brotli-noflush", lambda: BrotliCompressor(11, flush=False), _brotli_decompress),
    ("zstd", lambda: ZstdCompressor(3), _zstd_decompress),
    ("zstd-noflush", lambda: ZstdCompressor(9, flush=False), _zstd_decompress),
]
COMPRESSOR_IDS = [c[0] for c in COMPRESSORS]

DECOMPRESSORS: list[tuple[str, Callable[[], Encoder], Callable[[bytes], bytes]]] = [
    ("de-gzip", GzipDecompressor, lambda b: gzip.compress(b, 6)),
    ("de-brotli", BrotliDecompressor, lambda b: bytes(brotli.compress(b, quality=5))),
]


def _feed(encoder: Encoder, chunks: list[bytes]) -> tuple[bytes, list[bytes]]:
    outs = [encoder.encode(c, i == len(chunks) - 1) for i, c in enumerate(chunks)]
    if not chunks:
        outs.append(encoder.encode(b"", True))
    return b"".join(outs), outs


def _split(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)] or [b""]


# -- Pingora's vectors ---------------------------------------------------------------------------


def test_gzip_data() -> None:
    compressor = GzipCompressor(6)
    compressed = compressor.encode(b"abcdefg", True)
    assert compressed[:3] == bytes([0x1F, 0x8B, 0x08])  # gzip magic, deflate
    assert compressed[-9:] == bytes([0, 166, 106, 42, 49, 7, 0, 0, 0])  # crc32 and size
    assert compressor.total_in == 7
    assert compressor.total_out == len(compressed)


def test_gunzip_data() -> None:
    data = bytes(
        [0x1F, 0x8B, 0x08, 0, 0, 0, 0, 0, 0, 255, 75, 76, 74, 78, 73, 77, 75, 7, 0, 166, 106]
    ) + bytes([42, 49, 7, 0, 0, 0])
    decompressor = GzipDecompressor()
    assert decompressor.encode(data, True) == b"abcdefg"
    assert decompressor.total_in == len(data)
    assert decompressor.total_out == 7
    assert decompressor.info().name == "de-gzip"


BROTLI_BODY = bytes(
    [0x00, 0xF8, 0x45, 0x07, 0x87, 0x3E, 0x10, 0xFB, 0x55, 0x92, 0xEC, 0x12, 0x09, 0xCC, 0x38]
) + bytes([0xDD, 0x51, 0x1E])


def test_decompress_brotli_data() -> None:
    data = bytes([0x1F, 0x0F]) + BROTLI_BODY
    assert BrotliDecompressor().encode(data, True) == b"adcdefgabcdefgh\n"


def test_compress_brotli_data() -> None:
    compressed = BrotliCompressor(11).encode(b"adcdefgabcdefgh\n", True)
    # The two header bytes carry the window size, which libraries encode differently; the
    # compressed payload is byte-identical to Pingora's vector.
    assert compressed[2:] == BROTLI_BODY
    assert brotli.decompress(compressed) == b"adcdefgabcdefgh\n"


def test_compress_zstd_data() -> None:
    data = b"adcdefgabcdefghadcdefgabcdefghadcdefgabcdefghadcdefgabcdefgh\n"
    compressor = ZstdCompressor(11, flush=False)
    assert compressor.encode(data, False) == b""  # waiting for more data
    compressed = compressor.encode(data, True)
    assert compressed[:4] == bytes([0x28, 0xB5, 0x2F, 0xFD])  # zstd magic number
    assert len(compressed) < len(data)
    assert _zstd_decompress(compressed) == data * 2


# -- streaming -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "make", "decode"), COMPRESSORS, ids=COMPRESSOR_IDS)
@pytest.mark.parametrize("chunk_size", [1, 100, 4096, 16384, len(TEXT)])
def test_streamed_round_trip(
    name: str, make: Callable[[], Encoder], decode: Callable[[bytes], bytes], chunk_size: int
) -> None:
    encoder = make()
    chunks = _split(TEXT if chunk_size > 1 else TEXT[:3000], chunk_size)
    compressed, _ = _feed(encoder, chunks)
    body = b"".join(chunks)
    assert decode(compressed) == body
    info = encoder.info()
    assert info == EncoderInfo(
        name=info.name, total_in=len(body), total_out=len(compressed), duration=info.duration
    )
    assert info.duration > 0
    assert encoder.finished


FLUSHING = [COMPRESSORS[0], COMPRESSORS[3], COMPRESSORS[5]]


@pytest.mark.parametrize(("name", "make", "decode"), FLUSHING, ids=["gzip", "brotli", "zstd"])
def test_flush_per_chunk_makes_each_prefix_decodable(
    name: str, make: Callable[[], Encoder], decode: Callable[[bytes], bytes]
) -> None:
    # With flush on, a client can decode everything sent so far after every chunk.
    encoder = make()
    sent = b""
    chunks = _split(TEXT[:20000], 5000)
    for i, chunk in enumerate(chunks[:-1]):
        out = encoder.encode(chunk, False)
        assert out, "every chunk yields bytes at once"
        sent += out
        if name == "gzip":
            partial = zlib.decompressobj(31).decompress(sent)
        elif name == "brotli":
            partial = brotli.Decompressor().process(sent)
        else:
            partial = zstandard.ZstdDecompressor().decompressobj().decompress(sent)
        assert partial == b"".join(chunks[: i + 1])
    sent += encoder.encode(chunks[-1], True)
    assert decode(sent) == TEXT[:20000]


@pytest.mark.parametrize(("name", "make", "decode"), COMPRESSORS, ids=COMPRESSOR_IDS)
def test_empty_body_and_finish_later(
    name: str, make: Callable[[], Encoder], decode: Callable[[bytes], bytes]
) -> None:
    encoder = make()
    out = encoder.encode(b"hello ", False) + encoder.encode(b"", False)
    out += encoder.encode(b"", True)  # the end arrives without data
    assert decode(out) == b"hello "
    # finishing again is harmless; more data is not
    assert encoder.encode(b"", True) == b""
    with pytest.raises(Error, match="data after the end") as info:
        encoder.encode(b"more", False)
    assert info.value.etype == COMPRESSION_ERROR
    empty = make()
    assert decode(empty.encode(b"", True)) == b""


@pytest.mark.parametrize(("name", "make", "encode"), DECOMPRESSORS, ids=["gzip", "brotli"])
@pytest.mark.parametrize("chunk_size", [1, 7, 1000, 1 << 20])
def test_decompressor_round_trip(
    name: str, make: Callable[[], Encoder], encode: Callable[[bytes], bytes], chunk_size: int
) -> None:
    body = TEXT[:5000] if chunk_size == 1 else TEXT
    compressed = encode(body)
    decoder = make()
    out, _ = _feed(decoder, _split(compressed, chunk_size))
    assert out == body
    assert decoder.total_in == len(compressed)
    assert decoder.total_out == len(body)


def test_gzip_decompressor_reads_concatenated_members() -> None:
    data = gzip.compress(b"first ") + gzip.compress(b"second ") + gzip.compress(b"third")
    for size in (1, 5, len(data)):
        out, _ = _feed(GzipDecompressor(), _split(data, size))
        assert out == b"first second third"


@pytest.mark.parametrize(("name", "make", "encode"), DECOMPRESSORS, ids=["gzip", "brotli"])
def test_decompressor_errors(
    name: str, make: Callable[[], Encoder], encode: Callable[[bytes], bytes]
) -> None:
    compressed = encode(TEXT[:1000])
    truncated = make()
    truncated.encode(compressed[:-4], False)
    with pytest.raises(Error, match="truncated") as info:
        truncated.encode(b"", True)
    assert info.value.etype == COMPRESSION_ERROR

    garbage = make()
    with pytest.raises(Error, match=f"while {name}") as info:
        garbage.encode(b"this is not compressed at all" * 3, False)
    assert info.value.etype == COMPRESSION_ERROR
    assert info.value.cause is not None
    with pytest.raises(Error, match="failed"):  # unusable afterwards
        garbage.encode(b"", True)
    assert "failed" in repr(garbage)


def test_brotli_bytes_after_the_end_are_an_error() -> None:
    decoder = BrotliDecompressor()
    with pytest.raises(Error):
        decoder.encode(brotli.compress(b"abc") + b"trailing", True)


# -- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: GzipCompressor(10), ValueError, "gzip level must be in 0..=9"),
        (lambda: GzipCompressor(-1), ValueError, "gzip level"),
        (lambda: BrotliCompressor(12), ValueError, "brotli level must be in 0..=11"),
        (lambda: BrotliCompressor(5, lgwin=9), ValueError, "brotli window"),
        (lambda: ZstdCompressor(0), ValueError, "zstd level must be in 1..=22"),
        (lambda: ZstdCompressor(23), ValueError, "zstd level"),
        (lambda: GzipCompressor("6"), TypeError, "must be an int"),  # type: ignore[arg-type]
        (lambda: BrotliCompressor(True), TypeError, "must be an int"),
    ],
)
def test_bad_levels(make: Callable[[], Encoder], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        make()


def test_chunk_must_be_bytes_like() -> None:
    encoder = GzipCompressor()
    with pytest.raises(TypeError, match="bytes-like"):
        encoder.encode("text", False)  # type: ignore[arg-type]
    # bytearray and memoryview are accepted
    out = encoder.encode(bytearray(b"abc"), False) + encoder.encode(memoryview(b"def"), True)
    assert gzip.decompress(out) == b"abcdef"


def test_repr_shows_counters() -> None:
    encoder = ZstdCompressor(3)
    encoder.encode(b"abc" * 10, False)
    assert repr(encoder).startswith("ZstdCompressor(in=30, out=")
    assert "open" in repr(encoder)
    encoder.encode(b"", True)
    assert "finished" in repr(encoder)


# -- hypothesis ----------------------------------------------------------------------------------

bodies = st.one_of(
    st.binary(max_size=3000),
    st.text(alphabet="abc <>/\n", max_size=3000).map(str.encode),
)


@st.composite
def chunked(draw: st.DrawFn) -> list[bytes]:
    body = draw(bodies)
    cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=12)))
    bounds = [0, *cuts, len(body)]
    return [body[a:b] for a, b in itertools.pairwise(bounds)]


@pytest.mark.parametrize(("name", "make", "decode"), COMPRESSORS, ids=COMPRESSOR_IDS)
@given(chunks=chunked())
def test_any_chunking_round_trips_compressors(
    name: str, make: Callable[[], Encoder], decode: Callable[[bytes], bytes], chunks: list[bytes]
) -> None:
    encoder = make()
    out, _ = _feed(encoder, chunks)
    assert decode(out) == b"".join(chunks)
    assert encoder.total_in == sum(map(len, chunks))
    assert encoder.total_out == len(out)


@pytest.mark.parametrize(("name", "make", "encode"), DECOMPRESSORS, ids=["gzip", "brotli"])
@given(body=bodies, data=st.data())
def test_any_chunking_round_trips_decompressors(
    name: str,
    make: Callable[[], Encoder],
    encode: Callable[[bytes], bytes],
    body: bytes,
    data: st.DataObject,
) -> None:
    compressed = encode(body)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(compressed)), max_size=12)))
    bounds = [0, *cuts, len(compressed)]
    chunks = [compressed[a:b] for a, b in itertools.pairwise(bounds)]
    out, _ = _feed(make(), chunks)
    assert out == body
