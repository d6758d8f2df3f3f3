"""`ResponseCompressionCtx`: one request's (de)compression state machine, sans-IO.

Header phase: settings may be adjusted and the request and response heads are read; the
response head decides the action and is rewritten. Body phase: each chunk goes through the
chosen encoder (if any). The async module wrapper lives in `_module.py`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Final

from pingora_core.errors import Error, ErrorSource, ErrorType
from pingora_core.modules.compression._algorithm import Algorithm, parse_accept_encoding
from pingora_core.modules.compression._brotli import BrotliCompressor, BrotliDecompressor
from pingora_core.modules.compression._decide import (
    add_vary_header,
    adjust_response_header,
    decide_action,
    depends_on_accept_encoding,
)
from pingora_core.modules.compression._encoder import Encoder, EncoderInfo, check_level
from pingora_core.modules.compression._gzip import GzipCompressor, GzipDecompressor
from pingora_core.modules.compression._zstd import ZstdCompressor
from pingora_http import RequestHeader, ResponseHeader

__all__ = ["ResponseCompressionCtx"]

_log = logging.getLogger("pingora_core.modules.compression")

# Per algorithm: its highest level (a higher requested level uses it) and how to build it.
_COMPRESSORS: Final[dict[Algorithm, tuple[int, Callable[[int], Encoder]]]] = {
    Algorithm.GZIP: (9, GzipCompressor),
    Algorithm.BROTLI: (11, BrotliCompressor),
    Algorithm.ZSTD: (22, ZstdCompressor),
}
_DECOMPRESSORS: Final[dict[Algorithm, Callable[[], Encoder]]] = {
    Algorithm.GZIP: GzipDecompressor,
    Algorithm.BROTLI: BrotliDecompressor,
}
COMPRESSIBLE: Final = frozenset(_COMPRESSORS)
DECOMPRESSIBLE: Final = frozenset(_DECOMPRESSORS)
MAX_LEVEL: Final = 22  # zstd's highest; gzip stops at 9 and brotli at 11
_NO_BODY_STATUSES: Final = frozenset((204, 304))


def _check_algorithm(algorithm: object, allowed: frozenset[Algorithm]) -> Algorithm:
    if not isinstance(algorithm, Algorithm) or algorithm not in allowed:
        names = ", ".join(sorted(a.name for a in allowed))
        raise ValueError(f"algorithm must be one of Algorithm.{{{names}}}, got {algorithm!r}")
    return algorithm


def _check_flag(flag: object, what: str) -> bool:
    if not isinstance(flag, bool):
        raise TypeError(f"{what} must be a bool, got {type(flag).__name__}")
    return flag


class ResponseCompressionCtx:
    """Compress (gzip, br, zstd) or decompress (gzip, br) one response as its client accepts.

    `level` applies to every algorithm (0 turns compression off; a level above an algorithm's
    maximum uses its maximum); `decompress` decodes responses the client does not accept;
    `preserve_etag` keeps the ETag as it is instead of weakening it.
    """

    __slots__ = (
        "_accept",
        "_body_phase",
        "_decompress",
        "_encoder",
        "_head_request",
        "_levels",
        "_preserve_etag",
        "_shared",
    )

    def __init__(
        self, level: int = 0, *, decompress: bool = False, preserve_etag: bool = False
    ) -> None:
        level = check_level(level, 0, MAX_LEVEL, "compression")
        decompress = _check_flag(decompress, "decompress")
        preserve_etag = _check_flag(preserve_etag, "preserve_etag")
        self._levels = dict.fromkeys(COMPRESSIBLE, level)
        self._decompress = dict.fromkeys(DECOMPRESSIBLE, decompress)
        self._preserve_etag = dict.fromkeys(COMPRESSIBLE | DECOMPRESSIBLE, preserve_etag)
        self._accept: list[bytes] = []
        self._head_request = False
        self._body_phase = False
        self._encoder: Encoder | None = None
        self._shared = False  # True while the settings dicts are a builder template's

    def _fresh(self) -> ResponseCompressionCtx:
        """A new header-phase ctx with these settings (builders' per-request fast path). The
        settings are shared with `self` until the new ctx adjusts one (copy on write): most
        requests never do."""
        new = ResponseCompressionCtx.__new__(ResponseCompressionCtx)
        new._levels = self._levels
        new._decompress = self._decompress
        new._preserve_etag = self._preserve_etag
        new._shared = True
        new._accept = []
        new._head_request = False
        new._body_phase = False
        new._encoder = None
        return new

    # -- settings (header phase only) -------------------------------------------------------

    def _settable(self) -> None:
        if self._body_phase:
            raise Error(
                ErrorType.InternalError,
                ErrorSource.INTERNAL,
                context="compression settings cannot change after the response header",
            )
        if self._shared:  # about to change a setting: take our own copies first
            self._levels = self._levels.copy()
            self._decompress = self._decompress.copy()
            self._preserve_etag = self._preserve_etag.copy()
            self._shared = False

    def _passes_body(self) -> bool:
        """True once the response head was seen and no encoder runs: every body chunk from
        now on passes unchanged, and the end of the body adds nothing."""
        return self._body_phase and self._encoder is None

    def adjust_level(self, level: int) -> None:
        """Set the compression level of every algorithm (0: off)."""
        self._settable()
        level = check_level(level, 0, MAX_LEVEL, "compression")
        for algorithm in self._levels:
            self._levels[algorithm] = level

    def adjust_algorithm_level(self, algorithm: Algorithm, level: int) -> None:
        """Set one algorithm's compression level (0: never compress with it)."""
        self._settable()
        self._levels[_check_algorithm(algorithm, COMPRESSIBLE)] = check_level(
            level, 0, MAX_LEVEL, "compression"
        )

    def adjust_decompression(self, enabled: bool) -> None:
        """Turn decompression of gzip and br responses on or off."""
        self._settable()
        enabled = _check_flag(enabled, "enabled")
        for algorithm in self._decompress:
            self._decompress[algorithm] = enabled

    def adjust_algorithm_decompression(self, algorithm: Algorithm, enabled: bool) -> None:
        """Turn decompression of one algorithm on or off."""
        self._settable()
        self._decompress[_check_algorithm(algorithm, DECOMPRESSIBLE)] = _check_flag(
            enabled, "enabled"
        )

    def adjust_preserve_etag(self, enabled: bool) -> None:
        """Keep (True) or weaken (False) the ETag of a re-encoded response."""
        self._settable()
        enabled = _check_flag(enabled, "enabled")
        for algorithm in self._preserve_etag:
            self._preserve_etag[algorithm] = enabled

    def adjust_algorithm_preserve_etag(self, algorithm: Algorithm, enabled: bool) -> None:
        """Keep or weaken the ETag when re-encoding with one algorithm."""
        self._settable()
        self._preserve_etag[_check_algorithm(algorithm, COMPRESSIBLE | DECOMPRESSIBLE)] = (
            _check_flag(enabled, "enabled")
        )

    # -- state --------------------------------------------------------------------------------

    def is_enabled(self) -> bool:
        """Header phase: whether any (de)compression is on. Body phase: whether an encoder runs."""
        if self._body_phase:
            return self._encoder is not None
        return any(self._levels.values()) or any(self._decompress.values())

    def get_info(self) -> EncoderInfo | None:
        """The running encoder's counters, or None (header phase, or nothing to encode)."""
        return None if self._encoder is None else self._encoder.info()

    # -- phases -------------------------------------------------------------------------------

    def request_filter(self, req: RequestHeader) -> None:
        """Remember what the client accepts (read even while off: a later phase may turn it on)."""
        if self._body_phase:
            raise Error(
                ErrorType.InternalError,
                ErrorSource.INTERNAL,
                context="request header seen after the response header",
            )
        self._accept = req.headers.get_all(b"accept-encoding")
        self._head_request = req.method == "HEAD"

    def response_header_filter(self, resp: ResponseHeader, end: bool) -> None:
        """Decide what to do with the body and rewrite `resp` to match."""
        if self._body_phase:
            raise Error(
                ErrorType.InternalError,
                ErrorSource.INTERNAL,
                context="a second final response header",
            )
        status = resp.status
        if 100 <= status < 200 and status != 101:
            return  # informational: wait for the final response head
        self._body_phase = True
        # 101 switches protocols; HEAD, 204 and 304 have no body: never touch them.
        if (
            status == 101
            or end
            or status in _NO_BODY_STATUSES
            or self._head_request
            or not (any(self._levels.values()) or any(self._decompress.values()))
        ):
            return
        levels = self._levels
        compress_on = frozenset(a for a, level in levels.items() if level)
        if depends_on_accept_encoding(resp, bool(compress_on), any(self._decompress.values())):
            add_vary_header(resp)
        action = decide_action(resp, parse_accept_encoding(self._accept), compress_on)
        algorithm = action.algorithm
        encoder: Encoder | None = None
        if action.kind == "compress" and algorithm is not None:
            highest, make = _COMPRESSORS[algorithm]
            encoder = make(min(levels[algorithm], highest))
        elif (
            action.kind == "decompress"
            and algorithm is not None
            and self._decompress.get(algorithm, False)
        ):
            encoder = _DECOMPRESSORS[algorithm]()
        if encoder is not None and algorithm is not None:
            adjust_response_header(resp, action, self._preserve_etag[algorithm])
            self._encoder = encoder

    def response_body_filter(self, data: bytes | None, end: bool) -> bytes | None:
        """The re-encoded chunk (possibly `b""`), or None when the body passes unchanged.

        If the body cannot be (de)compressed, a warning is logged and the rest of it passes
        through unchanged (as Pingora does).
        """
        encoder = self._encoder
        if encoder is None:
            if not self._body_phase and self.is_enabled():
                raise Error(
                    ErrorType.InternalError,
                    ErrorSource.INTERNAL,
                    context="response body seen before the response header",
                )
            return None
        try:
            return encoder.encode(b"" if data is None else data, end)
        except Error as exc:
            _log.warning("response (de)compression failed, passing the body through: %s", exc)
            self._encoder = None
            return None

    def __repr__(self) -> str:
        phase = "body" if self._body_phase else "header"
        levels = {a.value: v for a, v in self._levels.items()}
        decompress = {a.value: v for a, v in self._decompress.items()}
        return (
            f"ResponseCompressionCtx(phase={phase}, levels={levels}, "
            f"decompress={decompress}, encoder={self._encoder!r})"
        )
