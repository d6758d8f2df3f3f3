"""`ResponseCompression`, the HTTP module that runs a `ResponseCompressionCtx` at each phase,
and `ResponseCompressionBuilder`, which adds it to a service's `HttpModules`."""

from __future__ import annotations

from typing import Final

from pingora_core.modules._http_module import HttpModule, HttpModuleBuilder
from pingora_core.modules.compression._algorithm import Algorithm
from pingora_core.modules.compression._ctx import ResponseCompressionCtx
from pingora_core.modules.compression._encoder import EncoderInfo
from pingora_http import RequestHeader, ResponseHeader

__all__ = ["ResponseCompression", "ResponseCompressionBuilder"]

# Run the response side after most other modules (Pingora: i16::MIN / 2).
COMPRESSION_ORDER: Final = -(2**15) // 2


class ResponseCompression(HttpModule):
    """Response (de)compression for one request. Switch it on per request with
    `ctx.get(ResponseCompression).adjust_level(6)` before the response header arrives."""

    __slots__ = ("ctx",)

    def __init__(
        self, level: int = 0, *, decompress: bool = False, preserve_etag: bool = False
    ) -> None:
        self.ctx = ResponseCompressionCtx(
            level, decompress=decompress, preserve_etag=preserve_etag
        )

    # -- settings and state (see ResponseCompressionCtx) ------------------------------------

    def adjust_level(self, level: int) -> None:
        """Set the compression level of every algorithm (0: off)."""
        self.ctx.adjust_level(level)

    def adjust_algorithm_level(self, algorithm: Algorithm, level: int) -> None:
        """Set one algorithm's compression level (0: never compress with it)."""
        self.ctx.adjust_algorithm_level(algorithm, level)

    def adjust_decompression(self, enabled: bool) -> None:
        """Turn decompression of gzip and br responses on or off."""
        self.ctx.adjust_decompression(enabled)

    def adjust_algorithm_decompression(self, algorithm: Algorithm, enabled: bool) -> None:
        """Turn decompression of one algorithm on or off."""
        self.ctx.adjust_algorithm_decompression(algorithm, enabled)

    def adjust_preserve_etag(self, enabled: bool) -> None:
        """Keep (True) or weaken (False) the ETag of a re-encoded response."""
        self.ctx.adjust_preserve_etag(enabled)

    def is_enabled(self) -> bool:
        """Whether (de)compression is on (header phase) or running (body phase)."""
        return self.ctx.is_enabled()

    def get_info(self) -> EncoderInfo | None:
        """The running encoder's counters, or None."""
        return self.ctx.get_info()

    # -- hooks --------------------------------------------------------------------------------

    async def request_header_filter(self, req: RequestHeader) -> None:
        self.ctx.request_filter(req)

    async def response_header_filter(self, resp: ResponseHeader, end_of_stream: bool) -> None:
        self.ctx.response_header_filter(resp, end_of_stream)

    async def response_body_filter(self, body: bytes | None, end_of_stream: bool) -> bytes | None:
        out = self.ctx.response_body_filter(body, end_of_stream)
        return body if out is None else out

    def _passes_body(self) -> bool:
        return self.ctx._passes_body()

    async def response_done_filter(self) -> bytes | None:
        # Finish the stream if the body filter never saw its end (e.g. it ended in trailers).
        return self.ctx.response_body_filter(None, True) or None

    def __repr__(self) -> str:
        return f"ResponseCompression({self.ctx!r})"


class ResponseCompressionBuilder(HttpModuleBuilder):
    """Adds `ResponseCompression` to every request of a service, at `level` (0: present but off
    until a request turns it on), decompressing when `decompress` is set."""

    __slots__ = ("_decompress", "_level", "_preserve_etag", "_template")

    def __init__(
        self, level: int = 0, *, decompress: bool = False, preserve_etag: bool = False
    ) -> None:
        # Validated once here; each request copies the template's settings.
        self._template = ResponseCompressionCtx(
            level, decompress=decompress, preserve_etag=preserve_etag
        )
        self._level = level
        self._decompress = decompress
        self._preserve_etag = preserve_etag

    @classmethod
    def enable(cls, level: int) -> ResponseCompressionBuilder:
        """A builder compressing at `level` (Pingora's `ResponseCompressionBuilder::enable`)."""
        return cls(level)

    @property
    def level(self) -> int:
        """The level every request starts with."""
        return self._level

    @property
    def order(self) -> int:
        return COMPRESSION_ORDER

    def init(self) -> ResponseCompression:
        module = ResponseCompression.__new__(ResponseCompression)
        module.ctx = self._template._fresh()
        return module

    def __repr__(self) -> str:
        return (
            f"ResponseCompressionBuilder(level={self._level}, decompress={self._decompress}, "
            f"preserve_etag={self._preserve_etag})"
        )
