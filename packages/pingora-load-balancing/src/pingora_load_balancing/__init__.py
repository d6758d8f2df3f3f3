"""pingora-load-balancing: backends, service discovery, health checks and selection algorithms.

`LoadBalancer` ties them together: it finds backends with a `ServiceDiscovery` (`Static`,
`DnsDiscovery`), watches them with a `HealthCheck` (`TcpHealthCheck`, `HttpHealthCheck`) and
picks one per request with a `BackendSelection` (`RoundRobin`, `Random`, `FNVHash`,
`Consistent`, `LeastConnections`), all matching Pingora's behaviour where it is deterministic.
It runs as a pingora_core background service.
"""

from pingora_load_balancing._backend import MAX_WEIGHT, Backend
from pingora_load_balancing._backends import Backends, UpdateCallback
from pingora_load_balancing._checks import HttpHealthCheck, ResponseValidator, TcpHealthCheck
from pingora_load_balancing._discovery import Discovered, ServiceDiscovery, Static
from pingora_load_balancing._dns import DNS_ERROR, DnsDiscovery
from pingora_load_balancing._health import HealthChangedCallback, HealthCheck, HealthStatus
from pingora_load_balancing._load_balancer import DEFAULT_MAX_ITERATIONS, Accept, LoadBalancer
from pingora_load_balancing._selection._base import (
    BackendSelection,
    SelectionLease,
    UniqueIterator,
)
from pingora_load_balancing._selection._consistent import Consistent
from pingora_load_balancing._selection._least import LeastConnections
from pingora_load_balancing._selection._weighted import FNVHash, Random, RoundRobin, Weighted

__all__ = [
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
]
