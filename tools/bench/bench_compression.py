"""Streaming response compression of pingora_core.modules.compression beside each library's
one-shot call at the same level, in one run.

A 1 MiB text body (HTML-like, generated from a fixed seed) goes through our streaming encoders
in 16 KiB chunks, each chunk flushed so a client could decode it at once (as the proxy sends
it), and through the one-shot reference on the whole body:
  gzip    GzipCompressor(level)            vs gzip.compress(body, level)
  brotli  BrotliCompressor(level)          vs brotli.compress(body, quality=level, lgwin=19)
  zstd    ZstdCompressor(level)            vs zstandard.ZstdCompressor(level).compress(body)
  (and the same encoders without per-chunk flush, and the gzip / brotli decoders beside
   gzip.decompress / brotli.decompress)
Every output is decoded and checked before timing. Rounds are interleaved; each contender's
best round is reported (MB/s of uncompressed data), with the compression ratio (in / out).

    python tools/bench/bench_compression.py [--level 6] [--rounds 15] [--size-kib 1024]
"""

from __future__ import annotations

import argparse
import gzip
import importlib
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Protocol, cast

import zstandard

from pingora_core.modules.compression import (
    BrotliCompressor,
    BrotliDecompressor,
    Encoder,
    GzipCompressor,
    GzipDecompressor,
    ZstdCompressor,
)

CHUNK: Final = 16 * 1024


class _Brotli(Protocol):
    def compress(self, data: bytes, *, quality: int, lgwin: int) -> bytes: ...
    def decompress(self, data: bytes) -> bytes: ...


brotli = cast(_Brotli, importlib.import_module("brotli"))  # the package has no type hints

WORDS: Final = (
    "pingora", "proxy", "request", "response", "header", "body", "upstream", "downstream",
    "cache", "connection", "pool", "server", "client", "stream", "chunk", "encoding",
    "compression", "latency", "throughput", "the", "a", "of", "and", "to", "in", "is", "for",
    "on", "with", "as", "by", "at", "from", "this", "that", "be", "are", "it", "or", "an",
    "will", "can", "not", "all", "new", "more",
)


def make_body(size: int, seed: int = 7) -> bytes:
    """Deterministic HTML-like text: tags, attributes, numbers and prose from a small lexicon."""
    rng = random.Random(seed)
    parts: list[str] = ["<!doctype html><html><body>\n"]
    total = len(parts[0])
    while total < size:
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 40)))
        line = (
            f'<div class="item-{rng.randint(0, 500)}" data-id="{rng.getrandbits(32):08x}">'
            f"<p>{words}.</p><span>{rng.random():.6f}</span></div>\n"
        )
        parts.append(line)
        total += len(line)
    return "".join(parts).encode()[:size]


def chunks_of(body: bytes) -> list[bytes]:
    return [body[i : i + CHUNK] for i in range(0, len(body), CHUNK)]


def stream(make: Callable[[], Encoder], pieces: list[bytes]) -> bytes:
    encoder = make()
    last = len(pieces) - 1
    return b"".join([encoder.encode(p, i == last) for i, p in enumerate(pieces)])


@dataclass(frozen=True, slots=True, kw_only=True)
class Pair:
    """Our streaming path and the one-shot reference for one algorithm."""

    name: str
    ours: Callable[[], bytes]
    reference: Callable[[], bytes]
    reference_name: str
    decode: Callable[[bytes], bytes]
    expected: bytes
    compressing: bool


def build_pairs(body: bytes, level: int) -> list[Pair]:
    pieces = chunks_of(body)
    zstd_ref = zstandard.ZstdCompressor(level=level)

    def zstd_decode(data: bytes) -> bytes:
        return zstandard.ZstdDecompressor().decompressobj().decompress(data)

    gz = gzip.compress(body, level)
    br = brotli.compress(body, quality=level, lgwin=19)
    gz_pieces, br_pieces = chunks_of(gz), chunks_of(br)
    return [
        Pair(
            name="gzip stream, flush/chunk",
            ours=lambda: stream(lambda: GzipCompressor(level), pieces),
            reference=lambda: gzip.compress(body, level),
            reference_name="gzip.compress",
            decode=gzip.decompress,
            expected=body,
            compressing=True,
        ),
        Pair(
            name="gzip stream, no flush",
            ours=lambda: stream(lambda: GzipCompressor(level, flush=False), pieces),
            reference=lambda: gzip.compress(body, level),
            reference_name="gzip.compress",
            decode=gzip.decompress,
            expected=body,
            compressing=True,
        ),
        Pair(
            name="brotli stream, flush/chunk",
            ours=lambda: stream(lambda: BrotliCompressor(level), pieces),
            reference=lambda: brotli.compress(body, quality=level, lgwin=19),
            reference_name="brotli.compress",
            decode=brotli.decompress,
            expected=body,
            compressing=True,
        ),
        Pair(
            name="brotli stream, no flush",
            ours=lambda: stream(lambda: BrotliCompressor(level, flush=False), pieces),
            reference=lambda: brotli.compress(body, quality=level, lgwin=19),
            reference_name="brotli.compress",
            decode=brotli.decompress,
            expected=body,
            compressing=True,
        ),
        Pair(
            name="zstd stream, flush/chunk",
            ours=lambda: stream(lambda: ZstdCompressor(level), pieces),
            reference=lambda: zstd_ref.compress(body),
            reference_name="ZstdCompressor.compress",
            decode=zstd_decode,
            expected=body,
            compressing=True,
        ),
        Pair(
            name="zstd stream, no flush",
            ours=lambda: stream(lambda: ZstdCompressor(level, flush=False), pieces),
            reference=lambda: zstd_ref.compress(body),
            reference_name="ZstdCompressor.compress",
            decode=zstd_decode,
            expected=body,
            compressing=True,
        ),
        Pair(
            name="gunzip stream",
            ours=lambda: stream(GzipDecompressor, gz_pieces),
            reference=lambda: gzip.decompress(gz),
            reference_name="gzip.decompress",
            decode=lambda data: data,
            expected=body,
            compressing=False,
        ),
        Pair(
            name="un-brotli stream",
            ours=lambda: stream(BrotliDecompressor, br_pieces),
            reference=lambda: brotli.decompress(br),
            reference_name="brotli.decompress",
            decode=lambda data: data,
            expected=body,
            compressing=False,
        ),
    ]


def timed(run: Callable[[], bytes]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--level", type=int, default=6, help="level for every algorithm")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--size-kib", type=int, default=1024)
    args = parser.parse_args()
    body = make_body(args.size_kib * 1024)
    pairs = build_pairs(body, args.level)

    sizes: dict[str, tuple[int, int]] = {}
    for pair in pairs:  # check correctness (and warm up) before any timing
        ours, ref = pair.ours(), pair.reference()
        assert pair.decode(ours) == pair.expected, pair.name
        assert pair.decode(ref) == pair.expected, pair.reference_name
        sizes[pair.name] = (len(ours), len(ref))

    times: dict[str, list[tuple[float, float]]] = {p.name: [] for p in pairs}
    for _ in range(args.rounds):
        for pair in pairs:
            times[pair.name].append((timed(pair.ours), timed(pair.reference)))

    mb = len(body) / 1e6
    print(
        f"body {len(body) / 1024:.0f} KiB of text, {CHUNK // 1024} KiB chunks, level "
        f"{args.level}, best of {args.rounds} rounds; CPython {sys.version.split()[0]}, "
        f"zstandard {zstandard.__version__}"
    )
    header = (
        f"{'case':28} {'ours MB/s':>10} {'ref MB/s':>10} {'speed':>7} "
        f"{'ours in/out':>12} {'ref in/out':>11} {'size':>7}  reference"
    )
    print(header)
    for pair in pairs:
        ours_t = min(t for t, _ in times[pair.name])
        ref_t = min(t for _, t in times[pair.name])
        ours_len, ref_len = sizes[pair.name]
        if pair.compressing:
            ratio_ours = f"{len(body) / ours_len:.2f}"
            ratio_ref = f"{len(body) / ref_len:.2f}"
            size = f"{ours_len / ref_len:.3f}x"
        else:
            ratio_ours = ratio_ref = size = "-"
        print(
            f"{pair.name:28} {mb / ours_t:10.1f} {mb / ref_t:10.1f} {ref_t / ours_t:6.2f}x "
            f"{ratio_ours:>12} {ratio_ref:>11} {size:>7}  {pair.reference_name}"
        )
    print(
        "MB/s = uncompressed MB per second; speed = ours MB/s / reference MB/s (1.00x = as fast "
        "as the one-shot call);\nin/out = compression ratio; size = our output / reference "
        "output (above 1.000x: ours is larger)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
