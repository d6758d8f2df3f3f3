"""pingora-proxy: the programmable HTTP reverse proxy. Subclass `ProxyHttp`, override the phases
you need (`upstream_peer` at least), and serve it with `http_proxy_service(conf, app)`.

`Session` is the request as the phases see it; `HttpProxy` the server app that runs the phases
(connection pooling, retries and failover, duplex body streaming, upgrades and CONNECT
tunnels); `FailToProxy` what `fail_to_proxy` returns. Test helpers live in
`pingora_proxy.testing`.
"""

from pingora_proxy._downstream import DownstreamSession
from pingora_proxy._headers import HOP_BY_HOP, strip_hop_by_hop
from pingora_proxy._proxy import ALLOW_CONNECT_KEY, HttpProxy
from pingora_proxy._service import DEFAULT_SERVICE_NAME, http_proxy, http_proxy_service
from pingora_proxy._session import RETRY_BUFFER_SIZE, Session
from pingora_proxy._trait import FailToProxy, ProxyHttp, error_status

__all__ = [
    "ALLOW_CONNECT_KEY",
    "DEFAULT_SERVICE_NAME",
    "HOP_BY_HOP",
    "RETRY_BUFFER_SIZE",
    "DownstreamSession",
    "FailToProxy",
    "HttpProxy",
    "ProxyHttp",
    "Session",
    "error_status",
    "http_proxy",
    "http_proxy_service",
    "strip_hop_by_hop",
]
