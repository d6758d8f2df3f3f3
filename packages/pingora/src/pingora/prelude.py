"""`from pingora.prelude import *`: what a proxy or load balancer program needs, in one import."""

from pingora_core import (
    Error,
    ErrorSource,
    ErrorType,
    HttpPeer,
    Opt,
    PeerOptions,
    Server,
    ServerConf,
    background_service,
)
from pingora_http import RequestHeader, ResponseHeader
from pingora_load_balancing import (
    Backend,
    Consistent,
    FNVHash,
    HttpHealthCheck,
    LeastConnections,
    LoadBalancer,
    Random,
    RoundRobin,
    TcpHealthCheck,
)
from pingora_proxy import FailToProxy, ProxyHttp, Session, http_proxy_service

__all__ = [
    "Backend",
    "Consistent",
    "Error",
    "ErrorSource",
    "ErrorType",
    "FNVHash",
    "FailToProxy",
    "HttpHealthCheck",
    "HttpPeer",
    "LeastConnections",
    "LoadBalancer",
    "Opt",
    "PeerOptions",
    "ProxyHttp",
    "Random",
    "RequestHeader",
    "ResponseHeader",
    "RoundRobin",
    "Server",
    "ServerConf",
    "Session",
    "TcpHealthCheck",
    "background_service",
    "http_proxy_service",
]
