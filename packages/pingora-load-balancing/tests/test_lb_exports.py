"""The public names of pingora_load_balancing are locked: changing them is an API change."""

from __future__ import annotations

import pingora_load_balancing


def test_public_names_are_locked() -> None:
    assert set(pingora_load_balancing.__all__) == {
        "DEFAULT_MAX_ITERATIONS",
        "DNS_ERROR",
        "MAX_WEIGHT",
        "Accept",
        "Backend",
        "BackendSelection",
        "Backends",
        "Consistent",
        "Discovered",
        "DnsDiscovery",
        "FNVHash",
        "HealthChangedCallback",
        "HealthCheck",
        "HealthStatus",
        "HttpHealthCheck",
        "LeastConnections",
        "LoadBalancer",
        "Random",
        "ResponseValidator",
        "RoundRobin",
        "SelectionLease",
        "ServiceDiscovery",
        "Static",
        "TcpHealthCheck",
        "UniqueIterator",
        "UpdateCallback",
        "Weighted",
    }
    assert len(pingora_load_balancing.__all__) == len(set(pingora_load_balancing.__all__))


def test_every_public_class_exists_and_is_documented() -> None:
    for name in pingora_load_balancing.__all__:
        obj = getattr(pingora_load_balancing, name)
        if isinstance(obj, type):
            assert obj.__doc__, name
