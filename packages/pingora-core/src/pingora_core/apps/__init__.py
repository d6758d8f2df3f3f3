"""Applications that run inside a listening service: the raw L4 `ServerApp`, the HTTP/1
`HttpServerApp` (keep-alive loop, graceful close of idle connections) and the simple
`ServeHttp` + `HttpServer` pair."""

from pingora_core.apps.base import ServerApp
from pingora_core.apps.http_app import DEFAULT_KEEPALIVE_TIMEOUT, HttpServerApp
from pingora_core.apps.http_server import HttpServer, ServeHttp

__all__ = ["DEFAULT_KEEPALIVE_TIMEOUT", "HttpServer", "HttpServerApp", "ServeHttp", "ServerApp"]
