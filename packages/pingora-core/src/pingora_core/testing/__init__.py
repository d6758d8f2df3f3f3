"""Test doubles shipped with the library: in-memory stream pairs, loopback TCP stream pairs and a
programmable mock HTTP/1 origin on port 0, for this package's tests and every later one's."""

from pingora_core.testing.mock_origin import DEFAULT_BODY, MockOrigin, SeenRequest, download_body
from pingora_core.testing.streams import MemoryStream, memory_stream_pair, tcp_stream_pair

__all__ = [
    "DEFAULT_BODY",
    "MemoryStream",
    "MockOrigin",
    "SeenRequest",
    "download_body",
    "memory_stream_pair",
    "tcp_stream_pair",
]
