"""The meta-package re-exports each package as a submodule, name for name and object for object."""

from __future__ import annotations

import importlib

import pytest

import pingora

SUBMODULES = {
    "core": "pingora_core",
    "http": "pingora_http",
    "ketama": "pingora_ketama",
    "lb": "pingora_load_balancing",
    "limits": "pingora_limits",
    "memory_cache": "pingora_memory_cache",
    "proxy": "pingora_proxy",
    "timeout": "pingora_timeout",
}


def test_meta_package_public_names() -> None:
    assert set(pingora.__all__) == {"__version__", "prelude", *SUBMODULES}


@pytest.mark.parametrize(("submodule", "package"), sorted(SUBMODULES.items()))
def test_submodule_reexports_the_package(submodule: str, package: str) -> None:
    source = importlib.import_module(package)
    alias = importlib.import_module(f"pingora.{submodule}")
    assert getattr(pingora, submodule) is alias
    assert list(alias.__all__) == list(source.__all__)
    for name in source.__all__:
        assert getattr(alias, name) is getattr(source, name), name


def test_all_packages_share_the_version() -> None:
    for package in SUBMODULES.values():
        module = importlib.import_module(package)
        assert getattr(module, "__version__", pingora.__version__) == pingora.__version__


PRELUDE = {
    "Backend", "Consistent", "Error", "ErrorSource", "ErrorType", "FNVHash", "FailToProxy",
    "HttpHealthCheck", "HttpPeer", "LeastConnections", "LoadBalancer", "Opt", "PeerOptions",
    "ProxyHttp", "Random", "RequestHeader", "ResponseHeader", "RoundRobin", "Server",
    "ServerConf", "Session", "TcpHealthCheck", "background_service", "http_proxy_service",
}


def test_prelude_has_what_the_quick_start_needs() -> None:
    from pingora import prelude

    assert set(prelude.__all__) == PRELUDE
    for name in PRELUDE:
        assert getattr(prelude, name) is not None
