"""The public names of pingora_memory_cache are exactly these."""

from __future__ import annotations

import pingora_memory_cache


def test_public_names() -> None:
    assert set(pingora_memory_cache.__all__) == {
        "KV",
        "CacheLookupError",
        "CacheStatus",
        "Lookup",
        "MemoryCache",
        "MultiLookup",
        "RTCache",
        "TinyUfo",
    }
    for name in pingora_memory_cache.__all__:
        assert getattr(pingora_memory_cache, name).__module__.startswith("pingora_memory_cache")
