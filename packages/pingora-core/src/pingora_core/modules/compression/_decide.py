"""The compression decision table, ported from Pingora: is a response compressible, what to
do with it (`decide_action`), and how its head changes when its body is re-encoded.

Pure functions over `ResponseHeader` and `AcceptEncoding`; no encoder is created here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from pingora_core.modules.compression._algorithm import AcceptEncoding, Algorithm
from pingora_http import ResponseHeader

__all__ = [
    "MIN_COMPRESS_LEN",
    "Action",
    "add_vary_header",
    "adjust_response_header",
    "compressible",
    "decide_action",
    "depends_on_accept_encoding",
]

# Below this many bytes there is too little to gain (and gzip alone adds 18 bytes of framing).
MIN_COMPRESS_LEN: Final = 20

# Pingora's allow list: text, application, font, a few image types and binary/octet-stream.
# (Pingora spells the icon type "nd.microsoft.icon"; the registered name is "vnd.".)
_MIME_CHECK: Final = re.compile(
    r"(?:text/|application/|font/"
    r"|image/(?:x-icon|svg\+xml|vnd\.microsoft\.icon|nd\.microsoft\.icon)|binary/octet-stream)"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Action:
    """What to do with a response body: `kind` is "noop", "compress" or "decompress"."""

    kind: str
    algorithm: Algorithm | None = None

    @classmethod
    def compress(cls, algorithm: Algorithm) -> Action:
        """Encode the body with `algorithm`."""
        return cls(kind="compress", algorithm=algorithm)

    @classmethod
    def decompress(cls, algorithm: Algorithm) -> Action:
        """Decode the body from `algorithm`."""
        return cls(kind="decompress", algorithm=algorithm)


NOOP: Final = Action(kind="noop")


def compressible(resp: ResponseHeader) -> bool:
    """Whether the body is worth compressing: a Content-Length of at least `MIN_COMPRESS_LEN`
    (or none, or one that does not parse) and a Content-Type on the allow list without "zip"
    in it (already compressed)."""
    length = resp.headers.get(b"content-length")
    if length is not None and length.isdigit() and int(length) < MIN_COMPRESS_LEN:
        return False
    ctype = resp.headers.get(b"content-type")
    if ctype is None:
        return False
    lowered = ctype.decode("latin-1").lower()
    if "zip" in lowered:
        return False
    return _MIME_CHECK.match(lowered) is not None


def depends_on_accept_encoding(
    resp: ResponseHeader, compress_enabled: bool, decompress_enabled: bool
) -> bool:
    """Whether what we send depends on the request's Accept-Encoding (so Vary must say so)."""
    return (decompress_enabled and b"content-encoding" in resp.headers) or (
        compress_enabled and compressible(resp)
    )


def decide_action(
    resp: ResponseHeader,
    accept: AcceptEncoding,
    available: frozenset[Algorithm] = frozenset(
        (Algorithm.GZIP, Algorithm.BROTLI, Algorithm.ZSTD)
    ),
) -> Action:
    """Pingora's decision: a coded response the client does not accept is decompressed; an
    uncoded, compressible one is compressed with the client's first accepted coding among
    `available`; anything else is left alone."""
    coding = resp.headers.get(b"content-encoding")
    if coding is not None:
        algorithm = Algorithm.from_token(coding)
        if accept.accepts(algorithm):
            return NOOP
        # Identity is always acceptable (RFC 9110 §12.5.3), so decoding is always an option.
        return Action.decompress(algorithm)
    if not accept.accepted or not compressible(resp):
        return NOOP
    chosen = accept.preferred(available)
    return NOOP if chosen is None else Action.compress(chosen)


def add_vary_header(resp: ResponseHeader, name: bytes = b"Accept-Encoding") -> None:
    """Add `Vary: <name>` unless a Vary field already lists it (any case) or `*`."""
    wanted = name.lower()
    for value in resp.headers.get_all(b"vary"):
        for item in value.split(b","):
            item = item.strip().lower()
            if item in (b"*", wanted):
                return
    resp.append_header(b"Vary", name)


def adjust_response_header(resp: ResponseHeader, action: Action, preserve_etag: bool) -> None:
    """Rewrite the head for a re-encoded body: Content-Encoding set (compress) or removed
    (decompress); Content-Length and Accept-Ranges removed, chunked framing on HTTP/1; a
    strong ETag weakened and an invalid one removed, unless `preserve_etag`."""
    if action.kind == "noop":
        return
    if action.kind == "compress":
        assert action.algorithm is not None
        resp.insert_header(b"Content-Encoding", action.algorithm.value)
    else:
        resp.remove_header(b"content-encoding")
    # The new length is unknown until the end; byte ranges of the original no longer apply.
    resp.remove_header(b"content-length")
    resp.remove_header(b"accept-ranges")
    if resp.version != "HTTP/2":  # HTTP/2 frames bodies itself
        resp.insert_header(b"Transfer-Encoding", b"chunked")
    if not preserve_etag:
        _weaken_or_clear_etag(resp)


def _weaken_or_clear_etag(resp: ResponseHeader) -> None:
    # RFC 9110 §8.8.1: another representation of the same resource needs a weak validator.
    # As nginx's gzip filter: a strong ETag is weakened, one that is not a quoted string dropped.
    etag = resp.headers.get(b"etag")
    if etag is None or etag.startswith(b"W/"):
        return
    if etag.startswith(b'"'):
        resp.insert_header(b"ETag", b"W/" + etag)
    else:
        resp.remove_header(b"etag")
