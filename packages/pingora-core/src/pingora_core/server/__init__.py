"""The server: configuration (YAML + command line), execution phases, signals and shutdown."""

from pingora_core.server._conf import EVENT_LOOPS, ServerConf
from pingora_core.server._config_error import CONFIG_ERROR, ConfigError
from pingora_core.server._opt import Opt
from pingora_core.server._phases import ExecutionPhase, PhaseIterator
from pingora_core.server._server import Server
from pingora_core.server._signals import ShutdownSignal
from pingora_core.server.shutdown import ShutdownTrigger, ShutdownWatch

__all__ = [
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
]
