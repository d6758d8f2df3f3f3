"""Test helpers for proxies: `ProxyTestClient` drives a `ProxyHttp` through the full pipeline
over in-memory connections; `InMemoryUpstream` is an upstream served in memory (a handler or a
`ServerApp`) behind a peer's custom L4 connector. Usable from your own pytest suites."""

from pingora_proxy.testing._client import ClientResponse, ProxyTestClient
from pingora_proxy.testing._upstream import (
    Handler,
    HandlerResult,
    Headers,
    InMemoryUpstream,
    read_head,
)

__all__ = [
    "ClientResponse",
    "Handler",
    "HandlerResult",
    "Headers",
    "InMemoryUpstream",
    "ProxyTestClient",
    "read_head",
]
