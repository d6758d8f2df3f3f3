"""Streaming zstd (RFC 8878) compressor over the `zstandard` package."""

from __future__ import annotations

import zstandard

from pingora_core.modules.compression._encoder import Chunk, Encoder, check_level

__all__ = ["ZstdCompressor"]


class ZstdCompressor(Encoder):
    """zstd at `level` 1..22. With `flush` (the default) each chunk ends a block, so its bytes
    are returned at once; without, zstd keeps data until it has a full block."""

    __slots__ = ("_flush", "_z")

    name = "zstd"
    _lib_errors = (zstandard.ZstdError,)

    def __init__(self, level: int = 3, *, flush: bool = True) -> None:
        super().__init__()
        self._z = zstandard.ZstdCompressor(level=check_level(level, 1, 22, "zstd")).compressobj()
        self._flush = bool(flush)

    def _encode(self, chunk: Chunk, end: bool) -> bytes:
        z = self._z
        if end:
            return z.compress(chunk) + z.flush() if chunk else z.flush()
        if not chunk:
            return b""
        if self._flush:
            return z.compress(chunk) + z.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)
        return z.compress(chunk)
