"""pingora_core: the engine of pingora.

The error model, the server and its configuration, listening and background services, listeners,
L4 streams, HTTP/1 sessions on both sides, upstream peers, the connector and its connection pool,
HTTP apps and modules. The most used names are re-exported here; every subpackage
(`pingora_core.server`, `.services`, `.listeners`, `.protocols`, `.upstreams`, `.connectors`,
`.pool`, `.apps`, `.modules`, `.testing`) has its own `__all__`.
"""

from pingora_core.apps import HttpServer, HttpServerApp, ServeHttp, ServerApp
from pingora_core.connectors import Connector, ConnectorStats
from pingora_core.errors import (
    Error,
    ErrorSource,
    ErrorType,
    Phase,
    RetryType,
    err_context,
    explain_err,
    map_exception,
    map_exceptions,
    ok_or_err,
    or_err,
    or_err_with,
    or_fail,
)
from pingora_core.listeners import (
    ConnectionFilter,
    TcpKeepalive,
    TcpListener,
    TcpSocketOptions,
    UdsListener,
)
from pingora_core.modules import HttpModule, HttpModuleBuilder, HttpModules
from pingora_core.protocols import Stream, StreamDigest
from pingora_core.protocols.l4 import L4Connector, connect_tcp, connect_uds
from pingora_core.server import (
    ConfigError,
    ExecutionPhase,
    Opt,
    Server,
    ServerConf,
    ShutdownWatch,
)
from pingora_core.services import BackgroundService, Service, background_service
from pingora_core.upstreams import HttpPeer, PeerOptions

__all__ = [
    "BackgroundService",
    "ConfigError",
    "ConnectionFilter",
    "Connector",
    "ConnectorStats",
    "Error",
    "ErrorSource",
    "ErrorType",
    "ExecutionPhase",
    "HttpModule",
    "HttpModuleBuilder",
    "HttpModules",
    "HttpPeer",
    "HttpServer",
    "HttpServerApp",
    "L4Connector",
    "Opt",
    "PeerOptions",
    "Phase",
    "RetryType",
    "ServeHttp",
    "Server",
    "ServerApp",
    "ServerConf",
    "Service",
    "ShutdownWatch",
    "Stream",
    "StreamDigest",
    "TcpKeepalive",
    "TcpListener",
    "TcpSocketOptions",
    "UdsListener",
    "background_service",
    "connect_tcp",
    "connect_uds",
    "err_context",
    "explain_err",
    "map_exception",
    "map_exceptions",
    "ok_or_err",
    "or_err",
    "or_err_with",
    "or_fail",
]
