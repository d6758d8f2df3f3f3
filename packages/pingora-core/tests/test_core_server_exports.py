"""The public names of pingora_core.server, .services and .apps are locked here."""

from __future__ import annotations

import pingora_core.apps
import pingora_core.server
import pingora_core.services


def test_server_exports() -> None:
    assert set(pingora_core.server.__all__) == {
        "CONFIG_ERROR",
        "EVENT_LOOPS",
        "ConfigError",
        "ExecutionPhase",
        "Opt",
        "PhaseIterator",
        "Server",
        "ServerConf",
        "ShutdownSignal",
        "ShutdownTrigger",
        "ShutdownWatch",
    }


def test_services_exports() -> None:
    assert set(pingora_core.services.__all__) == {
        "DEPENDENCY_ERROR",
        "BackgroundService",
        "GenBackgroundService",
        "ListenerFactory",
        "ReadyNotifier",
        "Service",
        "ServiceBase",
        "ServiceContext",
        "ServiceHandle",
        "background_service",
    }


def test_apps_exports_include_server_app() -> None:
    assert "ServerApp" in pingora_core.apps.__all__


def test_every_exported_name_exists() -> None:
    for module in (pingora_core.server, pingora_core.services, pingora_core.apps):
        for name in module.__all__:
            assert getattr(module, name) is not None, f"{module.__name__}.{name}"
