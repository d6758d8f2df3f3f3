"""Test doubles shipped with the library: in-memory stream pairs, loopback TCP stream pairs (and,
later, mock origins)."""

from pingora_core.testing.streams import MemoryStream, memory_stream_pair, tcp_stream_pair

__all__ = ["MemoryStream", "memory_stream_pair", "tcp_stream_pair"]
