"""`pingora.memory_cache`: the public names of the pingora-memory-cache package."""

from pingora_memory_cache import *  # noqa: F403
from pingora_memory_cache import __all__ as __all__
