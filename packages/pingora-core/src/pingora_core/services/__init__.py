"""Services a server runs: listening services, background services, and their dependencies."""

from pingora_core.services._background import (
    BackgroundService,
    GenBackgroundService,
    background_service,
)
from pingora_core.services._base import (
    ListenerFactory,
    ReadyNotifier,
    ServiceBase,
    ServiceContext,
)
from pingora_core.services._dependencies import DEPENDENCY_ERROR, ServiceHandle
from pingora_core.services._listening import Service

__all__ = [
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
]
