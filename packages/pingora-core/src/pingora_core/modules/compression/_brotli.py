"""Streaming brotli (RFC 7932) compressor and decompressor over the `brotli` package."""

from __future__ import annotations

import importlib
from typing import Protocol, cast

from pingora_core.modules.compression._encoder import Chunk, Encoder, check_level

__all__ = ["BrotliCompressor", "BrotliDecompressor"]


class _Compressor(Protocol):
    def process(self, data: Chunk) -> bytes: ...
    def flush(self) -> bytes: ...
    def finish(self) -> bytes: ...


class _Decompressor(Protocol):
    def process(self, data: Chunk) -> bytes: ...
    def is_finished(self) -> bool: ...


class _BrotliModule(Protocol):
    error: type[Exception]
    MODE_GENERIC: int

    def Compressor(self, *, mode: int, quality: int, lgwin: int) -> _Compressor: ...

    def Decompressor(self) -> _Decompressor: ...


# The package ships no type information: reach it through the small typed surface we use.
_brotli = cast(_BrotliModule, importlib.import_module("brotli"))


class BrotliCompressor(Encoder):
    """brotli at `level` (quality) 0..11 with a 2**`lgwin` byte window (10..24, default 19).
    With `flush` (the default) the bytes for each chunk are returned at once."""

    __slots__ = ("_c", "_flush")

    name = "brotli"
    _lib_errors = (_brotli.error,)

    def __init__(self, level: int = 6, *, lgwin: int = 19, flush: bool = True) -> None:
        super().__init__()
        self._c = _brotli.Compressor(
            mode=_brotli.MODE_GENERIC,
            quality=check_level(level, 0, 11, "brotli"),
            lgwin=check_level(lgwin, 10, 24, "brotli window"),
        )
        self._flush = bool(flush)

    def _encode(self, chunk: Chunk, end: bool) -> bytes:
        c = self._c
        if end:
            return c.process(chunk) + c.finish() if chunk else c.finish()
        if not chunk:
            return b""
        if self._flush:
            return c.process(chunk) + c.flush()
        return c.process(chunk)


class BrotliDecompressor(Encoder):
    """Decodes one brotli stream; bytes after its end are an error."""

    __slots__ = ("_d",)

    name = "de-brotli"
    _lib_errors = (_brotli.error,)

    def __init__(self) -> None:
        super().__init__()
        self._d = _brotli.Decompressor()

    def _encode(self, chunk: Chunk, end: bool) -> bytes:
        d = self._d
        out = d.process(chunk) if chunk else b""
        if end and not d.is_finished():
            raise self._truncated()
        return out
