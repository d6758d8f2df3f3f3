"""Test doubles shipped with the library: in-memory stream pairs, loopback TCP stream pairs, a
programmable mock HTTP/1 origin on port 0, a strict raw HTTP/1.1 client, a runner for server
programs (start, wait for `listening on ADDR`, stop with a signal) and the event loops to run
tests on, for this package's tests and every later one's."""

from pingora_core.testing.loops import anyio_loop_backends, loop_backend_id
from pingora_core.testing.mock_origin import DEFAULT_BODY, MockOrigin, SeenRequest, download_body
from pingora_core.testing.processes import LISTENING, ServerProcess, start_program
from pingora_core.testing.raw_http import (
    RawHttpClient,
    RawResponse,
    read_chunked_body,
    read_response,
    read_response_body,
    read_response_head,
    request_bytes,
)
from pingora_core.testing.serving import serving
from pingora_core.testing.streams import MemoryStream, memory_stream_pair, tcp_stream_pair

__all__ = [
    "DEFAULT_BODY",
    "LISTENING",
    "MemoryStream",
    "MockOrigin",
    "RawHttpClient",
    "RawResponse",
    "SeenRequest",
    "ServerProcess",
    "anyio_loop_backends",
    "download_body",
    "loop_backend_id",
    "memory_stream_pair",
    "read_chunked_body",
    "read_response",
    "read_response_body",
    "read_response_head",
    "request_bytes",
    "serving",
    "start_program",
    "tcp_stream_pair",
]
