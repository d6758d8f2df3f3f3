"""Upstream peers: `HttpPeer` (where to connect and whether to use TLS), its `PeerOptions`,
and the pool key (`reuse_hash`) that decides which pooled connections it may reuse."""

from pingora_core.upstreams._options import PeerOptions
from pingora_core.upstreams._peer import HttpPeer

__all__ = ["HttpPeer", "PeerOptions"]
