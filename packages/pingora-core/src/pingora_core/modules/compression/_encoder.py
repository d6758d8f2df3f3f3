"""`Encoder`: the sans-IO interface every (de)compressor implements, with its byte and time
counters (`EncoderInfo`, Pingora's `stat()`), and `COMPRESSION_ERROR`, the error type raised
when the data cannot be (de)compressed.

Subclasses wrap one compression library each; this file knows none of them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from time import perf_counter_ns
from typing import ClassVar, Final

from pingora_core.errors import Error, ErrorSource, ErrorType

__all__ = ["COMPRESSION_ERROR", "Chunk", "Encoder", "EncoderInfo", "check_level"]

Chunk = bytes | bytearray | memoryview

COMPRESSION_ERROR: Final = ErrorType.Custom("CompressionError")


@dataclass(frozen=True, slots=True, kw_only=True)
class EncoderInfo:
    """What an encoder has done so far: its `name` ("gzip", "de-gzip", "brotli", "de-brotli",
    "zstd"), bytes taken in and given out, and the time spent encoding (seconds)."""

    name: str
    total_in: int
    total_out: int
    duration: float


def check_level(level: object, low: int, high: int, what: str) -> int:
    """`level` if it is an int in low..=high, else a clear TypeError / ValueError."""
    if not isinstance(level, int) or isinstance(level, bool):
        raise TypeError(f"{what} level must be an int, got {type(level).__name__}")
    if not low <= level <= high:
        raise ValueError(f"{what} level must be in {low}..={high}, got {level}")
    return level


class Encoder(ABC):
    """Turns a stream of byte chunks into another: `encode(chunk, end) -> bytes`.

    Call `encode` per chunk; pass `end=True` with the last one (or afterwards with `b""`) to
    get the remaining bytes. Once ended, `encode(b"", True)` returns `b""` again (so finishing
    twice is harmless) and more data is refused. Invalid input raises `Error` of type
    `COMPRESSION_ERROR`; the encoder is unusable afterwards.
    """

    __slots__ = ("_duration_ns", "_failed", "_finished", "_total_in", "_total_out")

    name: ClassVar[str]
    _lib_errors: ClassVar[tuple[type[Exception], ...]]

    def __init__(self) -> None:
        self._total_in = 0
        self._total_out = 0
        self._duration_ns = 0
        self._finished = False
        self._failed = False

    @abstractmethod
    def _encode(self, chunk: Chunk, end: bool) -> bytes:
        """Library-specific work; may raise one of `_lib_errors`."""

    def encode(self, chunk: Chunk, end: bool) -> bytes:
        """Encode `chunk`; `end` marks the end of the whole input. Returns the bytes ready."""
        if not isinstance(chunk, (bytes, bytearray, memoryview)):
            raise TypeError(f"chunk must be bytes-like, got {type(chunk).__name__}")
        if self._finished or self._failed:
            if self._failed:
                raise Error(COMPRESSION_ERROR, ErrorSource.INTERNAL, context=f"{self.name}: failed")
            if chunk:
                raise Error(
                    COMPRESSION_ERROR,
                    ErrorSource.INTERNAL,
                    context=f"{self.name}: data after the end of the stream",
                )
            return b""
        start = perf_counter_ns()
        try:
            out = self._encode(chunk, end)
        except self._lib_errors as exc:
            self._failed = True
            raise Error(COMPRESSION_ERROR, context=f"while {self.name}", cause=exc) from exc
        except Error:
            self._failed = True
            raise
        finally:
            self._duration_ns += perf_counter_ns() - start
        self._total_in += len(chunk)
        self._total_out += len(out)
        if end:
            self._finished = True
        return out

    def _truncated(self) -> Error:
        return Error(COMPRESSION_ERROR, context=f"while {self.name}: the stream is truncated")

    @property
    def total_in(self) -> int:
        """Bytes given to `encode` so far."""
        return self._total_in

    @property
    def total_out(self) -> int:
        """Bytes returned by `encode` so far."""
        return self._total_out

    @property
    def duration(self) -> float:
        """Seconds spent inside `encode` so far."""
        return self._duration_ns / 1e9

    @property
    def finished(self) -> bool:
        """True once `encode(..., end=True)` has returned."""
        return self._finished

    def info(self) -> EncoderInfo:
        """The counters as one value (Pingora's `stat()`)."""
        return EncoderInfo(
            name=self.name,
            total_in=self._total_in,
            total_out=self._total_out,
            duration=self._duration_ns / 1e9,
        )

    def __repr__(self) -> str:
        state = "failed" if self._failed else "finished" if self._finished else "open"
        return (
            f"{type(self).__name__}(in={self._total_in}, out={self._total_out}, "
            f"duration={self.duration:.6f}s, {state})"
        )
