"""HTTP/1: the codec seam (h11 and httptools head backends under our own rules), body framing
shared by both directions, and the server session."""

from pingora_core.protocols.http.v1.body import (
    INVALID_CHUNK,
    PREMATURE_BODY_END,
    BodyReader,
    BodyWriter,
)
from pingora_core.protocols.http.v1.codec import (
    RequestParser,
    available_h1_backends,
    current_h1_backend,
    select_h1_backend,
)
from pingora_core.protocols.http.v1.events import (
    BodyData,
    H1Limits,
    MessageEnd,
    ParseError,
    RequestHead,
)
from pingora_core.protocols.http.v1.server import HttpSession
from pingora_core.protocols.http.v1.settings import H1ServerSettings

__all__ = [
    "INVALID_CHUNK",
    "PREMATURE_BODY_END",
    "BodyData",
    "BodyReader",
    "BodyWriter",
    "H1Limits",
    "H1ServerSettings",
    "HttpSession",
    "MessageEnd",
    "ParseError",
    "RequestHead",
    "RequestParser",
    "available_h1_backends",
    "current_h1_backend",
    "select_h1_backend",
]
