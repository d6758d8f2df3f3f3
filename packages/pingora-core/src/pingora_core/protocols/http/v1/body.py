"""HTTP/1 body framing, sans-IO and direction-agnostic: the same code reads and writes request
and response bodies for the server and the client sessions.

`BodyReader` decodes a body framed by Content-Length, by chunked transfer coding (with trailers,
within limits) or by the connection closing; `feed()` takes the bytes read from the wire and
returns the body pieces, `leftover` holds what came after the body (the next pipelined message).
`BodyWriter` frames what the application writes (`frame()` returns the parts to hand to
`Stream.writelines`, so nothing is copied) and `finish()` ends the body.

Failures are `Error`s with no source set (each session blames its own side): `INVALID_CHUNK` for
bad chunked framing, `ConnectionClosed` for a body cut short, `PREMATURE_BODY_END` when fewer
bytes were written than Content-Length announced. This module never does I/O.
"""

from __future__ import annotations

from typing import Final

from pingora_core.errors import Error, ErrorType
from pingora_http import HeaderMap, InvalidHeaderError

__all__ = [
    "INVALID_CHUNK",
    "LAST_CHUNK",
    "MAX_CHUNK_HEAD",
    "MAX_TRAILER_SIZE",
    "PREMATURE_BODY_END",
    "BodyReader",
    "BodyWriter",
]

INVALID_CHUNK: Final = ErrorType.Custom("InvalidChunk")
PREMATURE_BODY_END: Final = ErrorType.Custom("PrematureBodyEnd")
LAST_CHUNK: Final = b"0\r\n\r\n"
# How much of a chunk-size line (size and extensions) may be buffered before it is refused.
MAX_CHUNK_HEAD: Final = 8192
# How many bytes of trailer fields (lines included) are accepted after the last chunk.
MAX_TRAILER_SIZE: Final = 16384
_MAX_SIZE_DIGITS: Final = 16
_HEX: Final = b"0123456789abcdefABCDEF"
_IDENTITY: Final = bytes(range(256))

# Reader modes (plain strings: compared on every call) and chunked states.
EMPTY: Final = "empty"
LENGTH: Final = "length"
CHUNKED: Final = "chunked"
CLOSE: Final = "close"
_SIZE, _DATA, _DATA_CRLF, _TRAILER, _DONE = range(5)


def _chunk_error(context: str) -> Error:
    return Error(INVALID_CHUNK, context=context)


class BodyReader:
    """Decode one message body. Build it with a class method, then `feed()` wire bytes."""

    __slots__ = (
        "_max_chunk_head",
        "_max_trailer",
        "_pending",
        "_remaining",
        "_state",
        "_trailer_bytes",
        "bytes_read",
        "done",
        "error",
        "leftover",
        "mode",
        "trailers",
    )

    def __init__(
        self,
        mode: str,
        length: int = 0,
        *,
        max_chunk_head: int = MAX_CHUNK_HEAD,
        max_trailer_size: int = MAX_TRAILER_SIZE,
    ) -> None:
        if mode not in (EMPTY, LENGTH, CHUNKED, CLOSE):
            raise ValueError(f"unknown body mode {mode!r}: expected empty, length, chunked, close")
        if not isinstance(length, int) or length < 0:
            raise ValueError(f"invalid body length {length!r}: expected an int >= 0")
        self.mode = mode
        self._remaining = length
        self._state = _SIZE
        self._pending = b""
        self._max_chunk_head = max_chunk_head
        self._max_trailer = max_trailer_size
        self._trailer_bytes = 0
        self.bytes_read = 0
        self.done = mode == EMPTY or (mode == LENGTH and length == 0)
        self.leftover = b""
        self.trailers: HeaderMap | None = None
        self.error: Error | None = None  # a framing error found after some body was decoded

    @classmethod
    def content_length(cls, length: int) -> BodyReader:
        """A body of exactly `length` bytes."""
        return cls(LENGTH, length)

    @classmethod
    def chunked(
        cls, *, max_chunk_head: int = MAX_CHUNK_HEAD, max_trailer_size: int = MAX_TRAILER_SIZE
    ) -> BodyReader:
        """A chunked body (trailers are collected into `trailers`)."""
        return cls(CHUNKED, max_chunk_head=max_chunk_head, max_trailer_size=max_trailer_size)

    @classmethod
    def until_close(cls) -> BodyReader:
        """A body that ends when the peer closes the connection."""
        return cls(CLOSE)

    @classmethod
    def empty(cls) -> BodyReader:
        """No body at all."""
        return cls(EMPTY)

    @property
    def remaining(self) -> int | None:
        """Bytes still expected for a Content-Length body, else None."""
        return self._remaining if self.mode == LENGTH else None

    def feed(self, data: bytes) -> list[bytes]:
        """Decode `data`; return the body pieces in it (maybe none). Raises `Error` on bad framing.

        Bytes after the end of the body are kept in `leftover`. When bad framing follows good
        body bytes in the same call, those bytes are returned and the error is kept in `error`
        (raised by the next call).
        """
        if self.error is not None:
            raise self.error
        if self.done:
            if data:
                self.leftover += data
            return []
        mode = self.mode
        if mode == LENGTH:
            remaining = self._remaining
            size = len(data)
            if size < remaining:
                self._remaining = remaining - size
                self.bytes_read += size
                return [data] if size else []
            self._remaining = 0
            self.bytes_read += remaining
            self.done = True
            if size > remaining:
                self.leftover = data[remaining:]
                data = data[:remaining]
            return [data] if data else []
        if mode == CLOSE:
            self.bytes_read += len(data)
            return [data] if data else []
        out: list[bytes] = []
        try:
            self._feed_chunked(data, out)
        except Error as exc:
            if not out:
                raise
            self.error = exc
        return out

    def feed_eof(self) -> None:
        """The peer closed: ends a close-delimited body, raises `Error` for an unfinished one."""
        if self.error is not None:
            raise self.error
        if self.done:
            return
        if self.mode == CLOSE:
            self.done = True
            return
        if self.mode == LENGTH:
            context = f"peer closed with {self._remaining} bytes of body left to read"
        else:
            context = f"peer closed before the last chunk, after {self.bytes_read} body bytes"
        raise Error(ErrorType.ConnectionClosed, context=context)

    def _feed_chunked(self, data: bytes, out: list[bytes]) -> None:
        if self._pending:
            data = self._pending + data
            self._pending = b""
        pos = 0
        end = len(data)
        while pos < end:
            state = self._state
            if state == _DATA:
                take = min(self._remaining, end - pos)
                out.append(data if take == end and not pos else data[pos : pos + take])
                pos += take
                self.bytes_read += take
                self._remaining -= take
                if not self._remaining:
                    self._state = _DATA_CRLF
            elif state == _DATA_CRLF:
                if end - pos < 2:
                    if data[pos:] != b"\r":
                        raise _chunk_error("chunk data not followed by CRLF")
                    self._pending = data[pos:]
                    break
                if data[pos : pos + 2] != b"\r\n":
                    raise _chunk_error("chunk data not followed by CRLF")
                pos += 2
                self._state = _SIZE
            elif state == _SIZE:
                eol = data.find(b"\r\n", pos, pos + self._max_chunk_head + 2)
                if eol < 0:
                    if end - pos > self._max_chunk_head:
                        raise _chunk_error(f"chunk head over {self._max_chunk_head} bytes")
                    self._pending = data[pos:]
                    break
                self._start_chunk(data[pos:eol])
                pos = eol + 2
            elif state == _TRAILER:
                room = self._max_trailer - self._trailer_bytes
                eol = data.find(b"\r\n", pos, pos + room + 2)
                if eol < 0:
                    if end - pos > room:
                        raise _chunk_error(f"trailers over {self._max_trailer} bytes")
                    self._pending = data[pos:]
                    break
                line = data[pos:eol]
                pos = eol + 2
                self._trailer_bytes += len(line) + 2
                if not line:
                    self._state = _DONE
                    self.done = True
                    self.leftover = data[pos:]
                    break
                self._add_trailer(line)
            else:  # _DONE is only left through `done`
                break

    def _start_chunk(self, line: bytes) -> None:
        if b"\n" in line or b"\r" in line:
            raise _chunk_error("bare CR or LF in a chunk head")
        size, semi, _ext = line.partition(b";")
        if semi:
            size = size.rstrip(b" \t")  # BWS before a chunk extension
        if not size or len(size) > _MAX_SIZE_DIGITS or size.translate(_IDENTITY, _HEX):
            raise _chunk_error(f"invalid chunk size {size[:32]!r}")
        length = int(size, 16)
        if length:
            self._remaining = length
            self._state = _DATA
        else:
            self._state = _TRAILER

    def _add_trailer(self, line: bytes) -> None:
        if b"\n" in line or b"\r" in line or line[:1] in (b" ", b"\t"):
            raise _chunk_error("invalid trailer line (bare CR/LF or obs-fold)")
        name, colon, value = line.partition(b":")
        if not colon:
            raise _chunk_error("trailer line without a colon")
        if self.trailers is None:
            self.trailers = HeaderMap()
        try:
            self.trailers.append_raw(name, value.strip(b" \t"))
        except InvalidHeaderError as exc:
            raise Error.because(INVALID_CHUNK, "invalid trailer field", exc) from exc

    def __repr__(self) -> str:
        return (
            f"<BodyReader mode={self.mode} done={self.done} bytes_read={self.bytes_read} "
            f"remaining={self._remaining} leftover={len(self.leftover)}>"
        )


_new_writer = object.__new__


class BodyWriter:
    """Frame one message body for the wire. `mode` is "length", "chunked", "close" or "none"."""

    __slots__ = ("bytes_written", "finished", "length", "mode")

    def __init__(self, mode: str, length: int = 0) -> None:
        if mode not in ("length", "chunked", "close", "none"):
            raise ValueError(f"unknown body mode {mode!r}: expected length, chunked, close, none")
        if not isinstance(length, int) or length < 0:
            raise ValueError(f"invalid body length {length!r}: expected an int >= 0")
        self.mode = mode
        self.length = length
        self.bytes_written = 0
        self.finished = False

    @classmethod
    def content_length(cls, length: int) -> BodyWriter:
        """Exactly `length` bytes; anything beyond is dropped."""
        if length.__class__ is not int or length < 0:
            return cls("length", length)  # raises the clear error
        new = _new_writer(cls)  # one per response: skip __init__'s checks, done above
        new.mode = "length"
        new.length = length
        new.bytes_written = 0
        new.finished = False
        return new

    @classmethod
    def chunked(cls) -> BodyWriter:
        """Chunked transfer coding; `finish()` writes the last chunk (and trailers)."""
        return cls("chunked")

    @classmethod
    def until_close(cls) -> BodyWriter:
        """Bytes as they are; the body ends when the connection closes."""
        return cls("close")

    @classmethod
    def no_body(cls) -> BodyWriter:
        """A message that must not carry a body (HEAD, 1xx, 204, 304): data is dropped."""
        return cls("none")

    @property
    def complete(self) -> bool:
        """True once nothing more may be written (finished, or Content-Length reached)."""
        if self.finished:
            return True
        return self.mode == "length" and self.bytes_written >= self.length

    def frame(self, data: bytes | bytearray | memoryview) -> list[bytes | bytearray | memoryview]:
        """The parts that carry `data` on the wire (empty when nothing may be sent)."""
        size = len(data)
        if not size or self.finished:
            return []
        mode = self.mode
        if mode == "chunked":
            self.bytes_written += size
            return [b"%X\r\n" % size, data, b"\r\n"]
        if mode == "length":
            room = self.length - self.bytes_written
            if room <= 0:
                return []
            if size > room:
                data = memoryview(data)[:room]
                size = room
            self.bytes_written += size
            return [data]
        if mode == "close":
            self.bytes_written += size
            return [data]
        return []

    def finish(self, trailers: HeaderMap | None = None) -> list[bytes | bytearray | memoryview]:
        """End the body: the parts to write (the last chunk and trailers for chunked).

        Raises `Error(PREMATURE_BODY_END)` if fewer bytes than Content-Length were written.
        Trailers are only sent with chunked coding (elsewhere HTTP/1 has no room for them).
        """
        if self.finished:
            return []
        self.finished = True
        if self.mode == "chunked":
            if trailers is not None and len(trailers):
                return [b"0\r\n", trailers.to_h1_wire(), b"\r\n"]
            return [LAST_CHUNK]
        if self.mode == "length" and self.bytes_written < self.length:
            raise Error(
                PREMATURE_BODY_END,
                context=f"Content-Length: {self.length}, bytes written: {self.bytes_written}",
            )
        return []

    def __repr__(self) -> str:
        return (
            f"<BodyWriter mode={self.mode} length={self.length} "
            f"bytes_written={self.bytes_written} finished={self.finished}>"
        )
