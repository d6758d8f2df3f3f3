"""The public names of pingora_core, pingora_core.apps and pingora_core.testing are locked."""

from __future__ import annotations

import importlib

import pytest

import pingora_core

CORE_API = {
    "BackgroundService", "ConfigError", "ConnectionFilter", "Connector", "ConnectorStats",
    "Error", "ErrorSource", "ErrorType", "ExecutionPhase", "HttpModule", "HttpModuleBuilder",
    "HttpModules", "HttpPeer", "HttpServer", "HttpServerApp", "L4Connector", "Opt",
    "PeerOptions", "Phase", "RetryType", "ServeHttp", "Server", "ServerApp", "ServerConf",
    "Service", "ShutdownWatch", "Stream", "StreamDigest", "TcpKeepalive", "TcpListener",
    "TcpSocketOptions", "UdsListener", "background_service", "connect_tcp", "connect_uds",
    "err_context", "explain_err", "map_exception", "map_exceptions", "ok_or_err", "or_err",
    "or_err_with", "or_fail",
}

SUBPACKAGE_API = {
    "pingora_core.apps": {
        "DEFAULT_KEEPALIVE_TIMEOUT", "HttpServer", "HttpServerApp", "ServeHttp", "ServerApp",
    },
    "pingora_core.testing": {
        "DEFAULT_BODY", "LISTENING", "MemoryStream", "MockOrigin", "RawHttpClient", "RawResponse",
        "SeenRequest", "ServerProcess", "anyio_loop_backends", "download_body", "loop_backend_id",
        "memory_stream_pair", "read_chunked_body",
        "read_response", "read_response_body", "read_response_head", "request_bytes",
        "serving", "start_program", "tcp_stream_pair",
    },
}


def test_core_all_is_locked() -> None:
    assert set(pingora_core.__all__) == CORE_API
    assert len(pingora_core.__all__) == len(CORE_API)


def test_core_names_resolve() -> None:
    for name in pingora_core.__all__:
        assert getattr(pingora_core, name) is not None, name


@pytest.mark.parametrize("module_name", sorted(SUBPACKAGE_API))
def test_subpackage_all_is_locked(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert set(module.__all__) == SUBPACKAGE_API[module_name]
    for name in module.__all__:
        assert hasattr(module, name), name
