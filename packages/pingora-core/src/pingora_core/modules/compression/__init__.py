"""Response compression: the `ResponseCompression` module and its builder, the sans-IO
`ResponseCompressionCtx` behind it, and the streaming encoders (gzip, brotli, zstd and the
gzip / brotli decoders), each an `Encoder` with `encode(chunk, end) -> bytes`."""

from pingora_core.modules.compression._algorithm import (
    AcceptEncoding,
    Algorithm,
    parse_accept_encoding,
)
from pingora_core.modules.compression._brotli import BrotliCompressor, BrotliDecompressor
from pingora_core.modules.compression._ctx import ResponseCompressionCtx
from pingora_core.modules.compression._encoder import COMPRESSION_ERROR, Encoder, EncoderInfo
from pingora_core.modules.compression._gzip import GzipCompressor, GzipDecompressor
from pingora_core.modules.compression._module import (
    ResponseCompression,
    ResponseCompressionBuilder,
)
from pingora_core.modules.compression._zstd import ZstdCompressor

__all__ = [
    "COMPRESSION_ERROR",
    "AcceptEncoding",
    "Algorithm",
    "BrotliCompressor",
    "BrotliDecompressor",
    "Encoder",
    "EncoderInfo",
    "GzipCompressor",
    "GzipDecompressor",
    "ResponseCompression",
    "ResponseCompressionBuilder",
    "ResponseCompressionCtx",
    "ZstdCompressor",
    "parse_accept_encoding",
]
