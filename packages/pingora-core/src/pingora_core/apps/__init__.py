"""Applications that run inside a listening service: the raw L4 `ServerApp` interface."""

from pingora_core.apps.base import ServerApp

__all__ = ["ServerApp"]
