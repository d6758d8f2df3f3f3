"""The protocol layers: L4 byte streams here; TLS and HTTP in their own subpackages build on
the `Stream` interface re-exported below."""

from pingora_core.protocols.l4 import Stream, StreamDigest

__all__ = ["Stream", "StreamDigest"]
