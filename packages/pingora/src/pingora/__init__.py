"""pingora: every pingora package in one install.

Each package is re-exported as a submodule with exactly its public names:
`pingora.core`, `pingora.http`, `pingora.ketama`, `pingora.lb` (pingora-load-balancing),
`pingora.limits`, `pingora.memory_cache`, `pingora.proxy` and `pingora.timeout`; and
`pingora.prelude` gathers what a proxy program needs in one import. The packages can also be
installed and imported on their own (`pingora_ketama`, ...).
"""

from __future__ import annotations

from importlib.metadata import version

from pingora import core, http, ketama, lb, limits, memory_cache, prelude, proxy, timeout

__version__ = version("pingora")

__all__ = [
    "__version__",
    "core",
    "http",
    "ketama",
    "lb",
    "limits",
    "memory_cache",
    "prelude",
    "proxy",
    "timeout",
]
