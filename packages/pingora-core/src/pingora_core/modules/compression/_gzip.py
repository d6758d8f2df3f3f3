"""Streaming gzip (RFC 1952) compressor and decompressor over the standard library's zlib."""

from __future__ import annotations

import zlib
from typing import Final

from pingora_core.modules.compression._encoder import Chunk, Encoder, check_level

__all__ = ["GzipCompressor", "GzipDecompressor"]

_GZIP_WBITS: Final = 16 + zlib.MAX_WBITS  # gzip header and trailer, 32 KiB window


class GzipCompressor(Encoder):
    """gzip at `level` 0..9. With `flush` (the default) each chunk is sync-flushed, so the
    bytes for it are returned at once; without, zlib keeps data until it has a full block."""

    __slots__ = ("_flush", "_z")

    name = "gzip"
    _lib_errors = (zlib.error,)

    def __init__(self, level: int = 6, *, flush: bool = True) -> None:
        super().__init__()
        self._z = zlib.compressobj(check_level(level, 0, 9, "gzip"), zlib.DEFLATED, _GZIP_WBITS)
        self._flush = bool(flush)

    def _encode(self, chunk: Chunk, end: bool) -> bytes:
        z = self._z
        if end:
            return z.compress(chunk) + z.flush(zlib.Z_FINISH) if chunk else z.flush(zlib.Z_FINISH)
        if not chunk:
            return b""
        if self._flush:
            return z.compress(chunk) + z.flush(zlib.Z_SYNC_FLUSH)
        return z.compress(chunk)


class GzipDecompressor(Encoder):
    """gunzip; several concatenated gzip members decode as one stream (RFC 1952 §2.2)."""

    __slots__ = ("_z",)

    name = "de-gzip"
    _lib_errors = (zlib.error,)

    def __init__(self) -> None:
        super().__init__()
        self._z = zlib.decompressobj(_GZIP_WBITS)

    def _encode(self, chunk: Chunk, end: bool) -> bytes:
        z = self._z
        out = z.decompress(chunk) if chunk else b""
        rest = z.unused_data
        while rest and z.eof:  # another member follows
            z = self._z = zlib.decompressobj(_GZIP_WBITS)
            out += z.decompress(rest)
            rest = z.unused_data
        if end and not z.eof:
            raise self._truncated()
        return out
