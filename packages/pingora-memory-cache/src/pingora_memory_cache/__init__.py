"""pingora-memory-cache: TinyUFO in-memory cache, a TTL cache on top of it, and an async
read-through cache with lookup coalescing."""

from ._memory import MemoryCache
from ._read_through import CacheLookupError, Lookup, MultiLookup, RTCache
from ._status import CacheStatus
from ._tinyufo import KV, TinyUfo

__all__ = [
    "KV",
    "CacheLookupError",
    "CacheStatus",
    "Lookup",
    "MemoryCache",
    "MultiLookup",
    "RTCache",
    "TinyUfo",
]
